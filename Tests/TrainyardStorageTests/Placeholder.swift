import Testing
@testable import TrainyardStorage
