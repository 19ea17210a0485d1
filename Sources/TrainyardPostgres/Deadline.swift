import Foundation
import PostgresNIO
import Synchronization

/// Runs an operation on a leased connection with an upper bound on its time.
///
/// postgres-nio can lose a query written to a connection that closed at that moment (the
/// server ended it, a restart): the query's promise is never completed and its caller would
/// wait forever (vapor/postgres-nio#487, reverted in #501). An awaiting caller cannot be freed
/// by cancellation either, so the operation runs in a task of its own and the caller waits for
/// whichever comes first: the operation, the deadline, or the connection found closed with
/// the operation still unanswered shortly after. When the caller gives up, the connection is
/// closed, so a query or transaction left behind cannot run into the next one the pool lends
/// it to (the server rolls back what was open).
enum Deadline {
    struct Exceeded: Error, CustomStringConvertible {
        var limit: Duration
        var description: String { "no answer within \(limit)" }
    }

    struct ConnectionLost: Error, CustomStringConvertible {
        var description: String { "the connection closed before the answer came" }
    }

    /// How often a waiting caller looks at the connection, and how long it waits for an
    /// answer after finding it closed (a query in flight is failed by postgres-nio at once).
    static let watchInterval: Duration = .milliseconds(200)

    static func run<T: Sendable>(_ limit: Duration, on connection: PostgresConnection? = nil,
                                 _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let first = FirstOutcome<T>()
        let work = Task {
            do { first.finish(.success(try await operation())) } catch { first.finish(.failure(error)) }
        }
        let watch = Task {
            let start = ContinuousClock.now
            var closedSeen = false
            while !Task.isCancelled {
                let remaining = limit - (ContinuousClock.now - start)
                if remaining <= .zero {
                    first.finish(.failure(Exceeded(limit: limit)))
                    break
                }
                try? await Task.sleep(for: min(remaining, watchInterval))
                if let connection, connection.isClosed {
                    // Closed with the operation unanswered a whole interval later: it was lost.
                    if closedSeen { first.finish(.failure(ConnectionLost())); break }
                    closedSeen = true
                }
            }
        }
        defer { watch.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await first.wait()
            } onCancel: {
                work.cancel()
                first.finish(.failure(CancellationError()))
            }
        } catch let error where error is Exceeded || error is ConnectionLost || error is CancellationError {
            // Given up: an operation still waiting for a connection must not run later (its
            // caller was told it failed), and one on a connection must not run into the next.
            work.cancel()
            if let connection { Task { try? await connection.close() } }
            throw error
        }
    }
}

/// The first of several racing outcomes, for one waiter; later ones are dropped.
final class FirstOutcome<T: Sendable>: Sendable {
    private struct State {
        var waiter: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var delivered = false
    }
    private let state = Mutex(State())

    func finish(_ result: Result<T, any Error>) {
        let waiter = state.withLock { s -> CheckedContinuation<T, any Error>? in
            guard !s.delivered, s.result == nil else { return nil }
            guard let waiter = s.waiter else { s.result = result; return nil }
            s.waiter = nil
            s.delivered = true
            return waiter
        }
        waiter?.resume(with: result)
    }

    func wait() async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let ready = state.withLock { s -> Result<T, any Error>? in
                guard let result = s.result else { s.waiter = continuation; return nil }
                s.delivered = true
                return result
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
