import ArgumentParser
import TrainyardServer
print("hi")
