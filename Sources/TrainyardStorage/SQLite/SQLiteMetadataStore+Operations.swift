import Foundation
import GRDB
import TrainyardCore

extension SQLiteMetadataStore {
    public func queueCounts() async throws -> QueueCounts {
        try await pool.read { [t] db in
            // `GROUP BY state, kind` walks the (state, kind, …) queue index without reading rows.
            var jobs: [JobCount] = []
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT kind, state, COUNT(*) FROM \(t.jobs) GROUP BY state, kind")) {
                // A kind or state this build does not know (a newer binary wrote it) is not counted.
                guard let kind = JobKind(rawValue: row[0]), let state = JobState(rawValue: row[1]) else { continue }
                jobs.append(JobCount(kind: kind, state: state, count: row[2]))
            }
            var leaseExpiries: [JobKind: Int] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT kind, count FROM \(t.leaseExpiries)")) {
                guard let kind = JobKind(rawValue: row[0]) else { continue }
                leaseExpiries[kind] = row[1]
            }
            return QueueCounts(jobs: jobs, leaseExpiries: leaseExpiries)
        }
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }
}
