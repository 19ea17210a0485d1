import Foundation
import GRDB
import Testing
import TrainyardCore
@testable import TrainyardStorage

/// A store written before `s3://` watches opens migrated: its triggers read back without a
/// listing cursor and its fired files without an ETag (and are still found), and both can be
/// written from then on.
@Suite("SQLite migration: trigger-listing-cursor")
struct TriggerListingCursorMigrationTests {
    @Test func aStoreFromBeforeTheColumnsIsMigratedAndKeepsItsTriggers() async throws {
        let file = try temporaryDirectory("trainyard-cursor-migration").appendingPathComponent("trainyard.sqlite")
        let clock = ManualClock()
        let folderFile = TriggerStoreContract.file()
        let trigger: Trigger
        do {
            let store = try SQLiteMetadataStore(file: file, clock: clock)
            trigger = try await store.createTrigger(try TriggerStoreContract.watch(), createdBy: "cli")
            _ = try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .file(folderFile), jobID: 5))
            // Back to the schema of before: no columns, the migration not applied.
            let t = TableNames(Namespace())
            try await store.pool.write { db in
                try db.execute(sql: "ALTER TABLE \(t.triggers) DROP COLUMN listing_cursor")
                try db.execute(sql: "ALTER TABLE \(t.triggerFiles) DROP COLUMN etag")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: ["\(t.prefix)trigger-listing-cursor"])
            }
            #expect(try await store.pool.read { try Row.fetchOne($0, sql: "SELECT * FROM \(t.triggers)")?.hasColumn("listing_cursor") } == false)
        }
        let reopened = try SQLiteMetadataStore(file: file, clock: clock)
        let read = try #require(try await reopened.trigger(trigger.name))
        #expect(read.status.listingCursor == nil && read.status.firedCount == 1 && read.definition == trigger.definition)
        #expect(try await reopened.firedFile(trigger: trigger.id, identity: folderFile.identity(trigger: trigger.id))?.file == folderFile)
        try await reopened.recordListingCursor(trigger.name, triggerID: trigger.id, cursor: "s3://bucket/in/k.csv")
        #expect(try await reopened.trigger(trigger.name)?.status.listingCursor == "s3://bucket/in/k.csv")
        let object = WatchedFile(path: "s3://bucket/in/k.csv", bytes: 3, modified: 1, etag: "\"e\"")
        _ = try await reopened.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .file(object), jobID: 6))
        #expect(try await reopened.firedFile(trigger: trigger.id, identity: object.identity(trigger: trigger.id))?.file == object)
    }
}
