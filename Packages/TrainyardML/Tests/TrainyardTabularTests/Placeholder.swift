import Testing
@testable import TrainyardTabular
