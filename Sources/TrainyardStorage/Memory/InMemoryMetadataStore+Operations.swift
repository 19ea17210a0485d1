import Foundation
import TrainyardCore

extension InMemoryMetadataStore {
    public func queueCounts() async throws -> QueueCounts {
        var counts: [JobCount: Int] = [:]
        for row in jobRows { counts[JobCount(kind: row.job.kind, state: row.job.state, count: 0), default: 0] += 1 }
        return QueueCounts(jobs: counts.map { JobCount(kind: $0.key.kind, state: $0.key.state, count: $0.value) },
                           leaseExpiries: leaseExpiryCounts)
    }

    /// An actor in this process is always reachable.
    public func ping() async throws {}
}
