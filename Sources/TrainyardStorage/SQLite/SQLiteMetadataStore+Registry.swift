import Foundation
import GRDB
import TrainyardCore

extension SQLiteMetadataStore {
    public func reserveVersion(_ lease: LeaseToken) async throws -> Int {
        let now = self.now
        return try await writeTransaction { [t] db in
            try Self.checkLease(db, t, lease, now: now)
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT model, spec, reserved_version FROM \(t.jobs) WHERE id = ?"), arguments: [lease.jobID])!
            if let reserved: Int = row[2] { return reserved }
            let model: String = row[0]
            let spec = try t.specs.spec(lease.jobID) { row[1] }
            try db.cachedStatement(sql: "INSERT INTO \(t.models) (name, created_at, next_version, task) VALUES (?, ?, 1, ?) ON CONFLICT(name) DO NOTHING").execute(arguments: [model, now, spec.task.rawValue])
            let number = try Int.fetchOne(db.cachedStatement(sql: "SELECT next_version FROM \(t.models) WHERE name = ?"), arguments: [model])!
            try db.cachedStatement(sql: "UPDATE \(t.models) SET next_version = next_version + 1, task = ? WHERE name = ?").execute(arguments: [spec.task.rawValue, model])
            try db.cachedStatement(sql: "UPDATE \(t.jobs) SET reserved_version = ? WHERE id = ?").execute(arguments: [number, lease.jobID])
            return number
        }
    }

    /// Succeeds the job (registering its version, if any). An earlier attempt's failure reason is
    /// cleared: a succeeded job has none; each attempt's failure stays in the job's log.
    public func complete(_ lease: LeaseToken, registration: VersionRegistration?, finalLog: [String]) async throws -> CompletionOutcome {
        let now = self.now
        let manifestText = try registration.map { try JSON.encodeString($0.manifest) }
        let outcome = try await writeTransaction { [t, retryPolicy] db -> CompletionOutcome in
            try Self.checkLease(db, t, lease, now: now)
            try Self.insertLog(db, t, lease.jobID, finalLog, now: now)
            var promotion: PromotionRecord?
            var version: Int?
            if let registration, let manifestText {
                let reserved = try Int.fetchOne(db.cachedStatement(sql: "SELECT reserved_version FROM \(t.jobs) WHERE id = ?"), arguments: [lease.jobID])
                let manifest = registration.manifest
                guard reserved == manifest.version else {
                    throw TrainyardError(.conflict, "job \(lease.jobID): manifest version \(manifest.version) was not reserved (reserved: \(reserved.map(String.init) ?? "none"))")
                }
                // Decided against what the alias points at before this version exists (a failed
                // insert below rolls the alias move back with everything else).
                promotion = try registration.promote.map {
                    try Self.promoteIfBetter(db, t, manifest: manifest, promotion: $0, incumbent: registration.incumbent,
                                             actor: PromotionPolicy.actor(jobID: lease.jobID), now: now)
                }
                try db.cachedStatement(sql: """
                    INSERT INTO \(t.versions) (model, version, status, created_at, job_id, manifest, tags, promotion)
                    VALUES (?, ?, 'ready', ?, ?, ?, ?, ?)
                    """).execute(arguments: [manifest.model.rawValue, manifest.version, now, lease.jobID, manifestText,
                                     try JSON.encodeString(manifest.tags), try promotion.map { try JSON.encodeString($0) }])
                version = manifest.version
            }
            let job = try Self.transition(db, t, lease.jobID, .complete(token: lease.token, now: Date(timeIntervalSince1970: now), version: version),
                                          lifecycle: JobLifecycle(retryPolicy: retryPolicy), now: now)
            return CompletionOutcome(job: job, version: version, promotion: promotion)
        }
        onChange()
        return outcome
    }

    /// Moves the alias when `PromotionPolicy` says the new version is better; the store only
    /// reads what the alias points at and persists the decision (audited). Returns the
    /// decision as kept with the version.
    static func promoteIfBetter(_ db: Database, _ t: TableNames, manifest: Manifest, promotion: Promotion, incumbent: IncumbentScore? = nil,
                                actor: String, now: Double) throws -> PromotionRecord {
        let current = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT v.version, v.manifest FROM \(t.aliases) a JOIN \(t.versions) v ON v.model = a.model AND v.version = a.version
            WHERE a.model = ? AND a.alias = ?
            """), arguments: [manifest.model.rawValue, promotion.alias.rawValue])
        let aliased = try current.map { row in
            PromotionPolicy.Incumbent(version: row["version"], storedMetrics: try JSON.decode(Manifest.self, from: row["manifest"] as String).metrics)
        }
        let policy = PromotionPolicy(promotion)
        let decision = policy.decide(newMetrics: manifest.metrics, incumbent: aliased, sameDataScore: incumbent)
        guard decision.promote else { return policy.record(decision) }
        try setAliasRow(db, t, model: manifest.model.rawValue, alias: promotion.alias.rawValue, version: manifest.version,
                        actor: actor, reason: policy.auditReason(decision), now: now)
        return policy.record(decision)
    }

    static func setAliasRow(_ db: Database, _ t: TableNames, model: String, alias: String, version: Int, actor: String,
                            reason: String?, now: Double) throws {
        let previous = try Int.fetchOne(db.cachedStatement(sql: "SELECT version FROM \(t.aliases) WHERE model = ? AND alias = ?"), arguments: [model, alias])
        try db.cachedStatement(sql: """
            INSERT INTO \(t.aliases) (model, alias, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by
            """).execute(arguments: [model, alias, version, now, actor])
        try db.cachedStatement(sql: """
            INSERT INTO \(t.aliasEvents) (model, alias, from_version, to_version, actor, at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [model, alias, previous, version, actor, now, reason])
    }

    public func models() async throws -> [ModelSummary] {
        try await pool.read { [t] db in
            try String.fetchAll(db.cachedStatement(sql: "SELECT name FROM \(t.models) ORDER BY name")).compactMap { try Self.summary(db, t, $0) }
        }
    }

    public func model(_ name: ModelName) async throws -> ModelSummary? {
        try await pool.read { [t] db in try Self.summary(db, t, name.rawValue) }
    }

    static func summary(_ db: Database, _ t: TableNames, _ name: String) throws -> ModelSummary? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM \(t.models) WHERE name = ?"), arguments: [name]) else { return nil }
        let stats = try Row.fetchOne(db.cachedStatement(sql: "SELECT MAX(version) AS latest, COUNT(*) AS n FROM \(t.versions) WHERE model = ?"), arguments: [name])!
        var aliases: [String: Int] = [:]
        for a in try Row.fetchAll(db.cachedStatement(sql: "SELECT alias, version FROM \(t.aliases) WHERE model = ?"), arguments: [name]) {
            aliases[a["alias"]] = a["version"]
        }
        return ModelSummary(name: try ModelName(name), createdAt: Date(timeIntervalSince1970: row["created_at"]),
                            latestVersion: stats["latest"], versionCount: stats["n"], aliases: aliases,
                            task: (row["task"] as String?).flatMap(TaskKind.init(rawValue:)))
    }

    public func versions(of name: ModelName) async throws -> [ModelVersion] {
        try await pool.read { [t] db in
            let aliases = try Self.aliasMap(db, t, name.rawValue)
            return try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM \(t.versions) WHERE model = ? ORDER BY version DESC"), arguments: [name.rawValue])
                .map { try SQLiteRows.version($0, aliases: aliases[$0["version"] as Int] ?? []) }
        }
    }

    public func version(_ name: ModelName, _ number: Int) async throws -> ModelVersion? {
        try await pool.read { [t] db in try Self.fetchVersion(db, t, name.rawValue, number) }
    }

    static func fetchVersion(_ db: Database, _ t: TableNames, _ name: String, _ number: Int) throws -> ModelVersion? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM \(t.versions) WHERE model = ? AND version = ?"), arguments: [name, number]) else {
            return nil
        }
        return try SQLiteRows.version(row, aliases: try aliasMap(db, t, name)[number] ?? [])
    }

    static func aliasMap(_ db: Database, _ t: TableNames, _ name: String) throws -> [Int: [AliasName]] {
        var map: [Int: [AliasName]] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT alias, version FROM \(t.aliases) WHERE model = ? ORDER BY alias"), arguments: [name]) {
            map[row["version"], default: []].append(try AliasName(row["alias"] as String))
        }
        return map
    }

    public func resolve(_ reference: ModelReference) async throws -> ModelVersion {
        try await pool.read { [t] db in
            let name = reference.name.rawValue
            let number: Int?
            switch reference.selector {
            case .version(let v):
                number = v
            case .alias(let alias):
                number = try Int.fetchOne(db.cachedStatement(sql: "SELECT version FROM \(t.aliases) WHERE model = ? AND alias = ?"), arguments: [name, alias.rawValue])
                if number == nil {
                    guard try Self.summary(db, t, name) != nil else { throw TrainyardError.notFound("model \(name)") }
                    throw TrainyardError.notFound("alias \(alias) of model \(name)")
                }
            case .default:
                number = try RegistryRules.defaultVersion(
                    defaultAliasTarget: try Int.fetchOne(db.cachedStatement(sql: "SELECT version FROM \(t.aliases) WHERE model = ? AND alias = ?"),
                                                         arguments: [name, ModelReference.defaultAlias.rawValue]),
                    latestReady: { try Int.fetchOne(db.cachedStatement(sql: "SELECT MAX(version) FROM \(t.versions) WHERE model = ? AND status = ?"),
                                                    arguments: [name, VersionStatus.ready.rawValue]) })
            }
            guard let number, let version = try Self.fetchVersion(db, t, name, number) else {
                if try Self.summary(db, t, name) == nil { throw TrainyardError.notFound("model \(name)") }
                throw TrainyardError.notFound("version \(reference) (no ready version matches)")
            }
            return version
        }
    }

    public func aliases(of name: ModelName) async throws -> [Alias] {
        try await pool.read { [t] db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM \(t.aliases) WHERE model = ? ORDER BY alias"), arguments: [name.rawValue]).map(SQLiteRows.alias)
        }
    }

    public func setAlias(_ alias: AliasName, of name: ModelName, to version: Int, actor: String, reason: String?) async throws -> Alias {
        let now = self.now
        return try await writeTransaction { [t] db in
            guard let v = try Self.fetchVersion(db, t, name.rawValue, version) else {
                throw TrainyardError.notFound("version \(name):\(version)")
            }
            try RegistryRules.checkAliasable(name, version: version, status: v.status)
            try Self.setAliasRow(db, t, model: name.rawValue, alias: alias.rawValue, version: version, actor: actor, reason: reason, now: now)
            return try SQLiteRows.alias(Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM \(t.aliases) WHERE model = ? AND alias = ?"),
                                                      arguments: [name.rawValue, alias.rawValue])!)
        }
    }

    public func deleteAlias(_ alias: AliasName, of name: ModelName, actor: String) async throws {
        let now = self.now
        try await writeTransaction { [t] db in
            guard let previous = try Int.fetchOne(db.cachedStatement(sql: "SELECT version FROM \(t.aliases) WHERE model = ? AND alias = ?"),
                                                  arguments: [name.rawValue, alias.rawValue]) else {
                throw TrainyardError.notFound("alias \(alias) of model \(name)")
            }
            try db.cachedStatement(sql: "DELETE FROM \(t.aliases) WHERE model = ? AND alias = ?").execute(arguments: [name.rawValue, alias.rawValue])
            try db.cachedStatement(sql: "INSERT INTO \(t.aliasEvents) (model, alias, from_version, to_version, actor, at, reason) VALUES (?, ?, ?, NULL, ?, ?, ?)").execute(arguments: [name.rawValue, alias.rawValue, previous, actor, now, RegistryRules.aliasDeletedReason])
        }
    }

    public func aliasEvents(of name: ModelName) async throws -> [AliasEvent] {
        try await pool.read { [t] db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM \(t.aliasEvents) WHERE model = ? ORDER BY id"), arguments: [name.rawValue]).map { row in
                AliasEvent(model: try ModelName(row["model"] as String), alias: try AliasName(row["alias"] as String),
                           fromVersion: row["from_version"], toVersion: row["to_version"], actor: row["actor"],
                           at: Date(timeIntervalSince1970: row["at"]), reason: row["reason"])
            }
        }
    }

    static func refuseIfAliased(_ db: Database, _ t: TableNames, _ name: ModelName, _ version: Int, change: RegistryRules.GuardedChange) throws {
        let aliases = try String.fetchAll(db.cachedStatement(sql: "SELECT alias FROM \(t.aliases) WHERE model = ? AND version = ?"),
                                          arguments: [name.rawValue, version])
        try RegistryRules.refuseIfAliased(name, version: version, aliases: aliases, change: change)
    }

    public func setStatus(_ status: VersionStatus, of name: ModelName, version: Int) async throws -> ModelVersion {
        try await writeTransaction { [t] db in
            guard try Self.fetchVersion(db, t, name.rawValue, version) != nil else { throw TrainyardError.notFound("version \(name):\(version)") }
            if status == .archived { try Self.refuseIfAliased(db, t, name, version, change: .archive) }
            try db.cachedStatement(sql: "UPDATE \(t.versions) SET status = ? WHERE model = ? AND version = ?").execute(arguments: [status.rawValue, name.rawValue, version])
            return try Self.fetchVersion(db, t, name.rawValue, version)!
        }
    }

    public func deleteVersion(_ name: ModelName, version: Int) async throws {
        try await writeTransaction { [t] db in
            guard try Self.fetchVersion(db, t, name.rawValue, version) != nil else { throw TrainyardError.notFound("version \(name):\(version)") }
            try Self.refuseIfAliased(db, t, name, version, change: .delete)
            try db.cachedStatement(sql: "DELETE FROM \(t.versions) WHERE model = ? AND version = ?").execute(arguments: [name.rawValue, version])
        }
    }

    public func setTags(_ tags: [String: String], of name: ModelName, version: Int) async throws -> ModelVersion {
        let text = try JSON.encodeString(tags)
        return try await writeTransaction { [t] db in
            guard try Self.fetchVersion(db, t, name.rawValue, version) != nil else { throw TrainyardError.notFound("version \(name):\(version)") }
            try db.cachedStatement(sql: "UPDATE \(t.versions) SET tags = ? WHERE model = ? AND version = ?").execute(arguments: [text, name.rawValue, version])
            return try Self.fetchVersion(db, t, name.rawValue, version)!
        }
    }
}
