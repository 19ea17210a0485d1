import Testing
@testable import TrainyardCore
