import Foundation

/// A registered, immutable version of a model.
public struct ModelVersion: Sendable, Codable, Equatable {
    public var model: ModelName
    public var version: Int
    public var status: VersionStatus
    public var createdAt: Date
    public var jobID: JobID?
    public var manifest: Manifest
    /// Aliases pointing here (filled when read).
    public var aliases: [AliasName]
    public var tags: [String: String]
    /// What `promote:` decided when this version was registered; nil when its spec had no
    /// `promote` (or it was registered or imported by hand).
    public var promotion: PromotionRecord?

    public init(model: ModelName, version: Int, status: VersionStatus, createdAt: Date, jobID: JobID?, manifest: Manifest,
                aliases: [AliasName] = [], tags: [String: String] = [:], promotion: PromotionRecord? = nil) {
        self.model = model
        self.version = version
        self.status = status
        self.createdAt = createdAt
        self.jobID = jobID
        self.manifest = manifest
        self.aliases = aliases
        self.tags = tags
        self.promotion = promotion
    }

    public var metrics: [String: Double] { manifest.metrics }

    enum CodingKeys: String, CodingKey {
        case model, version, status, manifest, aliases, tags, promotion
        case createdAt = "created_at"
        case jobID = "job_id"
    }
}

public enum VersionStatus: String, Sendable, Codable {
    case ready
    case archived
}

/// A model and its latest state.
public struct ModelSummary: Sendable, Codable, Equatable {
    public var name: ModelName
    public var createdAt: Date
    public var latestVersion: Int?
    public var versionCount: Int
    public var aliases: [String: Int]
    public var task: TaskKind?

    public init(name: ModelName, createdAt: Date, latestVersion: Int?, versionCount: Int, aliases: [String: Int], task: TaskKind?) {
        self.name = name
        self.createdAt = createdAt
        self.latestVersion = latestVersion
        self.versionCount = versionCount
        self.aliases = aliases
        self.task = task
    }

    enum CodingKeys: String, CodingKey {
        case name, aliases, task
        case createdAt = "created_at"
        case latestVersion = "latest_version"
        case versionCount = "version_count"
    }
}

/// An alias and the version it points at.
public struct Alias: Sendable, Codable, Equatable {
    public var model: ModelName
    public var alias: AliasName
    public var version: Int
    public var updatedAt: Date
    public var updatedBy: String

    public init(model: ModelName, alias: AliasName, version: Int, updatedAt: Date, updatedBy: String) {
        self.model = model
        self.alias = alias
        self.version = version
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }

    enum CodingKeys: String, CodingKey {
        case model, alias, version
        case updatedAt = "updated_at"
        case updatedBy = "updated_by"
    }
}

/// The audit trail of alias moves: who moved what, from where to where, when.
public struct AliasEvent: Sendable, Codable, Equatable {
    public var model: ModelName
    public var alias: AliasName
    /// nil when the alias was created.
    public var fromVersion: Int?
    /// nil when the alias was deleted.
    public var toVersion: Int?
    public var actor: String
    public var at: Date
    public var reason: String?

    public init(model: ModelName, alias: AliasName, fromVersion: Int?, toVersion: Int?, actor: String, at: Date, reason: String?) {
        self.model = model
        self.alias = alias
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.actor = actor
        self.at = at
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case model, alias, actor, at, reason
        case fromVersion = "from_version"
        case toVersion = "to_version"
    }
}

/// What a successful job registers, committed atomically with the job's success.
public struct VersionRegistration: Sendable {
    /// The manifest; its `version` must be the number `reserveVersion` returned.
    public var manifest: Manifest
    /// Move this alias to the new version if its metric beats the current one (or the alias is unset).
    public var promote: Promotion?
    /// The alias's current version scored on the new version's validation rows (its
    /// validation file or the rows its learner held out). When it is still the version the
    /// alias points at, promotion compares the two on those same rows instead of with the
    /// incumbent's own (differently computed) stored metric.
    public var incumbent: IncumbentScore?

    public init(manifest: Manifest, promote: Promotion?, incumbent: IncumbentScore? = nil) {
        self.manifest = manifest
        self.promote = promote
        self.incumbent = incumbent
    }
}

/// A registered version's metric measured on another job's validation rows (for promotion).
public struct IncumbentScore: Sendable, Equatable {
    public var version: Int
    public var metric: String
    public var value: Double
    /// Which rows: the new job's validation file or the rows its learner held out.
    public var comparedOn: PromotionComparison
    /// How many rows it was scored on, when known.
    public var rows: Int?

    public init(version: Int, metric: String, value: Double, comparedOn: PromotionComparison = .validationFile, rows: Int? = nil) {
        self.version = version
        self.metric = metric
        self.value = value
        self.comparedOn = comparedOn
        self.rows = rows
    }
}

/// The result of a fenced completion.
public struct CompletionOutcome: Sendable, Equatable {
    public var job: Job
    public var version: Int?
    /// Whether the promotion alias was moved to the new version.
    public var promoted: Bool
    /// The decision, as kept with the version (nil without `promote`).
    public var promotion: PromotionRecord?
    /// The decision's sentence for the job's log (`promotion.reason`).
    public var promotionNote: String? { promotion?.reason }

    public init(job: Job, version: Int?, promotion: PromotionRecord?) {
        self.job = job
        self.version = version
        self.promoted = promotion?.promoted ?? false
        self.promotion = promotion
    }
}
