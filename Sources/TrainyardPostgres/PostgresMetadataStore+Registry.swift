import Foundation
import PostgresNIO
import TrainyardCore

/// The registry on PostgreSQL. Changes to a model's aliases (a move, a deletion, a promotion,
/// and the archive or delete a live alias forbids) take the model's transaction-scoped
/// advisory lock, so the alias audit trail records each move from the version it really left.
extension PostgresMetadataStore {
    public func reserveVersion(_ lease: LeaseToken) async throws -> Int {
        let now = self.now
        let s = schema
        return try await transaction("reserving a version for job \(lease.jobID)") { [self] connection in
            guard let stored = try await fetchStored(lease.jobID, on: connection, forUpdate: true) else {
                throw TrainyardError.notFound("job \(lease.jobID)")
            }
            try stored.record.checkHeld(lease, at: Date(timeIntervalSince1970: now))
            if let reserved = stored.reservedVersion { return reserved }
            let model = stored.job.model.rawValue
            let task = stored.job.spec.task.rawValue
            // The model's counter is one upserted row: a number is handed out once, never reused.
            let rows = try await connection.query("""
                WITH reserved AS (
                    INSERT INTO \(unescaped: s.models) (name, created_at, next_version, task) VALUES (\(model), \(now), 2, \(task))
                    ON CONFLICT (name) DO UPDATE SET next_version = \(unescaped: s.models).next_version + 1, task = excluded.task
                    RETURNING next_version - 1 AS number
                )
                UPDATE \(unescaped: s.jobs) SET reserved_version = (SELECT number FROM reserved) WHERE id = \(lease.jobID) RETURNING reserved_version
                """, logger: queryLogger).collect()
            guard let number = try rows.first?.decode(Int.self) else {
                throw PostgresStoreError(store: settings.redacted, operation: "reserving a version for job \(lease.jobID)", reason: "no number was returned")
            }
            return number
        }
    }

    /// Succeeds the job; with a registration, in one transaction: the version row, the
    /// promotion's alias move and the job's success (or none of them). An earlier attempt's
    /// failure reason is cleared: a succeeded job has none.
    public func complete(_ lease: LeaseToken, registration: VersionRegistration?, finalLog: [String]) async throws -> CompletionOutcome {
        let now = self.now
        guard let registration else { return try await complete(lease, finalLog: finalLog, now: now, leasing: nil) }
        let event = JobEvent.complete(token: lease.token, now: Date(timeIntervalSince1970: now), version: registration.manifest.version)
        let manifest = registration.manifest
        let manifestText = try JSON.encodeString(manifest)
        let tagsText = try JSON.encodeString(manifest.tags)
        let s = schema
        let outcome = try await transaction("completing job \(lease.jobID)") { [self] connection -> CompletionOutcome in
            guard let stored = try await fetchStored(lease.jobID, on: connection, forUpdate: true) else {
                throw TrainyardError.notFound("job \(lease.jobID)")
            }
            try stored.record.checkHeld(lease, at: Date(timeIntervalSince1970: now))
            guard stored.reservedVersion == manifest.version else {
                throw TrainyardError(.conflict, "job \(lease.jobID): manifest version \(manifest.version) was not reserved "
                                     + "(reserved: \(stored.reservedVersion.map(String.init) ?? "none"))")
            }
            let next = try lifecycle.apply(event, to: stored.record, jobID: lease.jobID)
            // Decided against what the alias points at before this version exists (a failed
            // insert below rolls the alias move back with everything else).
            var promotion: PromotionRecord?
            if let promote = registration.promote {
                try await lockRegistry(manifest.model, on: connection)
                promotion = try await promoteIfBetter(manifest: manifest, promotion: promote, incumbent: registration.incumbent,
                                                      actor: PromotionPolicy.actor(jobID: lease.jobID), now: now, on: connection)
            }
            let promotionText = try promotion.map { try JSON.encodeString($0) }
            try await connection.query("""
                INSERT INTO \(unescaped: s.versions) (model, version, status, created_at, job_id, manifest, tags, promotion)
                VALUES (\(manifest.model.rawValue), \(manifest.version), 'ready', \(now), \(lease.jobID), \(manifestText), \(tagsText), \(promotionText))
                """, logger: queryLogger)
            guard let written = try await writeTransition(stored, next, now: now, finalLog: finalLog, notify: .whoMayWait, on: connection) else {
                throw PostgresStoreError(store: settings.redacted, operation: "completing job \(lease.jobID)", reason: "the locked row changed")
            }
            return CompletionOutcome(job: written.job, version: manifest.version, promotion: promotion)
        }
        onChange()
        return outcome
    }

    /// Without a registration, the completion leases the worker's next job in its own statement
    /// when candidates were kept for the worker (read by its last dequeue or completion, within
    /// `CandidatePrefetch.freshness`); a completion with a registration is a transaction of
    /// several statements and leases nothing.
    public func complete(_ lease: LeaseToken, registration: VersionRegistration?, finalLog: [String],
                         leasingNext next: NextLeaseRequest) async throws -> (CompletionOutcome, Lease?) {
        guard registration == nil else { return (try await complete(lease, registration: registration, finalLog: finalLog), nil) }
        let now = self.now
        let kinds = next.kinds.map(\.rawValue).sorted()
        prefetch.dequeuing(kinds, worker: next.workerID)
        let plan = nextLeasePlan(next, kinds: kinds, now: now)
        let outcome: CompletionOutcome
        do {
            outcome = try await complete(lease, finalLog: finalLog, now: now, leasing: plan)
        } catch {
            // The statement may have committed before the error (a timeout, a cancellation):
            // a job it leased would otherwise wait for its lease to expire, an attempt lost.
            if let plan { await releaseLeases(of: plan, now: now) }
            throw error
        }
        guard let plan, plan.leasedByStatement else { return (outcome, nil) }
        guard let leased = plan.leased, let expiresAt = leased.job.leaseExpiresAt else {
            await releaseLeases(of: plan, now: now)
            return (outcome, nil)
        }
        return (outcome, Lease(token: LeaseToken(jobID: leased.job.id, token: plan.token, attempt: leased.job.attempt), job: leased.job,
                               expiresAt: expiresAt))
    }

    /// Gives back to the queue whatever job `plan`'s token leased (without counting the
    /// attempt), when nobody will run it; best effort: what cannot be given back now returns
    /// when its lease expires. In a task of its own, so that the caller's cancellation (which
    /// may be why the job has nobody) cannot stop it.
    func releaseLeases(of plan: NextLeasePlan, now: Double) async {
        let s = schema
        await Task { [self] in
            guard let rows = try? await rows("""
                SELECT id FROM \(unescaped: s.jobs) WHERE id = ANY(\(plan.candidateIDs)) AND lease_token = \(plan.token)
                """) else { return }
            for row in rows {
                guard let id = try? row.decode(Int64.self) else { continue }
                _ = try? await transition(id, .release(token: plan.token, now: Date(timeIntervalSince1970: now)), now: now, notify: .whoMayWait,
                                          doing: "returning job \(id) to the queue")
            }
        }.value
    }

    /// A completion without a registration: one statement, which also reads the worker's next
    /// candidates (and leases one with a `plan`).
    func complete(_ lease: LeaseToken, finalLog: [String], now: Double, leasing plan: NextLeasePlan?) async throws -> CompletionOutcome {
        let event = JobEvent.complete(token: lease.token, now: Date(timeIntervalSince1970: now), version: nil)
        let job = try await transition(lease.jobID, event, now: now, finalLog: finalLog, notify: .whoMayWait, readingCandidates: true,
                                       leasing: plan, doing: "completing job \(lease.jobID)")
        onChange()
        return CompletionOutcome(job: job, version: nil, promotion: nil)
    }

    /// Takes the model's registry lock until the transaction ends.
    func lockRegistry(_ model: ModelName, on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(schema.registryLockKey(model)), 0))", logger: queryLogger)
    }

    /// Moves the alias when `PromotionPolicy` says the new version is better; the store only
    /// reads what the alias points at and persists the decision (audited). Returns the
    /// decision as kept with the version.
    func promoteIfBetter(manifest: Manifest, promotion: Promotion, incumbent: IncumbentScore?, actor: String, now: Double,
                         on connection: PostgresConnection) async throws -> PromotionRecord {
        let s = schema
        let current = try await connection.query("""
            SELECT v.version, v.manifest FROM \(unescaped: s.aliases) a JOIN \(unescaped: s.versions) v ON v.model = a.model AND v.version = a.version
            WHERE a.model = \(manifest.model.rawValue) AND a.alias = \(promotion.alias.rawValue)
            """, logger: queryLogger).collect().first
        let aliased = try current.map { row in
            let (version, manifestText) = try row.decode((Int, String).self)
            return PromotionPolicy.Incumbent(version: version, storedMetrics: try JSON.decode(Manifest.self, from: manifestText).metrics)
        }
        let policy = PromotionPolicy(promotion)
        let decision = policy.decide(newMetrics: manifest.metrics, incumbent: aliased, sameDataScore: incumbent)
        guard decision.promote else { return policy.record(decision) }
        _ = try await setAliasRow(model: manifest.model, alias: promotion.alias, version: manifest.version, actor: actor,
                                  reason: policy.auditReason(decision), now: now, on: connection)
        return policy.record(decision)
    }

    /// Points the alias at `version` and records the move in the audit trail, in one
    /// statement (under the model's registry lock, so the version it leaves is current).
    func setAliasRow(model: ModelName, alias: AliasName, version: Int, actor rawActor: String, reason rawReason: String?, now: Double,
                     on connection: PostgresConnection) async throws -> Alias {
        let s = schema
        let actor = rawActor.postgresText, reason = rawReason?.postgresText
        let rows = try await connection.query("""
            WITH previous AS (
                SELECT version FROM \(unescaped: s.aliases) WHERE model = \(model.rawValue) AND alias = \(alias.rawValue)
            ), moved AS (
                INSERT INTO \(unescaped: s.aliases) (model, alias, version, updated_at, updated_by)
                VALUES (\(model.rawValue), \(alias.rawValue), \(version), \(now), \(actor))
                ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by
                RETURNING \(unescaped: PostgresRows.aliasColumns)
            ), audited AS (
                INSERT INTO \(unescaped: s.aliasEvents) (model, alias, from_version, to_version, actor, at, reason)
                VALUES (\(model.rawValue), \(alias.rawValue), (SELECT version FROM previous), \(version), \(actor), \(now), \(reason))
            )
            SELECT \(unescaped: PostgresRows.aliasColumns) FROM moved
            """, logger: queryLogger).collect()
        guard let row = rows.first else {
            throw PostgresStoreError(store: settings.redacted, operation: "moving alias \(alias) of \(model)", reason: "no row was returned")
        }
        return try PostgresRows.alias(row)
    }

    public func models() async throws -> [ModelSummary] {
        try await reading("listing models") { [self] in
            try await rows("\(unescaped: summarySQL) ORDER BY m.name").map(summary)
        }
    }

    public func model(_ name: ModelName) async throws -> ModelSummary? {
        try await reading("reading model \(name)") { [self] in
            try await rows("\(unescaped: summarySQL) WHERE m.name = \(name.rawValue)").first.map(summary)
        }
    }

    /// A model's row with its version statistics and aliases, in one query.
    var summarySQL: String {
        """
        SELECT m.name, m.created_at, m.task,
            (SELECT MAX(version) FROM \(schema.versions) v WHERE v.model = m.name),
            (SELECT COUNT(*) FROM \(schema.versions) v WHERE v.model = m.name),
            ARRAY(SELECT alias FROM \(schema.aliases) a WHERE a.model = m.name ORDER BY alias),
            ARRAY(SELECT version FROM \(schema.aliases) a WHERE a.model = m.name ORDER BY alias)
        FROM \(schema.models) m
        """
    }

    func summary(_ row: PostgresRow) throws -> ModelSummary {
        let (name, createdAt, task, latest, count, aliasNames, aliasVersions)
            = try row.decode((String, Double, String?, Int?, Int, [String], [Int64]).self)
        return ModelSummary(name: try ModelName(name), createdAt: Date(timeIntervalSince1970: createdAt), latestVersion: latest, versionCount: count,
                            aliases: Dictionary(zip(aliasNames, aliasVersions.map { Int($0) }), uniquingKeysWith: { a, _ in a }),
                            task: task.flatMap(TaskKind.init(rawValue:)))
    }

    public func versions(of name: ModelName) async throws -> [ModelVersion] {
        let s = schema
        return try await reading("listing the versions of \(name)") { [self] in
            try await rows("""
                SELECT \(unescaped: PostgresRows.versionColumns(aliases: s.aliases)) FROM \(unescaped: s.versions) v
                WHERE v.model = \(name.rawValue) ORDER BY v.version DESC
                """).map(PostgresRows.version)
        }
    }

    public func version(_ name: ModelName, _ number: Int) async throws -> ModelVersion? {
        try await reading("reading version \(name):\(number)") { [self] in try await fetchVersion(name, number, on: nil) }
    }

    func fetchVersion(_ name: ModelName, _ number: Int, on connection: PostgresConnection?) async throws -> ModelVersion? {
        let s = schema
        return try await rows("""
            SELECT \(unescaped: PostgresRows.versionColumns(aliases: s.aliases)) FROM \(unescaped: s.versions) v
            WHERE v.model = \(name.rawValue) AND v.version = \(number)
            """, on: connection).first.map(PostgresRows.version)
    }

    public func resolve(_ reference: ModelReference) async throws -> ModelVersion {
        let s = schema
        let name = reference.name.rawValue
        return try await reading("resolving \(reference)") { [self] in
            let number: Int?
            switch reference.selector {
            case .version(let v):
                number = v
            case .alias(let alias):
                number = try await rows("SELECT version FROM \(unescaped: s.aliases) WHERE model = \(name) AND alias = \(alias.rawValue)")
                    .first.map { try $0.decode(Int.self) }
                if number == nil {
                    guard try await modelExists(name) else { throw TrainyardError.notFound("model \(name)") }
                    throw TrainyardError.notFound("alias \(alias) of model \(name)")
                }
            case .default:
                // Both candidates in one round trip; `RegistryRules` decides which one counts.
                let row = try await rows("""
                    SELECT (SELECT version FROM \(unescaped: s.aliases) WHERE model = \(name) AND alias = \(ModelReference.defaultAlias.rawValue)),
                           (SELECT MAX(version) FROM \(unescaped: s.versions) WHERE model = \(name) AND status = \(VersionStatus.ready.rawValue))
                    """).first
                let (aliased, latest) = try row.map { try $0.decode((Int?, Int?).self) } ?? (nil, nil)
                number = RegistryRules.defaultVersion(defaultAliasTarget: aliased, latestReady: { latest })
            }
            guard let number, let version = try await fetchVersion(reference.name, number, on: nil) else {
                if try await !modelExists(name) { throw TrainyardError.notFound("model \(name)") }
                throw TrainyardError.notFound("version \(reference) (no ready version matches)")
            }
            return version
        }
    }

    func modelExists(_ name: String) async throws -> Bool {
        try await !rows("SELECT 1 FROM \(unescaped: schema.models) WHERE name = \(name)").isEmpty
    }

    public func aliases(of name: ModelName) async throws -> [Alias] {
        let s = schema
        return try await reading("listing the aliases of \(name)") { [self] in
            try await rows("SELECT \(unescaped: PostgresRows.aliasColumns) FROM \(unescaped: s.aliases) WHERE model = \(name.rawValue) ORDER BY alias")
                .map(PostgresRows.alias)
        }
    }

    public func setAlias(_ alias: AliasName, of name: ModelName, to version: Int, actor: String, reason: String?) async throws -> Alias {
        let now = self.now
        return try await transaction("moving alias \(alias) of \(name)") { [self] connection in
            try await lockRegistry(name, on: connection)
            guard let v = try await fetchVersion(name, version, on: connection) else { throw TrainyardError.notFound("version \(name):\(version)") }
            try RegistryRules.checkAliasable(name, version: version, status: v.status)
            return try await setAliasRow(model: name, alias: alias, version: version, actor: actor, reason: reason, now: now, on: connection)
        }
    }

    public func deleteAlias(_ alias: AliasName, of name: ModelName, actor: String) async throws {
        let now = self.now
        let s = schema
        try await transaction("deleting alias \(alias) of \(name)") { [self] connection in
            try await lockRegistry(name, on: connection)
            let deleted = try await connection.query("""
                WITH deleted AS (
                    DELETE FROM \(unescaped: s.aliases) WHERE model = \(name.rawValue) AND alias = \(alias.rawValue) RETURNING model, alias, version
                )
                INSERT INTO \(unescaped: s.aliasEvents) (model, alias, from_version, to_version, actor, at, reason)
                SELECT model, alias, version, NULL, \(actor.postgresText), \(now), \(RegistryRules.aliasDeletedReason) FROM deleted
                RETURNING id
                """, logger: queryLogger).collect()
            guard !deleted.isEmpty else { throw TrainyardError.notFound("alias \(alias) of model \(name)") }
        }
    }

    public func aliasEvents(of name: ModelName) async throws -> [AliasEvent] {
        let s = schema
        return try await reading("reading the alias history of \(name)") { [self] in
            try await rows("""
                SELECT model, alias, from_version, to_version, actor, at, reason FROM \(unescaped: s.aliasEvents)
                WHERE model = \(name.rawValue) ORDER BY id
                """).map { row in
                let (model, alias, from, to, actor, at, reason) = try row.decode((String, String, Int?, Int?, String, Double, String?).self)
                return AliasEvent(model: try ModelName(model), alias: try AliasName(alias), fromVersion: from, toVersion: to, actor: actor,
                                  at: Date(timeIntervalSince1970: at), reason: reason)
            }
        }
    }

    func refuseIfAliased(_ name: ModelName, _ version: Int, change: RegistryRules.GuardedChange, on connection: PostgresConnection) async throws {
        let aliases = try await connection.query("""
            SELECT alias FROM \(unescaped: schema.aliases) WHERE model = \(name.rawValue) AND version = \(version) ORDER BY alias
            """, logger: queryLogger).collect().map { try $0.decode(String.self) }
        try RegistryRules.refuseIfAliased(name, version: version, aliases: aliases, change: change)
    }

    public func setStatus(_ status: VersionStatus, of name: ModelName, version: Int) async throws -> ModelVersion {
        let s = schema
        return try await transaction("changing the status of \(name):\(version)") { [self] connection in
            try await lockRegistry(name, on: connection)
            guard try await fetchVersion(name, version, on: connection) != nil else { throw TrainyardError.notFound("version \(name):\(version)") }
            if status == .archived { try await refuseIfAliased(name, version, change: .archive, on: connection) }
            try await connection.query("""
                UPDATE \(unescaped: s.versions) SET status = \(status.rawValue) WHERE model = \(name.rawValue) AND version = \(version)
                """, logger: queryLogger)
            return try await fetchVersion(name, version, on: connection)!
        }
    }

    public func deleteVersion(_ name: ModelName, version: Int) async throws {
        let s = schema
        try await transaction("deleting version \(name):\(version)") { [self] connection in
            try await lockRegistry(name, on: connection)
            guard try await fetchVersion(name, version, on: connection) != nil else { throw TrainyardError.notFound("version \(name):\(version)") }
            try await refuseIfAliased(name, version, change: .delete, on: connection)
            try await connection.query("DELETE FROM \(unescaped: s.versions) WHERE model = \(name.rawValue) AND version = \(version)", logger: queryLogger)
        }
    }

    public func setTags(_ tags: [String: String], of name: ModelName, version: Int) async throws -> ModelVersion {
        let text = try JSON.encodeString(tags)
        let s = schema
        return try await writing("tagging \(name):\(version)") { [self] in
            let updated = try await rows("""
                UPDATE \(unescaped: s.versions) SET tags = \(text) WHERE model = \(name.rawValue) AND version = \(version) RETURNING version
                """)
            guard !updated.isEmpty, let version = try await fetchVersion(name, version, on: nil) else {
                throw TrainyardError.notFound("version \(name):\(version)")
            }
            return version
        }
    }
}
