import Foundation
import PostgresNIO
import TrainyardCore

/// Triggers on PostgreSQL: one row per trigger (its definition as JSON, its status as columns)
/// and one per file a watch fired, keyed by the trigger's id and the file's identity digest.
/// Any number of servers fire safely: a file is recorded by the one insert the primary key
/// lets through, a slot by the one update whose `last_slot < slot` still holds (the trigger's
/// row is locked first, so the comparison sees the latest slot); that two of them make one job
/// is the jobs table's unique idempotency key.
extension PostgresMetadataStore {
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

    static func trigger(_ row: PostgresRow) throws -> Trigger {
        let (id, definitionText, paused, createdAt, createdBy, activeSince, firedCount, lastFiredAt, lastJobID, lastFile, lastSlot, lastError,
             lastErrorAt, listingCursor) = try row.decode((Int64, String, Bool, Double, String, Double, Int, Double?, Int64?, String?, Double?, String?, Double?,
                                                           String?).self)
        let stored = try JSON.decode(StoredDefinition.self, from: definitionText)
        var definition = stored.definition
        definition.dataRoots = stored.dataRoots
        let status = TriggerStatus(firedCount: firedCount, lastFiredAt: PostgresRows.date(lastFiredAt), lastJobID: lastJobID, lastFile: lastFile,
                                   lastSlot: PostgresRows.date(lastSlot), lastError: lastError, lastErrorAt: PostgresRows.date(lastErrorAt),
                                   listingCursor: listingCursor)
        return Trigger(id: id, definition: definition, paused: paused, createdAt: Date(timeIntervalSince1970: createdAt), createdBy: createdBy,
                       activeSince: Date(timeIntervalSince1970: activeSince), status: status)
    }

    public func createTrigger(_ definition: TriggerDefinition, createdBy: String) async throws -> Trigger {
        let text = try JSON.encodeString(StoredDefinition(definition: definition, dataRoots: definition.dataRoots))
        let now = self.now
        let s = schema
        let created = try await writing("creating trigger \(definition.name)") { [self] in
            try await rows("""
                INSERT INTO \(unescaped: s.triggers) (name, kind, definition, paused, created_at, created_by, active_since)
                VALUES (\(definition.name.rawValue), \(definition.kind.rawValue), \(text), \(definition.paused), \(now), \(createdBy.postgresText), \(now))
                ON CONFLICT (name) DO NOTHING
                RETURNING \(unescaped: Self.triggerColumns)
                """)
        }
        guard let row = created.first else {
            throw TrainyardError.conflict("trigger \(definition.name) already exists; remove it first (`trainyard triggers rm \(definition.name)`)")
        }
        return try Self.trigger(row)
    }

    public func trigger(_ name: TriggerName) async throws -> Trigger? {
        let s = schema
        return try await reading("reading trigger \(name)") { [self] in
            try await rows("SELECT \(unescaped: Self.triggerColumns) FROM \(unescaped: s.triggers) WHERE name = \(name.rawValue)").first.map(Self.trigger)
        }
    }

    public func triggers() async throws -> [Trigger] {
        let s = schema
        return try await reading("listing triggers") { [self] in
            try await rows("SELECT \(unescaped: Self.triggerColumns) FROM \(unescaped: s.triggers) ORDER BY name").map(Self.trigger)
        }
    }

    /// One statement: resuming a paused trigger starts its schedule afresh (slots that passed
    /// while paused are skipped); pausing, or resuming a running one, keeps `active_since`.
    public func setTriggerPaused(_ name: TriggerName, paused: Bool) async throws -> Trigger {
        let now = self.now
        let s = schema
        let updated = try await writing("pausing or resuming trigger \(name)") { [self] in
            try await rows("""
                UPDATE \(unescaped: s.triggers) SET paused = \(paused),
                    active_since = CASE WHEN paused AND NOT \(paused) THEN \(now) ELSE active_since END
                WHERE name = \(name.rawValue)
                RETURNING \(unescaped: Self.triggerColumns)
                """)
        }
        guard let row = updated.first else { throw TrainyardError.notFound("trigger \(name)") }
        return try Self.trigger(row)
    }

    /// Its fired files go with it (`ON DELETE CASCADE`).
    public func deleteTrigger(_ name: TriggerName) async throws {
        let s = schema
        let deleted = try await writing("deleting trigger \(name)") { [self] in
            try await rows("DELETE FROM \(unescaped: s.triggers) WHERE name = \(name.rawValue) RETURNING id")
        }
        guard !deleted.isEmpty else { throw TrainyardError.notFound("trigger \(name)") }
    }

    public func firedFile(trigger triggerID: Int64, identity: String) async throws -> FiredFile? {
        let s = schema
        return try await reading("reading a fired file of trigger \(triggerID)") { [self] in
            try await rows("""
                SELECT path, bytes, modified, job_id, fired_at, etag FROM \(unescaped: s.triggerFiles) WHERE trigger_id = \(triggerID) AND identity = \(identity)
                """).first.map { row in
                let (path, bytes, modified, jobID, firedAt, etag) = try row.decode((String, Int64, Double, Int64, Double, String?).self)
                return FiredFile(file: WatchedFile(path: path, bytes: bytes, modified: modified, etag: etag), jobID: jobID,
                                 firedAt: Date(timeIntervalSince1970: firedAt))
            }
        }
    }

    /// One statement: the trigger's row is locked (it is still this trigger: same name, same
    /// id), the file inserted unless it was (or the slot compared with the latest one), and the
    /// status updated only by the firing that got through.
    public func recordFiring(_ firing: TriggerFiring) async throws -> Bool {
        let now = self.now
        let s = schema
        let id = firing.triggerID
        let statement: PostgresQuery
        switch firing.cause {
        case .file(let file):
            statement = """
                WITH current AS (
                    SELECT id FROM \(unescaped: s.triggers) WHERE name = \(firing.trigger.rawValue) AND id = \(id) FOR NO KEY UPDATE
                ), recorded AS (
                    INSERT INTO \(unescaped: s.triggerFiles) (trigger_id, identity, path, bytes, modified, etag, job_id, fired_at)
                    SELECT id, \(file.identity(trigger: id)), \(file.path), \(file.bytes), \(file.modified), \(file.etag), \(firing.jobID), \(now) FROM current
                    ON CONFLICT (trigger_id, identity) DO NOTHING
                    RETURNING trigger_id
                ), counted AS (
                    UPDATE \(unescaped: s.triggers) SET fired_count = fired_count + 1, last_fired_at = \(now), last_job_id = \(firing.jobID),
                        last_file = \(file.path), last_error = NULL, last_error_at = NULL
                    WHERE id IN (SELECT trigger_id FROM recorded)
                )
                SELECT count(*) FROM current
                """
        case .slot(let slot):
            let at = slot.timeIntervalSince1970
            statement = """
                WITH current AS (
                    SELECT id FROM \(unescaped: s.triggers) WHERE name = \(firing.trigger.rawValue) AND id = \(id) FOR NO KEY UPDATE
                ), counted AS (
                    UPDATE \(unescaped: s.triggers) SET last_slot = \(at), fired_count = fired_count + 1, last_fired_at = \(now),
                        last_job_id = \(firing.jobID), last_error = NULL, last_error_at = NULL
                    WHERE id IN (SELECT id FROM current) AND (last_slot IS NULL OR last_slot < \(at))
                )
                SELECT count(*) FROM current
                """
        case .message(let message):
            // Every message is a firing (the service records one only for a job it made).
            statement = """
                WITH current AS (
                    SELECT id FROM \(unescaped: s.triggers) WHERE name = \(firing.trigger.rawValue) AND id = \(id) FOR NO KEY UPDATE
                ), counted AS (
                    UPDATE \(unescaped: s.triggers) SET last_file = COALESCE(\(message.file), last_file), fired_count = fired_count + 1,
                        last_fired_at = \(now), last_job_id = \(firing.jobID), last_error = NULL, last_error_at = NULL
                    WHERE id IN (SELECT id FROM current)
                )
                SELECT count(*) FROM current
                """
        }
        let found = try await writing("recording a firing of trigger \(firing.trigger)") { [self] in
            try await rows(statement).first.map { try $0.decode(Int.self) } ?? 0
        }
        return found > 0
    }

    public func recordTriggerError(_ name: TriggerName, triggerID: Int64, message: String) async throws {
        let now = self.now
        let s = schema
        _ = try await writing("recording an error of trigger \(name)") { [self] in
            try await rows("""
                UPDATE \(unescaped: s.triggers) SET last_error = \(message.postgresText), last_error_at = \(now) WHERE id = \(triggerID) AND name = \(name.rawValue)
                """)
        }
    }

    public func recordListingCursor(_ name: TriggerName, triggerID: Int64, cursor: String?) async throws {
        let s = schema
        _ = try await writing("recording the listing cursor of trigger \(name)") { [self] in
            try await rows("""
                UPDATE \(unescaped: s.triggers) SET listing_cursor = \(cursor) WHERE id = \(triggerID) AND name = \(name.rawValue)
                """)
        }
    }
}
