import Foundation

/// Everything known about a version, written as `manifest.json` beside its artifacts and kept
/// in the registry row. Immutable once registered.
public struct Manifest: Sendable, Codable, Equatable {
    public static let currentFormat = 1

    public var format: Int
    public var model: ModelName
    public var version: Int
    public var task: TaskKind
    public var algorithm: String?
    /// The learner's description of its input (columns and types, or text), for validation.
    public var inputSchema: JSONValue?
    public var outputSchema: JSONValue?
    public var params: [String: JSONValue]
    public var metrics: [String: Double]
    /// Per-epoch / per-round metrics, in order.
    public var history: [MetricPoint]
    public var lineage: Lineage
    public var artifacts: [ArtifactEntry]
    /// `task: command` models: how to serve them.
    public var serve: [String]?
    public var tags: [String: String]

    public init(model: ModelName, version: Int, task: TaskKind, algorithm: String?, inputSchema: JSONValue? = nil,
                outputSchema: JSONValue? = nil, params: [String: JSONValue] = [:], metrics: [String: Double] = [:],
                history: [MetricPoint] = [], lineage: Lineage, artifacts: [ArtifactEntry] = [], serve: [String]? = nil,
                tags: [String: String] = [:]) {
        self.format = Self.currentFormat
        self.model = model
        self.version = version
        self.task = task
        self.algorithm = algorithm
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.params = params
        self.metrics = metrics
        self.history = history
        self.lineage = lineage
        self.artifacts = artifacts
        self.serve = serve
        self.tags = tags
    }

    enum CodingKeys: String, CodingKey {
        case format, model, version, task, algorithm, params, metrics, history, lineage, artifacts, serve, tags
        case inputSchema = "input_schema"
        case outputSchema = "output_schema"
    }

    public func artifact(named name: String) -> ArtifactEntry? { artifacts.first { $0.name == name } }
}

/// One metric observation in a training run's history.
public struct MetricPoint: Sendable, Codable, Equatable {
    public var step: Int
    public var metrics: [String: Double]
    public init(step: Int, metrics: [String: Double]) { self.step = step; self.metrics = metrics }
}

/// Where a version came from.
public struct Lineage: Sendable, Codable, Equatable {
    public var jobID: JobID
    public var attempt: Int
    public var data: [DataDigest]
    /// sha256 of the staged code folder (`task: command`).
    public var code: DataDigest?
    public var parentVersion: Int?
    public var createdAt: Date
    public var worker: String?

    public init(jobID: JobID, attempt: Int, data: [DataDigest], code: DataDigest? = nil, parentVersion: Int? = nil,
                createdAt: Date, worker: String? = nil) {
        self.jobID = jobID
        self.attempt = attempt
        self.data = data
        self.code = code
        self.parentVersion = parentVersion
        self.createdAt = createdAt
        self.worker = worker
    }

    enum CodingKeys: String, CodingKey {
        case attempt, data, code, worker
        case jobID = "job_id"
        case parentVersion = "parent_version"
        case createdAt = "created_at"
    }
}

/// The exact bytes behind a data channel.
public struct DataDigest: Sendable, Codable, Equatable {
    /// Which spec key (`data.train`) or channel.
    public var key: String
    /// Where the user said it was (the original path or URI).
    public var source: String
    /// Of the bytes read; empty in a queued job's spec for data named by URI (`s3://`), which
    /// is pinned by `etag` at submit and hashed by the worker that downloads it (the version's
    /// lineage has both).
    public var sha256: String
    public var bytes: Int64
    /// The object's ETag when the data is an object named by URI (`s3://bucket/key`): the
    /// version of it the job was accepted for. Nil for staged files.
    public var etag: String?

    public init(key: String, source: String, sha256: String, bytes: Int64, etag: String? = nil) {
        self.key = key
        self.source = source
        self.sha256 = sha256
        self.bytes = bytes
        self.etag = etag
    }
}

/// One file of a version, with its digest (checked on load: a corrupt artifact is never served).
public struct ArtifactEntry: Sendable, Codable, Equatable {
    public var name: String
    public var sha256: String
    public var bytes: Int64
    public init(name: String, sha256: String, bytes: Int64) { self.name = name; self.sha256 = sha256; self.bytes = bytes }
}
