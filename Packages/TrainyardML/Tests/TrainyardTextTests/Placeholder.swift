import Testing
@testable import TrainyardText
