import Foundation
import Testing
import TrainyardCore
@testable import TrainyardRuntime

/// The execution shell apart from any job kind: how an attempt's end is classified (pure), and
/// what happens to a job whose kind has no handler.
@Suite("Job execution shell")
struct ExecutionShellTests {
    typealias Ending = AttemptEnding<Int>

    static func classify(_ result: Result<Int?, any Error>, timedOut: Bool = false, stop: Bool = false,
                         leaseLost: Bool = false, shuttingDown: Bool = false) -> String {
        "\(Ending.classify(result, timedOut: timedOut, stopRequested: stop, leaseLost: leaseLost, shuttingDown: shuttingDown))"
    }

    @Test func workThatReturnsSucceedsUnlessTimedOutOrStopped() {
        #expect(Self.classify(.success(7)) == "succeeded(7)")
        #expect(Self.classify(.success(nil)) == "timedOut", "nil output: the timeout fired first")
        #expect(Self.classify(.success(7), timedOut: true) == "timedOut")
        #expect(Self.classify(.success(7), stop: true) == "cancelled")
        #expect(Self.classify(.success(7), stop: true, shuttingDown: true) == "shutdown")
        #expect(Self.classify(.success(7), stop: true, leaseLost: true, shuttingDown: true) == "leaseLost")
    }

    @Test func errorsCarryTheirRetryability() {
        #expect(Self.classify(.failure(TrainingFailure("bad rows", retryable: false))) == #"failed("bad rows", retryable: false)"#)
        #expect(Self.classify(.failure(TrainyardError(.invalidSpec, "no such column"))) == #"failed("no such column", retryable: false)"#)
        #expect(Self.classify(.failure(TrainyardError(.unavailable, "store down"))) == #"failed("store down", retryable: true)"#)
        #expect(Self.classify(.failure(POSIXError(.ENOSPC))) == #"failed("No space left on device", retryable: true)"#)
    }

    @Test func errorsAfterAStopOrTimeoutAreTheStopOrTimeout() {
        #expect(Self.classify(.failure(CancellationError())) == "cancelled")
        #expect(Self.classify(.failure(TrainingFailure("killed")), stop: true, shuttingDown: true) == "shutdown")
        #expect(Self.classify(.failure(TrainingFailure("killed")), timedOut: true) == "timedOut")
        #expect(Self.classify(.failure(CancellationError()), leaseLost: true) == "leaseLost")
    }

    /// A lost lease ends the attempt whatever the work made of it, unless the timeout came first.
    @Test func aLostLeaseWinsOverWhatTheWorkReturned() {
        #expect(Self.classify(.success(7), leaseLost: true) == "leaseLost")
        #expect(Self.classify(.failure(TrainingFailure("bad rows", retryable: false)), leaseLost: true) == "leaseLost")
        #expect(Self.classify(.success(7), timedOut: true, leaseLost: true) == "timedOut")
    }

    /// A kind this build has no handler for fails at once, saying so, without retries.
    @Test func jobKindWithoutAHandlerFailsWithItsReason() async throws {
        let h = try await Harness(inMemory: true)
        let parsed = try SpecParser().parse(h.spec(extra: "retries: 3"))
        let job = try await h.store.enqueue(EnqueueRequest(kind: .transform, spec: parsed.spec))
        let lease = try #require(try await h.store.dequeue(workerID: "w", kinds: [.transform], leaseDuration: .seconds(600)))
        await JobRunner(services: h.services, workerID: "w", handlers: [.train: TrainJobHandler()]).run(lease)
        let failed = try #require(try await h.store.job(job.id))
        #expect(failed.state == .failed)
        #expect(failed.failureReason == "job kind transform has no handler in this build")
    }
}
