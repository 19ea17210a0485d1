import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing
import TrainyardCore
import TrainyardTestServices
@testable import TrainyardPostgres

/// PostgreSQL stores for tests, on the server `scripts/services` started
/// (`TRAINYARD_TEST_POSTGRES_URL`): each test works in namespaces (schemas) of its own, which
/// `.postgresSchemasDropped` drops, with the test's stores closed, when the test ends.
enum PostgresTestStores {
    /// A namespace no other test (or earlier run) uses: its schema is `trainyard_t<hex>_test`.
    static func uniqueNamespace() -> Namespace {
        var g = SystemRandomNumberGenerator()
        let hex = (0..<2).map { _ in String(g.next() as UInt64, radix: 16) }.joined()
        return try! Namespace(project: "t" + hex.prefix(20), environment: "test")
    }

    /// Opens a store on the test server (a missing server fails here under
    /// `TRAINYARD_REQUIRE_SERVICES=1`); closed and its schema dropped at the end of the test.
    static func open(namespace: Namespace = uniqueNamespace(), clock: any WallClock = ManualClock(),
                     retryPolicy: RetryPolicy = MetadataStoreContract.retryPolicy,
                     onChange: @escaping @Sendable () -> Void = {}) async throws -> PostgresMetadataStore {
        let url = try TestService.postgres.require()
        guard let cleanup = PostgresSchemasDropped.current else {
            Issue.record("a test opening PostgreSQL stores needs the .postgresSchemasDropped trait (its schemas would stay behind)")
            throw CancellationError()
        }
        let store = try await PostgresMetadataStore.open(url: url, namespace: namespace, clock: clock, retryPolicy: retryPolicy, onChange: onChange)
        cleanup.register(store)
        return store
    }

    /// One statement on the store's pool (a test looking at what the store wrote).
    static func rows(_ store: PostgresMetadataStore, _ query: PostgresQuery) async throws -> [PostgresRow] {
        try await store.rows(query)
    }
}

/// A test trait: the stores `PostgresTestStores.open` made during each test are closed and
/// their schemas dropped when the test ends, passed or failed.
struct PostgresSchemasDropped: SuiteTrait, TestTrait, TestScoping {
    @TaskLocal static var current: Opened?

    var isRecursive: Bool { true }

    final class Opened: Sendable {
        private let stores = Mutex<[PostgresMetadataStore]>([])
        func register(_ store: PostgresMetadataStore) { stores.withLock { $0.append(store) } }
        var all: [PostgresMetadataStore] { stores.withLock { $0 } }
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // The suite's own scope: each test gets its own below.
        guard testCase != nil || !test.isSuite else { return try await function() }
        let opened = Opened()
        let outcome: Result<Void, any Error>
        do {
            try await Self.$current.withValue(opened) { try await function() }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        let stores = opened.all
        for store in stores { await store.close() }
        // Dropped over a connection of its own: a test may have closed its stores already.
        let schemas = Set(stores.map(\.schema.name))
        if let settings = stores.first?.settings, !schemas.isEmpty {
            do {
                let connection = try await PostgresConnection.connect(configuration: settings.connectionConfiguration(applicationName: "trainyard-tests"),
                                                                      id: 1, logger: Logger(label: "trainyard.tests"))
                for schema in schemas.sorted() {
                    try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: Logger(label: "trainyard.tests"))
                }
                try await connection.close()
            } catch {
                Issue.record("dropping the test schemas \(schemas.sorted()): \(String(reflecting: error))")
            }
        }
        try outcome.get()
    }
}

extension Trait where Self == PostgresSchemasDropped {
    /// Closes the PostgreSQL stores each test opened and drops their schemas when it ends.
    static var postgresSchemasDropped: Self { PostgresSchemasDropped() }
}
