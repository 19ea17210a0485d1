import TrainyardText
print("text-bench: not written yet")
