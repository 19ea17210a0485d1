import Testing
@testable import TrainyardServer
