import Dispatch
import Foundation
import Testing
import TrainyardCore

/// Where blocking work runs: long work on a thread of its own, so it neither waits for nor
/// holds Dispatch's global pool (which NIO's host-name resolution and `runBlocking` share).
@Suite("Blocking work")
struct BlockingWorkTests {
    /// Two long works that wait for each other both finish: each has a thread of its own, so
    /// neither waits for a free thread in a pool the other holds. (Holding Dispatch's whole pool
    /// in-process would also stall the test runner, whose executor shares it on Linux.)
    @Test func longWorksRunSideBySideOnThreadsOfTheirOwn() async throws {
        let first = DispatchSemaphore(value: 0), second = DispatchSemaphore(value: 0)
        async let a = runOnOwnThread(named: "blocking-work-a") { () -> String in
            first.signal()
            return second.wait(timeout: .now() + 300) == .success ? "a" : "timed out"
        }
        async let b = runOnOwnThread(named: "blocking-work-b") { () -> String in
            second.signal()
            return first.wait(timeout: .now() + 300) == .success ? "b" : "timed out"
        }
        let results = try await [a, b]
        #expect(results == ["a", "b"])
    }

    @Test func errorsAndValuesComeBack() async throws {
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await runOnOwnThread(named: "refusing") { () throws -> Int in throw Refused() } }
        #expect(try await runOnOwnThread(named: "adding") { (1...100).reduce(0, +) } == 5050)
    }
}
