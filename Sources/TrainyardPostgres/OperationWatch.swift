import Foundation
import PostgresNIO
import Synchronization

/// Bounds the time of a store's pooled operations, as `Deadline` does, with one watch loop for
/// all of them instead of a timer task per operation: the queue's hot path runs several
/// statements per job, and two timer tasks per statement (one for the pool's lease, one for
/// the connection) cost the worker more than the statements' own round trips.
///
/// Each operation runs in a task of its own (postgres-nio can lose a query written to a
/// connection that just closed, and its caller could then only wait forever) and its caller
/// waits for whichever comes first: the operation, its deadline, or its connection found
/// closed with the operation still unanswered a whole watch interval later. The loop looks at
/// every operation once per `interval`, so a deadline is noticed at most that much late. A
/// caller that gives up closes the operation's connection, so what was left behind cannot run
/// into the next borrower's statements (the server rolls back what was open).
final class OperationWatch: Sendable {
    /// What an operation tells the watch once it has its connection.
    struct Handle: Sendable {
        fileprivate let watch: OperationWatch
        fileprivate let id: UInt64

        /// From now, the operation has `limit` on `connection` (the time spent waiting for the
        /// pool's lease no longer counts), and the connection's closing ends the wait.
        func leased(_ connection: PostgresConnection, limit: Duration) {
            watch.state.withLock { state in
                guard var entry = state.entries[id] else { return }
                entry.connection = connection
                entry.limit = limit
                entry.deadline = .now + limit
                state.entries[id] = entry
            }
        }
    }

    private struct Entry {
        var deadline: ContinuousClock.Instant
        var limit: Duration
        var connection: PostgresConnection?
        var closedSeen = false
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var nextID: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
    }

    private let state = Mutex(State())
    private let loop = Mutex<Task<Void, Never>?>(nil)
    let interval: Duration

    init(interval: Duration = Deadline.watchInterval) {
        self.interval = interval
        let task = Task { [weak self] in
            while !Task.isCancelled {
                guard let interval = self?.interval else { return }
                try? await Task.sleep(for: interval)
                self?.check()
            }
        }
        loop.withLock { $0 = task }
    }

    deinit { stop() }

    /// Ends the watch loop (the store closed); operations still running keep their own tasks.
    func stop() {
        loop.withLock { $0 }?.cancel()
    }

    /// Runs `operation` within `limit` (until it calls `Handle.leased`, then within the limit it
    /// gives there). Throws `Deadline.Exceeded` or `Deadline.ConnectionLost` when given up.
    func run<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable (Handle) async throws -> T) async throws -> T {
        let first = FirstOutcome<T>()
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            state.entries[state.nextID] = Entry(deadline: .now + limit, limit: limit, fail: { first.finish(.failure($0)) })
            return state.nextID
        }
        let handle = Handle(watch: self, id: id)
        let work = Task {
            do { first.finish(.success(try await operation(handle))) } catch { first.finish(.failure(error)) }
        }
        do {
            let value = try await withTaskCancellationHandler {
                try await first.wait()
            } onCancel: {
                work.cancel()
                first.finish(.failure(CancellationError()))
            }
            remove(id)
            return value
        } catch let error where error is Deadline.Exceeded || error is Deadline.ConnectionLost || error is CancellationError {
            // Given up: an operation still waiting for a connection must not run later (its
            // caller was told it failed), and one on a connection must not run into the next.
            let connection = remove(id)
            work.cancel()
            if let connection { Task { try? await connection.close() } }
            throw error
        } catch {
            remove(id)
            throw error
        }
    }

    /// Forgets an operation; returns its connection, if it had one.
    @discardableResult
    private func remove(_ id: UInt64) -> PostgresConnection? {
        state.withLock { $0.entries.removeValue(forKey: id)?.connection }
    }

    /// Fails the operations past their deadline, and those whose connection was found closed
    /// on the previous look too (a query in flight is failed by postgres-nio at once, so one
    /// still unanswered a whole interval later was lost).
    private func check() {
        let now = ContinuousClock.now
        let failures = state.withLock { state -> [(@Sendable (any Error) -> Void, any Error)] in
            var failures: [(@Sendable (any Error) -> Void, any Error)] = []
            for (id, var entry) in state.entries {
                if now >= entry.deadline {
                    failures.append((entry.fail, Deadline.Exceeded(limit: entry.limit)))
                } else if let connection = entry.connection, connection.isClosed {
                    if entry.closedSeen {
                        failures.append((entry.fail, Deadline.ConnectionLost()))
                    } else {
                        entry.closedSeen = true
                        state.entries[id] = entry
                    }
                }
            }
            return failures
        }
        for (fail, error) in failures { fail(error) }
    }
}
