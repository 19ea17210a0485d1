import Testing
@testable import TrainyardRuntime
