import Foundation
import Logging
import PostgresNIO
import Testing

/// Drops a test's schema on a connection of its own (the test's stores are closed or released).
func dropTestSchema(_ schema: String, at url: URL, logger: Logger) async throws {
    let components = try #require(URLComponents(url: url, resolvingAgainstBaseURL: false))
    let connection = try await PostgresConnection.connect(
        configuration: .init(host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
                             password: components.password, database: String(components.path.dropFirst()), tls: .disable),
        id: 1, logger: logger)
    try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"), logger: logger)
    try await connection.close()
}
