import Foundation
import GRDB
import TrainyardCore

/// Triggers in the SQLite store: one row per trigger (its definition as JSON, its status as
/// columns, so times keep their precision) and one row per file a watch fired, keyed by the
/// trigger's id and the file's identity digest. Several processes share them through SQLite's
/// write transactions; that two of them firing the same file make one job is the jobs table's
/// unique idempotency key.
extension SQLiteMetadataStore {
    static func registerTriggerMigration(_ migrator: inout DatabaseMigrator, _ t: TableNames) {
        migrator.registerMigration("\(t.prefix)v3-triggers") { db in
            try db.execute(sql: """
                CREATE TABLE \(t.triggers) (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL,
                    definition TEXT NOT NULL,
                    paused INTEGER NOT NULL DEFAULT 0,
                    created_at REAL NOT NULL,
                    created_by TEXT NOT NULL,
                    active_since REAL NOT NULL,
                    fired_count INTEGER NOT NULL DEFAULT 0,
                    last_fired_at REAL,
                    last_job_id INTEGER,
                    last_file TEXT,
                    last_slot REAL,
                    last_error TEXT,
                    last_error_at REAL
                );
                CREATE TABLE \(t.triggerFiles) (
                    trigger_id INTEGER NOT NULL,
                    identity TEXT NOT NULL,
                    path TEXT NOT NULL,
                    bytes INTEGER NOT NULL,
                    modified REAL NOT NULL,
                    job_id INTEGER NOT NULL,
                    fired_at REAL NOT NULL,
                    PRIMARY KEY (trigger_id, identity)
                ) WITHOUT ROWID;
                """)
        }
    }

    /// `s3://` watches: where each trigger's listing stopped, and each fired object's ETag
    /// (part of its identity). Registered after the others (they shipped first).
    static func registerListingCursorMigration(_ migrator: inout DatabaseMigrator, _ t: TableNames) {
        migrator.registerMigration("\(t.prefix)trigger-listing-cursor") { db in
            try db.execute(sql: """
                ALTER TABLE \(t.triggers) ADD COLUMN listing_cursor TEXT;
                ALTER TABLE \(t.triggerFiles) ADD COLUMN etag TEXT;
                """)
        }
    }

    /// The definition as stored: the request shape plus the server-set data roots.
    struct StoredDefinition: Codable {
        var definition: TriggerDefinition
        var dataRoots: [String]?
        enum CodingKeys: String, CodingKey {
            case definition
            case dataRoots = "data_roots"
        }
    }

    static let triggerColumns = """
        id, definition, paused, created_at, created_by, active_since, fired_count, last_fired_at, last_job_id, last_file, last_slot, \
        last_error, last_error_at, listing_cursor
        """

    static func triggerRow(_ row: Row) throws -> Trigger {
        let stored = try JSON.decode(StoredDefinition.self, from: row[1] as String)
        var definition = stored.definition
        definition.dataRoots = stored.dataRoots
        let status = TriggerStatus(firedCount: row[6], lastFiredAt: SQLiteRows.date(row[7]), lastJobID: row[8], lastFile: row[9],
                                   lastSlot: SQLiteRows.date(row[10]), lastError: row[11], lastErrorAt: SQLiteRows.date(row[12]),
                                   listingCursor: row[13])
        return Trigger(id: row[0], definition: definition, paused: (row[2] as Int) != 0, createdAt: Date(timeIntervalSince1970: row[3]),
                       createdBy: row[4], activeSince: Date(timeIntervalSince1970: row[5]), status: status)
    }

    static func fetchTrigger(_ db: Database, _ t: TableNames, _ name: TriggerName) throws -> Trigger? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(triggerColumns) FROM \(t.triggers) WHERE name = ?"), arguments: [name.rawValue])
            .map(triggerRow)
    }

    public func createTrigger(_ definition: TriggerDefinition, createdBy: String) async throws -> Trigger {
        let text = try JSON.encodeString(StoredDefinition(definition: definition, dataRoots: definition.dataRoots))
        let now = self.now
        return try await writeTransaction { [t] db in
            guard try Self.fetchTrigger(db, t, definition.name) == nil else {
                throw TrainyardError.conflict("trigger \(definition.name) already exists; remove it first (`trainyard triggers rm \(definition.name)`)")
            }
            try db.execute(sql: """
                INSERT INTO \(t.triggers) (name, kind, definition, paused, created_at, created_by, active_since) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [definition.name.rawValue, definition.kind.rawValue, text, definition.paused ? 1 : 0, now, createdBy, now])
            return try Self.fetchTrigger(db, t, definition.name)!
        }
    }

    public func trigger(_ name: TriggerName) async throws -> Trigger? {
        try await pool.read { [t] db in try Self.fetchTrigger(db, t, name) }
    }

    public func triggers() async throws -> [Trigger] {
        try await pool.read { [t] db in
            try Row.fetchAll(db, sql: "SELECT \(Self.triggerColumns) FROM \(t.triggers) ORDER BY name").map(Self.triggerRow)
        }
    }

    public func setTriggerPaused(_ name: TriggerName, paused: Bool) async throws -> Trigger {
        let now = self.now
        return try await writeTransaction { [t] db in
            guard let trigger = try Self.fetchTrigger(db, t, name) else { throw TrainyardError.notFound("trigger \(name)") }
            // Resuming starts the schedule afresh: slots that passed while paused are skipped.
            let activeSince = trigger.paused && !paused ? now : trigger.activeSince.timeIntervalSince1970
            try db.execute(sql: "UPDATE \(t.triggers) SET paused = ?, active_since = ? WHERE id = ?",
                           arguments: [paused ? 1 : 0, activeSince, trigger.id])
            return try Self.fetchTrigger(db, t, name)!
        }
    }

    public func deleteTrigger(_ name: TriggerName) async throws {
        try await writeTransaction { [t] db in
            guard let trigger = try Self.fetchTrigger(db, t, name) else { throw TrainyardError.notFound("trigger \(name)") }
            try db.execute(sql: "DELETE FROM \(t.triggerFiles) WHERE trigger_id = ?", arguments: [trigger.id])
            try db.execute(sql: "DELETE FROM \(t.triggers) WHERE id = ?", arguments: [trigger.id])
        }
    }

    public func firedFile(trigger triggerID: Int64, identity: String) async throws -> FiredFile? {
        try await pool.read { [t] db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT path, bytes, modified, job_id, fired_at, etag FROM \(t.triggerFiles) WHERE trigger_id = ? AND identity = ?
                """), arguments: [triggerID, identity]).map { row in
                FiredFile(file: WatchedFile(path: row[0], bytes: row[1], modified: row[2], etag: row[5]), jobID: row[3],
                          firedAt: Date(timeIntervalSince1970: row[4]))
            }
        }
    }

    public func recordFiring(_ firing: TriggerFiring) async throws -> Bool {
        let now = self.now
        return try await writeTransaction { [t] db in
            guard let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM \(t.triggers) WHERE name = ?"), arguments: [firing.trigger.rawValue]),
                  id == firing.triggerID else { return false }
            var lastFile: String?
            switch firing.cause {
            case .file(let file):
                try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO \(t.triggerFiles) (trigger_id, identity, path, bytes, modified, etag, job_id, fired_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [id, file.identity(trigger: id), file.path, file.bytes, file.modified, file.etag, firing.jobID, now])
                guard db.changesCount > 0 else { return true }
                lastFile = file.path
                try db.cachedStatement(sql: "UPDATE \(t.triggers) SET last_file = ? WHERE id = ?").execute(arguments: [lastFile, id])
            case .slot(let slot):
                try db.cachedStatement(sql: "UPDATE \(t.triggers) SET last_slot = ? WHERE id = ? AND (last_slot IS NULL OR last_slot < ?)")
                    .execute(arguments: [slot.timeIntervalSince1970, id, slot.timeIntervalSince1970])
                guard db.changesCount > 0 else { return true }
            case .message(let message):
                // Every message is a firing (the service records one only for a job it made).
                if let file = message.file {
                    try db.cachedStatement(sql: "UPDATE \(t.triggers) SET last_file = ? WHERE id = ?").execute(arguments: [file, id])
                }
            }
            try db.cachedStatement(sql: """
                UPDATE \(t.triggers) SET fired_count = fired_count + 1, last_fired_at = ?, last_job_id = ?, last_error = NULL, last_error_at = NULL
                WHERE id = ?
                """).execute(arguments: [now, firing.jobID, id])
            return true
        }
    }

    public func recordTriggerError(_ name: TriggerName, triggerID: Int64, message: String) async throws {
        let now = self.now
        try await writeTransaction { [t] db in
            try db.cachedStatement(sql: "UPDATE \(t.triggers) SET last_error = ?, last_error_at = ? WHERE id = ? AND name = ?")
                .execute(arguments: [message, now, triggerID, name.rawValue])
        }
    }

    public func recordListingCursor(_ name: TriggerName, triggerID: Int64, cursor: String?) async throws {
        try await writeTransaction { [t] db in
            try db.cachedStatement(sql: "UPDATE \(t.triggers) SET listing_cursor = ? WHERE id = ? AND name = ?")
                .execute(arguments: [cursor, triggerID, name.rawValue])
        }
    }
}

extension TableNames {
    var triggers: String { prefix + "triggers" }
    var triggerFiles: String { prefix + "trigger_files" }
}
