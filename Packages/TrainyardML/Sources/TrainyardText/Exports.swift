@_exported import TrainyardML
