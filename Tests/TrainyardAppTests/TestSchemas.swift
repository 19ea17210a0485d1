import Foundation
import Logging
import PostgresNIO
import Testing
import TrainyardCore

/// A namespace no other test uses, and the schema the PostgreSQL store keeps it in.
func uniqueTestNamespace(_ prefix: String) throws -> (namespace: Namespace, schema: String) {
    let namespace = try Namespace(project: prefix + String(UInt64.random(in: 0...UInt64.max), radix: 16), environment: "test")
    return (namespace, "trainyard_\(namespace.project)_test")
}

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
