import Foundation

/// Trains one task. The runtime picks the trainer by `spec.task`, hands it local copies of the
/// data channels, a place to write artifacts and a progress reporter, and registers what it
/// returns. Trainers know nothing about queues, leases or storage.
public protocol Trainer: Sendable {
    /// Task-specific checks at submit time (hyper-parameters, algorithm), so a bad spec is
    /// rejected before anything is enqueued. Errors name the key path (and line via `spec`).
    func validate(_ spec: ParsedSpec) throws(TrainyardError)

    /// Checks the data files themselves at submit time where they are at hand (a CSV's header
    /// has the target column, say). `inputs` maps spec keys (`data.train`) to local files.
    func validateData(_ spec: ParsedSpec, inputs: [String: URL]) throws(TrainyardError)

    /// Trains. Throw `TrainingFailure` for a failure with a reason; `CancellationError` (or
    /// stop early when `run.progress.isCancelled`) when asked to stop.
    func train(_ run: TrainingRun) async throws -> TrainingOutput

    /// The metrics of an already registered `version` on `data` (a file in the format this task
    /// trains on, or the `TrainingOutput.heldOut` file), so that promotion can compare the
    /// alias's current version with a new one on the new one's validation rows. nil when the
    /// trainer cannot score a version (the default). `spec` is the new job's (its data format
    /// settings apply to `data`).
    func score(_ version: ModelVersion, data: URL, spec: Spec, artifacts: any ArtifactStore) async throws -> VersionScore?
}

extension Trainer {
    public func validateData(_ spec: ParsedSpec, inputs: [String: URL]) throws(TrainyardError) {}
    public func score(_ version: ModelVersion, data: URL, spec: Spec, artifacts: any ArtifactStore) async throws -> VersionScore? { nil }
}

/// A registered version's metrics on some labelled data, and how many rows they cover.
public struct VersionScore: Sendable, Equatable {
    public var metrics: [String: Double]
    public var rows: Int
    public init(metrics: [String: Double], rows: Int) { self.metrics = metrics; self.rows = rows }
}

/// Everything a trainer gets for one attempt.
public struct TrainingRun: Sendable {
    public var jobID: JobID
    public var attempt: Int
    public var spec: Spec
    /// Data channels (`train`, `validation`) downloaded to local files.
    public var inputs: [String: URL]
    /// The staged code folder (`task: command`), materialised locally.
    public var codeDirectory: URL?
    /// A scratch folder owned by this attempt (not yet created: create it if you need it);
    /// artifacts may be written here. It is removed when the attempt ends.
    public var workDirectory: URL
    public var warmStart: WarmStart?
    public var progress: any ProgressReporter

    public init(jobID: JobID, attempt: Int, spec: Spec, inputs: [String: URL], codeDirectory: URL?, workDirectory: URL,
                warmStart: WarmStart?, progress: any ProgressReporter) {
        self.jobID = jobID
        self.attempt = attempt
        self.spec = spec
        self.inputs = inputs
        self.codeDirectory = codeDirectory
        self.workDirectory = workDirectory
        self.warmStart = warmStart
        self.progress = progress
    }
}

/// The version a run continues from, with its artifacts downloaded into `directory`.
public struct WarmStart: Sendable {
    public var version: Int
    public var manifest: Manifest
    public var directory: URL
    public init(version: Int, manifest: Manifest, directory: URL) { self.version = version; self.manifest = manifest; self.directory = directory }

    /// A downloaded artifact of the parent version, if it has one by that name.
    public func file(_ name: String) -> URL? {
        manifest.artifact(named: name) == nil ? nil : directory.appendingPathComponent(name)
    }
}

/// What a successful training attempt produced.
public struct TrainingOutput: Sendable {
    public var algorithm: String?
    /// Artifact name (`model.bin`, `checkpoint.bin`, a file of the model dir) → local file.
    public var artifacts: [String: URL]
    public var metrics: [String: Double]
    public var history: [MetricPoint]
    public var params: [String: JSONValue]
    public var inputSchema: JSONValue?
    public var outputSchema: JSONValue?
    /// The validation rows the learner held out of the training data (`data.validation` a
    /// fraction), written to a file in the attempt's folder: `metrics` were measured on them,
    /// and promotion scores the alias's current version on exactly them. Not an artifact.
    public var heldOut: HeldOutData?

    public init(algorithm: String?, artifacts: [String: URL], metrics: [String: Double], history: [MetricPoint] = [],
                params: [String: JSONValue] = [:], inputSchema: JSONValue? = nil, outputSchema: JSONValue? = nil,
                heldOut: HeldOutData? = nil) {
        self.algorithm = algorithm
        self.artifacts = artifacts
        self.metrics = metrics
        self.history = history
        self.params = params
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.heldOut = heldOut
    }
}

/// Validation rows a trainer held out of its training data, as a file its `score` reads.
public struct HeldOutData: Sendable, Equatable {
    public var file: URL
    /// How many rows (texts, sentences) the file holds.
    public var rows: Int
    /// The file's `data.format` when it differs from the training data's (text held out of a
    /// TSV is written as `jsonl`); nil: the spec's own format settings read it.
    public var format: String?

    public init(file: URL, rows: Int, format: String? = nil) {
        self.file = file
        self.rows = rows
        self.format = format
    }
}

/// A training attempt that failed for a stated reason.
public struct TrainingFailure: Error, Sendable, CustomStringConvertible {
    public var reason: String
    /// False when retrying cannot help (bad data, bad parameters).
    public var retryable: Bool
    public init(_ reason: String, retryable: Bool = true) { self.reason = reason; self.retryable = retryable }
    public var description: String { reason }
}

/// How a trainer reports progress and learns it should stop. Cheap and thread-safe: it may be
/// called from a training thread after every epoch.
public protocol ProgressReporter: Sendable {
    func report(_ progress: JobProgress)
    func log(_ line: String)
    /// Cancellation was requested or the timeout passed: stop at the next check.
    var isCancelled: Bool { get }
}
