import Testing
import TrainyardCore
@testable import TrainyardServing

/// Text models read strings or `{"text": …}` rows (the checks `NativeModel.predict` used to
/// make, now tested where serving makes them).
@Suite struct TextInputTests {
    @Test func stringsAndTextObjectsAreRead() throws {
        #expect(try InputSchema.texts([.string("great"), .object(["text": .string("awful")])]) == ["great", "awful"])
    }

    @Test func anythingElseIsABadInputNamingTheRow() {
        let error = #expect(throws: TrainyardError.self) { try InputSchema.texts([.string("fine"), .int(3)]) }
        #expect(error?.details.contains { $0.path == "inputs[1]" } == true, "\(String(describing: error?.details))")
    }
}
