import Foundation
import Logging
import Synchronization
import TrainyardCore

/// What one attempt of a leased job shares between the execution shell (heartbeat, timeout,
/// cancellation, recording the end) and the job kind's handler: the lease, the buffered log and
/// progress, the flags the heartbeat raises, and the lock that keeps log writes in order.
struct AttemptContext: Sendable {
    let lease: Lease
    let services: TrainyardServices
    let workerID: String
    /// This attempt's private working folder (created by whoever first needs it, removed at the end).
    let work: URL
    let recorder: JobProgressRecorder
    let flags: AttemptFlags
    let logLock: AsyncLock
    let logger: Logger
    /// The worker's next job, leased by this attempt's completion when the store can
    /// (`MetadataStore.complete(_:registration:finalLog:leasingNext:)`); nil: nothing is asked.
    var next: NextLeaseSlot? = nil

    var token: LeaseToken { lease.token }
    var job: Job { lease.job }

    /// Throws `leaseLost` once the heartbeat has found the lease taken: nothing more may be written.
    func checkLease() throws {
        guard !flags.leaseLost else {
            throw TrainyardError(.leaseLost, "job \(token.jobID): attempt \(token.attempt) lost its lease during registration")
        }
    }

    /// The fenced `complete`, with the last log lines, after which no heartbeat runs.
    func complete(registration: VersionRegistration?) async throws -> CompletionOutcome {
        try await logLock.withLock {
            let lines = recorder.drain().lines
            guard let next, next.wanted() else {
                let outcome = try await services.store.complete(token, registration: registration, finalLog: lines)
                flags.setEnded()
                return outcome
            }
            let (outcome, lease) = try await services.store.complete(token, registration: registration, finalLog: lines, leasingNext: next.request)
            next.granted(lease)
            flags.setEnded()
            return outcome
        }
    }

    /// Writes the last log lines and then the attempt's end (`transition`), with no heartbeat
    /// in between or after.
    func recordEnd(line: String, _ transition: @Sendable () async throws -> Job) async throws -> Job {
        try await logLock.withLock {
            recorder.log(line)
            try? await services.store.appendLog(token.jobID, lines: recorder.drain().lines)
            let job = try await transition()
            flags.setEnded()
            return job
        }
    }

    /// A line in the job's own log written at once, whoever holds the job now (appendLog is not
    /// fenced), in a task of its own so that the attempt's cancellation cannot drop it.
    func tellJobLog(_ line: String) async {
        let store = services.store, jobID = token.jobID
        await Task { try? await store.appendLog(jobID, lines: [line]) }.value
    }
}

/// Raised by the heartbeat, the timeout and the attempt's end; read by everyone else.
final class AttemptFlags: Sendable {
    private struct State {
        var leaseLost = false
        var cancelRequested = false
        var timedOut = false
        var workEnded = false
        var ended = false
    }
    private let state = Mutex(State())
    var leaseLost: Bool { state.withLock { $0.leaseLost } }
    var cancelRequested: Bool { state.withLock { $0.cancelRequested } }
    var timedOut: Bool { state.withLock { $0.timedOut } }
    /// The handler's work returned or threw (its commit or recorded end may still be running).
    var workEnded: Bool { state.withLock { $0.workEnded } }
    /// The attempt's end (success, failure, cancellation, release) is recorded: the lease is
    /// gone, so the heartbeat must not extend it (nor report it lost).
    var ended: Bool { state.withLock { $0.ended } }
    func setTimedOut() { state.withLock { $0.timedOut = true } }
    func setWorkEnded() { state.withLock { $0.workEnded = true } }
    func setLeaseLost() { state.withLock { $0.leaseLost = true } }
    func setCancelRequested() { state.withLock { $0.cancelRequested = true } }
    func setEnded() { state.withLock { $0.ended = true } }
}

/// Where a worker asks an attempt's completion for its next job, and finds what it was given.
final class NextLeaseSlot: Sendable {
    let request: NextLeaseRequest
    /// Whether the worker still wants a next job when the attempt completes (not once it stops).
    let wanted: @Sendable () -> Bool
    private let lease = Mutex<Lease?>(nil)

    init(_ request: NextLeaseRequest, wanted: @escaping @Sendable () -> Bool) {
        self.request = request
        self.wanted = wanted
    }

    func granted(_ lease: Lease?) {
        self.lease.withLock { $0 = lease }
    }

    /// The lease granted, once.
    func take() -> Lease? {
        lease.withLock { held in
            defer { held = nil }
            return held
        }
    }
}
