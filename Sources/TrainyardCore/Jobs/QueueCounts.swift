import Foundation

/// How many jobs of one kind are in one state (a row of `QueueCounts`).
public struct JobCount: Sendable, Hashable, Codable {
    public var kind: JobKind
    public var state: JobState
    public var count: Int

    public init(kind: JobKind, state: JobState, count: Int) {
        self.kind = kind
        self.state = state
        self.count = count
    }
}

/// What `MetadataStore.queueCounts()` reads in one cheap pass: the number of jobs per kind and
/// state (queue depth for an autoscaler; terminal states only grow, since jobs are never
/// deleted) and how many leases of each kind expired and were reclaimed since the store was
/// created (a worker that died or stalled).
///
/// Both describe the whole store, so every server sharing it reports the same values; they
/// are not per process.
public struct QueueCounts: Sendable, Equatable {
    /// One entry per (kind, state) that has at least one job; absent pairs are zero.
    public var jobs: [JobCount]
    /// Reclaimed leases per kind; kinds that never had one are absent.
    public var leaseExpiries: [JobKind: Int]

    public init(jobs: [JobCount], leaseExpiries: [JobKind: Int]) {
        self.jobs = jobs
        self.leaseExpiries = leaseExpiries
    }

    /// The number of jobs of `kind` in `state` (zero when absent).
    public func count(_ kind: JobKind, _ state: JobState) -> Int {
        jobs.first { $0.kind == kind && $0.state == state }?.count ?? 0
    }
}
