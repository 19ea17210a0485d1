import Foundation
import Logging
import Synchronization
import TrainyardCore

/// Whether the metadata store answers, as one worker pool sees it, so that an outage is logged
/// once (when it begins and when it ends) however many workers and heartbeats run into it, and
/// so that workers stop taking jobs and wait with backoff until the store answers again.
///
/// An outage begins with the first failed store call (`recordFailure`) and ends with the first
/// call that succeeds (`recordSuccess`). Only the pool's own calls count: a job's own failure
/// (its data, its trainer) is never reported here.
public final class StoreHealth: Sendable {
    private struct State {
        var downSince: ContinuousClock.Instant?
        var failures = 0
    }
    private let state = Mutex(State())
    let logger: Logger
    let metrics: WorkerMetrics?

    public init(logger: Logger, metrics: WorkerMetrics? = nil) {
        self.logger = logger
        self.metrics = metrics
    }

    /// True between an outage's first failure and the next success.
    public var isDown: Bool { state.withLock { $0.downSince != nil } }

    /// A store call failed during `operation` (dequeue, heartbeat, …). Logs only when this
    /// failure begins an outage; returns whether it did.
    @discardableResult
    public func recordFailure(_ error: any Error, during operation: String) -> Bool {
        let began = state.withLock { s -> Bool in
            s.failures += 1
            guard s.downSince == nil else { return false }
            s.downSince = .now
            return true
        }
        if began {
            metrics?.recordStoreOutage()
            logger.error("the metadata store is unreachable (\(operation): \(describe(error))); workers take no new job and retry with backoff until it answers; running jobs keep running while their leases last")
        }
        return began
    }

    /// A store call succeeded. Ends an outage (logged once, with its length and the failed calls).
    public func recordSuccess() {
        let ended = state.withLock { s -> (Duration, Int)? in
            guard let since = s.downSince else { return nil }
            let result = (ContinuousClock.now - since, s.failures)
            s.downSince = nil
            s.failures = 0
            return result
        }
        if let (length, failures) = ended {
            logger.notice("the metadata store answers again after \(DurationText.format(length)) (\(failures) failed call(s)); workers take jobs again")
        }
    }
}

/// Waiting for an unreachable store: exponential backoff with jitter between `ping`s.
struct StoreRetryBackoff: Sendable {
    var initial: Duration = .milliseconds(200)
    var maximum: Duration = .seconds(15)
    private(set) var next: Duration

    init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(15)) {
        self.initial = initial
        self.maximum = maximum
        next = initial
    }

    /// The next wait: the current delay with ±20 % jitter (workers of many processes do not
    /// retry in step), then doubled up to `maximum`.
    mutating func nextDelay() -> Duration {
        let base = next
        next = min(next * 2, maximum)
        return base * Double.random(in: 0.8...1.2)
    }

    mutating func reset() { next = initial }
}
