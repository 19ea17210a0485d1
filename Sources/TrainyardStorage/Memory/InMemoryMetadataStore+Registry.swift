import Foundation
import TrainyardCore

extension InMemoryMetadataStore {
    public func reserveVersion(_ lease: LeaseToken) async throws -> Int {
        let now = clock.now()
        try checkLease(lease, now: now)
        let index = Int(lease.jobID - 1)
        if let reserved = jobRows[index].reservedVersion { return reserved }
        let job = jobRows[index].job
        var model = modelRows[job.model] ?? ModelRow(createdAt: now, nextVersion: 1, task: job.spec.task)
        let number = model.nextVersion
        model.nextVersion += 1
        model.task = job.spec.task
        modelRows[job.model] = model
        jobRows[index].reservedVersion = number
        return number
    }

    /// Succeeds the job (registering its version, if any). Every refusal (a lost lease, an
    /// unreserved number) comes before the first write, so a refused completion changes nothing.
    public func complete(_ lease: LeaseToken, registration: VersionRegistration?, finalLog: [String]) async throws -> CompletionOutcome {
        let now = clock.now()
        try checkLease(lease, now: now)
        let row = try jobRow(lease.jobID)
        var decision: (policy: PromotionPolicy, decision: PromotionPolicy.Decision)?
        if let registration {
            let manifest = registration.manifest
            guard row.reservedVersion == manifest.version else {
                throw TrainyardError(.conflict, "job \(lease.jobID): manifest version \(manifest.version) was not reserved (reserved: \(row.reservedVersion.map(String.init) ?? "none"))")
            }
            guard versionRows[manifest.model]?[manifest.version] == nil else {
                throw TrainyardError.conflict("version \(manifest.model):\(manifest.version) is already registered")
            }
            if let promotion = registration.promote {
                let policy = PromotionPolicy(promotion)
                decision = (policy, policy.decide(newMetrics: manifest.metrics, incumbent: incumbent(of: manifest.model, alias: promotion.alias),
                                                  sameDataScore: registration.incumbent))
            }
        }

        // Nothing below can be refused: the lease was checked at this same instant.
        insertLog(lease.jobID, finalLog, now: now)
        let promotion = decision.map { $0.policy.record($0.decision) }
        var version: Int?
        if let manifest = registration?.manifest {
            versionRows[manifest.model, default: [:]][manifest.version] =
                VersionRow(status: .ready, createdAt: now, jobID: lease.jobID, manifest: manifest, tags: manifest.tags,
                           promotion: promotion)
            version = manifest.version
            if let (policy, decision) = decision, decision.promote {
                setAliasRow(model: manifest.model, alias: policy.promotion.alias, version: manifest.version,
                            actor: PromotionPolicy.actor(jobID: lease.jobID), reason: policy.auditReason(decision), now: now)
            }
        }
        let job = try transition(lease.jobID, .complete(token: lease.token, now: now, version: version), now: now)
        onChange()
        return CompletionOutcome(job: job, version: version, promotion: promotion)
    }

    /// What `alias` points at now, with its stored metrics; nil when the alias is unset.
    func incumbent(of model: ModelName, alias: AliasName) -> PromotionPolicy.Incumbent? {
        guard let number = aliasRows[model]?[alias]?.version, let row = versionRows[model]?[number] else { return nil }
        return PromotionPolicy.Incumbent(version: number, storedMetrics: row.manifest.metrics)
    }

    /// Creates or moves an alias and writes the move to the audit trail.
    func setAliasRow(model: ModelName, alias: AliasName, version: Int, actor: String, reason: String?, now: Date) {
        let previous = aliasRows[model]?[alias]?.version
        aliasRows[model, default: [:]][alias] = Alias(model: model, alias: alias, version: version, updatedAt: now, updatedBy: actor)
        aliasEventRows.append(AliasEvent(model: model, alias: alias, fromVersion: previous, toVersion: version, actor: actor, at: now, reason: reason))
    }

    public func models() async throws -> [ModelSummary] {
        modelRows.keys.sorted().compactMap(summary)
    }

    public func model(_ name: ModelName) async throws -> ModelSummary? {
        summary(name)
    }

    func summary(_ name: ModelName) -> ModelSummary? {
        guard let row = modelRows[name] else { return nil }
        let versions = versionRows[name] ?? [:]
        var aliases: [String: Int] = [:]
        for (alias, target) in aliasRows[name] ?? [:] { aliases[alias.rawValue] = target.version }
        return ModelSummary(name: name, createdAt: row.createdAt, latestVersion: versions.keys.max(), versionCount: versions.count,
                            aliases: aliases, task: row.task)
    }

    public func versions(of name: ModelName) async throws -> [ModelVersion] {
        let aliases = aliasMap(name)
        return (versionRows[name] ?? [:]).sorted { $0.key > $1.key }.map { modelVersion(name, $0.key, $0.value, aliases: aliases[$0.key] ?? []) }
    }

    public func version(_ name: ModelName, _ number: Int) async throws -> ModelVersion? {
        fetchVersion(name, number)
    }

    func fetchVersion(_ name: ModelName, _ number: Int) -> ModelVersion? {
        guard let row = versionRows[name]?[number] else { return nil }
        return modelVersion(name, number, row, aliases: aliasMap(name)[number] ?? [])
    }

    func modelVersion(_ name: ModelName, _ number: Int, _ row: VersionRow, aliases: [AliasName]) -> ModelVersion {
        ModelVersion(model: name, version: number, status: row.status, createdAt: row.createdAt, jobID: row.jobID, manifest: row.manifest,
                     aliases: aliases, tags: row.tags, promotion: row.promotion)
    }

    /// The aliases pointing at each version of `name`, sorted by alias name.
    func aliasMap(_ name: ModelName) -> [Int: [AliasName]] {
        var map: [Int: [AliasName]] = [:]
        for (alias, target) in (aliasRows[name] ?? [:]).sorted(by: { $0.key < $1.key }) { map[target.version, default: []].append(alias) }
        return map
    }

    public func resolve(_ reference: ModelReference) async throws -> ModelVersion {
        let name = reference.name
        let number: Int?
        switch reference.selector {
        case .version(let v):
            number = v
        case .alias(let alias):
            number = aliasRows[name]?[alias]?.version
            if number == nil {
                guard modelRows[name] != nil else { throw TrainyardError.notFound("model \(name)") }
                throw TrainyardError.notFound("alias \(alias) of model \(name)")
            }
        case .default:
            number = RegistryRules.defaultVersion(
                defaultAliasTarget: aliasRows[name]?[ModelReference.defaultAlias]?.version,
                latestReady: { (versionRows[name] ?? [:]).filter { $0.value.status == .ready }.keys.max() })
        }
        guard let number, let version = fetchVersion(name, number) else {
            if modelRows[name] == nil { throw TrainyardError.notFound("model \(name)") }
            throw TrainyardError.notFound("version \(reference) (no ready version matches)")
        }
        return version
    }

    public func aliases(of name: ModelName) async throws -> [Alias] {
        (aliasRows[name] ?? [:]).sorted { $0.key < $1.key }.map(\.value)
    }

    public func setAlias(_ alias: AliasName, of name: ModelName, to version: Int, actor: String, reason: String?) async throws -> Alias {
        guard let row = versionRows[name]?[version] else { throw TrainyardError.notFound("version \(name):\(version)") }
        try RegistryRules.checkAliasable(name, version: version, status: row.status)
        setAliasRow(model: name, alias: alias, version: version, actor: actor, reason: reason, now: clock.now())
        return aliasRows[name]![alias]!
    }

    public func deleteAlias(_ alias: AliasName, of name: ModelName, actor: String) async throws {
        guard let previous = aliasRows[name]?[alias]?.version else { throw TrainyardError.notFound("alias \(alias) of model \(name)") }
        aliasRows[name]?[alias] = nil
        aliasEventRows.append(AliasEvent(model: name, alias: alias, fromVersion: previous, toVersion: nil, actor: actor, at: clock.now(),
                                         reason: RegistryRules.aliasDeletedReason))
    }

    public func aliasEvents(of name: ModelName) async throws -> [AliasEvent] {
        aliasEventRows.filter { $0.model == name }
    }

    func refuseIfAliased(_ name: ModelName, _ version: Int, change: RegistryRules.GuardedChange) throws(TrainyardError) {
        let aliases = (aliasRows[name] ?? [:]).filter { $0.value.version == version }.map(\.key.rawValue)
        try RegistryRules.refuseIfAliased(name, version: version, aliases: aliases, change: change)
    }

    public func setStatus(_ status: VersionStatus, of name: ModelName, version: Int) async throws -> ModelVersion {
        guard versionRows[name]?[version] != nil else { throw TrainyardError.notFound("version \(name):\(version)") }
        if status == .archived { try refuseIfAliased(name, version, change: .archive) }
        versionRows[name]![version]!.status = status
        return fetchVersion(name, version)!
    }

    public func deleteVersion(_ name: ModelName, version: Int) async throws {
        guard versionRows[name]?[version] != nil else { throw TrainyardError.notFound("version \(name):\(version)") }
        try refuseIfAliased(name, version, change: .delete)
        versionRows[name]![version] = nil
    }

    public func setTags(_ tags: [String: String], of name: ModelName, version: Int) async throws -> ModelVersion {
        guard versionRows[name]?[version] != nil else { throw TrainyardError.notFound("version \(name):\(version)") }
        versionRows[name]![version]!.tags = tags
        return fetchVersion(name, version)!
    }
}
