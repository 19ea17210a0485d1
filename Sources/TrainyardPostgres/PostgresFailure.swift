import Foundation
import PostgresNIO
import TrainyardCore

/// What a failure from PostgreSQL means for the store: a connection problem (the server is
/// unreachable, restarting, or the connection dropped), a transaction the server rolled back
/// because of a concurrent one (safe to run again), or anything else (a bug or a broken schema).
///
/// Descriptions never include a query's bound values (specs, logs) nor the password: postgres-nio
/// keeps them out of its own `description`, and these helpers read only the server's message
/// and SQLSTATE and the underlying network error.
enum PostgresFailure {
    enum Kind: Equatable {
        /// Connection refused, closed, reset, the pool closed or gave up: the server cannot be used now.
        case connection
        /// Deadlock or serialization failure: the server rolled the transaction back.
        case conflict
        case other
    }

    /// The listening connection's notification stream ended without an error.
    struct ListenerClosed: Error, CustomStringConvertible {
        var description: String { "the listening connection closed" }
    }
    static let listenerClosed = ListenerClosed()

    /// postgres-nio's `ConnectionPoolError` lives in a module it does not export
    /// (`_ConnectionPoolModule`); it is recognised by its type's name.
    static func isPoolError(_ error: any Error) -> Bool {
        String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError")
    }

    static func kind(of error: any Error) -> Kind {
        switch error {
        case is TrainyardError, is CancellationError:
            return .other
        case let error as PSQLError:
            switch error.code {
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                if state == "40001" || state == "40P01" { return .conflict }
                // 08: connection exception; 57P01-57P03: the server is shutting down or starting.
                if state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state) { return .connection }
                return .other
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed,
                 .sslUnsupported, .failedToAddSSLHandler:
                return .connection
            default:
                return .other
            }
        case is IOError, is ChannelError, is NIOConnectionError, is ListenerClosed, is Deadline.Exceeded, is Deadline.ConnectionLost:
            return .connection
        default:
            return isPoolError(error) ? .connection : .other
        }
    }

    /// The failure in words, without bound values.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            switch error.code {
            case .server:
                let message = error.serverInfo?[.message] ?? "an error"
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return "the server answered: \(message)\(state)"
            case .serverClosedConnection:
                return "the server closed the connection" + (error.underlying.map { ": \(describe($0))" } ?? "")
            case .connectionError:
                return error.underlying.map(describe) ?? "the connection failed"
            default:
                return "\(error.code)" + (error.underlying.map { ": \(describe($0))" } ?? "")
            }
        case let error as NIOConnectionError:
            return error.connectionErrors.first.map { "\($0.error)" } ?? "\(error)"
        default:
            if isPoolError(error) {
                let text = "\(error)"
                if text.contains("CircuitBreaker") { return "no connection could be made for a while (the pool stopped trying)" }
                return text.contains("Cancelled") ? "the request for a connection was cancelled" : "the connection pool is closed"
            }
            return "\(error)"
        }
    }

    /// A failure as the store reports it: `TrainyardError`s and cancellation as they are; a
    /// connection problem as `.unavailable` naming the store; anything else as a
    /// `PostgresStoreError` (an internal error: logged, never shown to a client).
    static func report(_ error: any Error, store: String, doing what: String) -> any Error {
        switch error {
        case is TrainyardError, is CancellationError:
            return error
        default:
            if kind(of: error) == .connection {
                return TrainyardError(.unavailable, "the metadata store \(store) cannot be reached (\(what)): \(describe(error))")
            }
            return PostgresStoreError(store: store, operation: what, reason: describe(error))
        }
    }
}

/// A PostgreSQL failure that is neither a connection problem nor a Trainyard rule: logged with
/// the store, the operation and the server's message.
public struct PostgresStoreError: Error, CustomStringConvertible {
    public var store: String
    public var operation: String
    public var reason: String
    public var description: String { "metadata store \(store): \(operation) failed: \(reason)" }
}
