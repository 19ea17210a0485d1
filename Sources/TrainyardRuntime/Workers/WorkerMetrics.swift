import Foundation
import Synchronization
import TrainyardCore

/// What this process's workers did, for `/metrics`: attempts started and how each ended, per
/// job kind, and metadata-store outages. Per process by nature (a counter of what these
/// workers did); what the whole deployment holds (queue depth, reclaimed leases) is read from
/// the store instead (`MetadataStore.queueCounts`).
public final class WorkerMetrics: Sendable {
    /// How an attempt ended, as these workers saw it.
    public enum Outcome: String, Sendable, CaseIterable {
        case succeeded
        /// Recorded as failed (retried later or failed for good: the store's decision).
        case failed
        case timedOut = "timed_out"
        case cancelled
        /// Given back to the queue without counting the attempt (shutdown, or a store outage).
        case released
        /// The lease was taken over (or expired): the attempt was abandoned, nothing recorded.
        case leaseLost = "lease_lost"
        /// The store stayed unreachable until the lease ran out: nothing could be recorded; the
        /// job returns to the queue when the lease expires.
        case unrecorded
    }

    public struct Snapshot: Sendable, Equatable {
        public var started: [JobKind: UInt64] = [:]
        public var finished: [JobKind: [Outcome: UInt64]] = [:]
        public var storeOutages: UInt64 = 0

        public init() {}

        /// Attempts of `kind` started and not yet ended.
        public func running(_ kind: JobKind) -> UInt64 {
            let ended = finished[kind, default: [:]].values.reduce(0, +)
            return started[kind, default: 0] &- min(ended, started[kind, default: 0])
        }

        /// Attempts of `kind` that ended failed or timed out.
        public func failed(_ kind: JobKind) -> UInt64 {
            finished[kind, default: [:]][.failed, default: 0] + finished[kind, default: [:]][.timedOut, default: 0]
        }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func recordStarted(_ kind: JobKind) { state.withLock { $0.started[kind, default: 0] += 1 } }

    func recordFinished(_ kind: JobKind, _ outcome: Outcome) { state.withLock { $0.finished[kind, default: [:]][outcome, default: 0] += 1 } }

    func recordStoreOutage() { state.withLock { $0.storeOutages += 1 } }
}
