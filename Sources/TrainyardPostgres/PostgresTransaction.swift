import Foundation
import Logging
import PostgresNIO

/// `BEGIN` … `COMMIT` on one connection, `ROLLBACK` when the body throws. Unlike
/// postgres-nio's `withTransaction`, the body's own error comes out as it was thrown (a
/// `TrainyardError` such as `.leaseLost` must reach the caller unwrapped). A connection whose
/// rollback failed is closed, so the pool never lends out one left inside a transaction.
enum PostgresTransaction {
    static func run<T: Sendable>(on connection: PostgresConnection, logger: Logger,
                                 _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await connection.query("BEGIN", logger: logger)
        let value: T
        do {
            value = try await body(connection)
        } catch {
            do {
                try await connection.query("ROLLBACK", logger: logger)
            } catch {
                try? await connection.close()
            }
            throw error
        }
        try await connection.query("COMMIT", logger: logger)
        return value
    }
}

/// SQL text with numbered parameters appended as they are bound, for statements whose shape
/// depends on the call (optional clauses, a variable number of filters). Names interpolated
/// into `sql` must be validated identifiers (`PostgresSchema`); values always go through `bind`.
struct BoundSQL {
    var sql = ""
    var binds = PostgresBindings()

    /// Binds `value` and returns its placeholder (`$n`).
    mutating func bind<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value) throws -> String {
        try binds.append(value)
        return "$\(binds.count)"
    }

    /// Binds `value` or NULL and returns its placeholder.
    mutating func bind<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value?) throws -> String {
        try binds.append(value)
        return "$\(binds.count)"
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
}
