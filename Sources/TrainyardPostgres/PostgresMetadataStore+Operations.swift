import Foundation
import PostgresNIO
import Synchronization
import TrainyardCore

extension PostgresMetadataStore {
    /// Jobs per kind and state (a grouped count over the (state, kind, id) index) and the
    /// lease expiries `dequeue` counted, in one round trip.
    public func queueCounts() async throws -> QueueCounts {
        let s = schema
        return try await reading("counting jobs") {
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
    /// waits up to a minute for a connection to a server that does not answer, a query on a
    /// connection whose peer vanished waits longer, and a readiness probe can do neither. The
    /// query is left to finish (or fail) on its own past the deadline.
    public func ping() async throws {
        let store = settings.redacted
        let first = FirstOutcome()
        let query = Task { [self] in
            do {
                _ = try await rows("SELECT 1")
                first.finish(.success(()))
            } catch {
                first.finish(.failure(PostgresFailure.report(error, store: store, doing: "checking it answers")))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: Self.pingTimeout)
            first.finish(.failure(TrainyardError(.unavailable, "the metadata store \(store) did not answer within \(Self.pingTimeout)")))
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await first.wait()
        } onCancel: {
            query.cancel()
            first.finish(.failure(CancellationError()))
        }
    }

    static var pingTimeout: Duration { .seconds(5) }
}

/// The first of several racing outcomes, for one waiter; later ones are dropped.
private final class FirstOutcome: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Void, any Error>?
        var result: Result<Void, any Error>?
        var delivered = false
    }
    private let state = Mutex(State())

    func finish(_ result: Result<Void, any Error>) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            guard !s.delivered, s.result == nil else { return nil }
            guard let waiter = s.waiter else { s.result = result; return nil }
            s.waiter = nil
            s.delivered = true
            return waiter
        }
        waiter?.resume(with: result)
    }

    func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready = state.withLock { s -> Result<Void, any Error>? in
                guard let result = s.result else { s.waiter = continuation; return nil }
                s.delivered = true
                return result
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
