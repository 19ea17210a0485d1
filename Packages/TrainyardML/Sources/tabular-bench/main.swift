import TrainyardTabular
print("tabular-bench: not written yet")
