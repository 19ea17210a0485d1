import Foundation
import PostgresNIO
import TrainyardCore

extension PostgresMetadataStore {
    /// Jobs per kind and state (a grouped count over the (state, kind, id) index) and the
    /// lease expiries `dequeue` counted, in one round trip.
    public func queueCounts() async throws -> QueueCounts {
        let s = schema
        return try await reading("counting jobs") { [self] in
            var jobs: [JobCount] = []
            var leaseExpiries: [JobKind: Int] = [:]
            for row in try await rows("""
                SELECT 'jobs', kind, state, count(*) FROM \(unescaped: s.jobs) GROUP BY state, kind
                UNION ALL
                SELECT 'expiries', kind, NULL, count FROM \(unescaped: s.leaseExpiries)
                """) {
                let (what, kindName, stateName, count) = try row.decode((String, String, String?, Int).self)
                // A kind or state this build does not know (a newer binary wrote it) is not counted.
                guard let kind = JobKind(rawValue: kindName) else { continue }
                if what == "expiries" {
                    leaseExpiries[kind] = count
                } else if let state = stateName.flatMap(JobState.init(rawValue:)) {
                    jobs.append(JobCount(kind: kind, state: state, count: count))
                }
            }
            return QueueCounts(jobs: jobs, leaseExpiries: leaseExpiries)
        }
    }

    /// One trivial round trip, answered within `pingTimeout` or reported unavailable: the pool
    /// waits up to a minute for a connection to a server that does not answer, and a readiness
    /// probe cannot.
    public func ping() async throws {
        do {
            _ = try await Deadline.run(Self.pingTimeout) { [self] in try await rows("SELECT 1") }
        } catch {
            throw PostgresFailure.report(error, store: settings.redacted, doing: "checking it answers")
        }
    }

    static var pingTimeout: Duration { .seconds(5) }
}
