import Foundation
import TrainyardCore

/// Tunables of the model server, all defaulted.
public struct ServingOptions: Sendable {
    /// Resident model versions are evicted least-recently-used beyond this many artifact bytes
    /// (the version just loaded always stays).
    public var memoryBudgetBytes: Int64
    /// How often the alias table is polled, so a move made by another process is seen (≤ 2 s).
    public var aliasPollInterval: Duration
    /// Per-request deadline (waiting for a load, a bring-your-own call): 504 after it.
    public var requestTimeout: Duration
    /// The model `/invocations` and `/ping` serve (a reference: `name`, `name@alias`, `name:N`).
    /// nil: the only registered model, if there is exactly one.
    public var defaultModel: String?
    /// The model behind `POST /predict {"text"}`.
    public var textModel: String
    /// The model behind `POST /ner`.
    public var nerModel: String
    /// Models loaded at start; `/readyz` answers 503 until they are.
    public var preload: [String]
    /// Micro-batching: at most this many rows per model call.
    public var maxBatchRows: Int
    /// Micro-batching: how long a drain may wait for a batch to fill (zero = adaptive only).
    public var maxBatchWait: Duration
    /// Bring-your-own serve processes.
    public var command: CommandOptions
    /// Local read-through cache of model artifacts. nil: none when the artifact store is a local
    /// folder (nothing to download), else `{data_dir}/cache`.
    public var cacheDirectory: URL?
    /// The cache keeps at most this many bytes (least recently used files go first).
    public var cacheMaxBytes: Int64

    public init(memoryBudgetBytes: Int64 = 2 << 30, aliasPollInterval: Duration = .milliseconds(500), requestTimeout: Duration = .seconds(30),
                defaultModel: String? = nil, textModel: String = "sentiment", nerModel: String = "ner-wikigold", preload: [String] = [],
                maxBatchRows: Int = 64, maxBatchWait: Duration = .zero, command: CommandOptions = CommandOptions(),
                cacheDirectory: URL? = nil, cacheMaxBytes: Int64 = 10 << 30) {
        self.memoryBudgetBytes = memoryBudgetBytes
        self.aliasPollInterval = aliasPollInterval
        self.requestTimeout = requestTimeout
        self.defaultModel = defaultModel
        self.textModel = textModel
        self.nerModel = nerModel
        self.preload = preload
        self.maxBatchRows = maxBatchRows
        self.maxBatchWait = maxBatchWait
        self.command = command
        self.cacheDirectory = cacheDirectory
        self.cacheMaxBytes = cacheMaxBytes
    }

    /// Options from `TRAINYARD_SERVING_*` environment variables (unset ones keep their defaults):
    /// `DEFAULT_MODEL`, `TEXT_MODEL`, `NER_MODEL`, `PRELOAD` (comma-separated), `MEMORY_BUDGET_MB`,
    /// `MAX_BATCH` (rows), `MAX_BATCH_WAIT_US`, `TIMEOUT_S`, `ALIAS_POLL_MS`, `CACHE_DIR`, `CACHE_MB`.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> ServingOptions {
        var o = ServingOptions()
        func value(_ key: String) -> String? { env["TRAINYARD_SERVING_\(key)"].flatMap { $0.isEmpty ? nil : $0 } }
        if let v = value("DEFAULT_MODEL") { o.defaultModel = v }
        if let v = value("TEXT_MODEL") { o.textModel = v }
        if let v = value("NER_MODEL") { o.nerModel = v }
        if let v = value("PRELOAD") { o.preload = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let v = value("MEMORY_BUDGET_MB").flatMap(Int64.init), v > 0 { o.memoryBudgetBytes = v << 20 }
        if let v = value("MAX_BATCH").flatMap(Int.init), v >= 1 { o.maxBatchRows = v }
        if let v = value("MAX_BATCH_WAIT_US").flatMap(Int.init), v >= 0 { o.maxBatchWait = .microseconds(v) }
        if let v = value("TIMEOUT_S").flatMap(Double.init), v > 0 { o.requestTimeout = .milliseconds(Int(v * 1000)) }
        if let v = value("ALIAS_POLL_MS").flatMap(Int.init), v > 0 { o.aliasPollInterval = .milliseconds(v) }
        if let v = value("CACHE_DIR") { o.cacheDirectory = URL(fileURLWithPath: v) }
        if let v = value("CACHE_MB").flatMap(Int64.init), v > 0 { o.cacheMaxBytes = v << 20 }
        return o
    }
}

/// How bring-your-own serve processes are run.
public struct CommandOptions: Sendable {
    /// How long a serve process may take to answer `GET /ping` with 200.
    public var startTimeout: Duration
    /// Concurrent requests forwarded to one serve process; more wait.
    public var maxConcurrency: Int
    /// First restart delay after a crash; doubles up to `maxRestartDelay`.
    public var restartDelay: Duration
    public var maxRestartDelay: Duration
    /// SIGTERM → SIGKILL grace when stopping.
    public var terminationGrace: Duration
    /// Where versions are unpacked to run (default: a folder under the system temporary directory).
    public var workDirectory: URL?

    public init(startTimeout: Duration = .seconds(60), maxConcurrency: Int = 16, restartDelay: Duration = .milliseconds(250),
                maxRestartDelay: Duration = .seconds(30), terminationGrace: Duration = .seconds(5), workDirectory: URL? = nil) {
        self.startTimeout = startTimeout
        self.maxConcurrency = maxConcurrency
        self.restartDelay = restartDelay
        self.maxRestartDelay = maxRestartDelay
        self.terminationGrace = terminationGrace
        self.workDirectory = workDirectory
    }
}
