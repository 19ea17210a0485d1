import Foundation
import Testing
@testable import TrainyardPostgres

/// The watch that bounds the PostgreSQL store's pooled operations, without a server: what
/// finishes is returned, what never answers is given up after its limit, a cancelled caller
/// is freed at once.
struct OperationWatchTests {
    @Test func aFinishedOperationReturnsItsValueOrError() async throws {
        let watch = OperationWatch(interval: .milliseconds(20))
        #expect(try await watch.run(.seconds(60)) { _ in 42 } == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await watch.run(.seconds(60)) { _ -> Int in throw Refused() } }
    }

    @Test func anOperationThatNeverAnswersIsGivenUpAfterItsLimit() async throws {
        let watch = OperationWatch(interval: .milliseconds(20))
        let started = ContinuousClock.now
        do {
            _ = try await watch.run(.milliseconds(200)) { _ -> Int in
                // Ignores cancellation, as a query postgres-nio lost does.
                try? await Task.sleep(for: .seconds(3600))
                try await Task.sleep(for: .seconds(3600))
                return 0
            }
            Issue.record("the operation was not given up")
        } catch let error as Deadline.Exceeded {
            #expect(error.limit == .milliseconds(200))
        }
        #expect(ContinuousClock.now - started >= .milliseconds(200))
    }

    @Test func aCancelledCallerIsFreedAtOnce() async throws {
        let watch = OperationWatch(interval: .milliseconds(20))
        let caller = Task { try await watch.run(.seconds(3600)) { _ -> Int in try? await Task.sleep(for: .seconds(3600)); return 0 } }
        caller.cancel()
        await #expect(throws: CancellationError.self) { _ = try await caller.value }
    }

    @Test func manyOperationsAtOnceEachGetTheirOwnOutcome() async throws {
        let watch = OperationWatch(interval: .milliseconds(20))
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<200 { group.addTask { try await watch.run(.seconds(60)) { _ in i } } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(values.sorted() == Array(0..<200))
    }
}
