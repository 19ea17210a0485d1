import Foundation
import GRDB
import Testing
import TrainyardCore
@testable import TrainyardStorage

/// A store written before versions kept their promotion decision opens migrated: its versions
/// read back without one, and new completions keep theirs.
@Suite("SQLite migration: versions.promotion")
struct VersionPromotionMigrationTests {
    @Test func aStoreFromBeforeTheColumnIsMigratedAndKeepsItsVersions() async throws {
        let file = try temporaryDirectory("trainyard-promotion-migration").appendingPathComponent("trainyard.sqlite")
        let clock = ManualClock()
        let rmse = Promotion(alias: .production, metric: "rmse")
        let name = try ModelName("iris")
        do {
            let store = try SQLiteMetadataStore(file: file, clock: clock)
            try await MetadataStoreContract.train(store, clock, "iris", metrics: ["rmse": 1.0], promote: rmse)
            // Back to the schema of before: no column, the migration not applied.
            let t = TableNames(Namespace())
            try await store.pool.write { db in
                try db.execute(sql: "ALTER TABLE \(t.versions) DROP COLUMN promotion")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: ["\(t.prefix)version-promotion"])
            }
            #expect(try await store.pool.read { try Row.fetchOne($0, sql: "SELECT * FROM \(t.versions)")?.hasColumn("promotion") } == false)
        }
        let reopened = try SQLiteMetadataStore(file: file, clock: clock)
        let old = try #require(try await reopened.version(name, 1))
        #expect(old.promotion == nil && old.metrics["rmse"] == 1.0)
        #expect(try await reopened.aliases(of: name).map(\.version) == [1])
        let next = try await MetadataStoreContract.train(reopened, clock, "iris", metrics: ["rmse": 2.0], promote: rmse)
        #expect(next.promotion?.promoted == false)
        #expect(try await reopened.version(name, 2)?.promotion == next.promotion)
    }
}
