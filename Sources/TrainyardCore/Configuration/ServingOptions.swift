import Configuration
import Foundation

/// Tunables of the model server, all defaulted: the `serving` section of `TrainyardConfiguration`.
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
    /// Local read-through cache of model artifacts; nil: none. The application builder
    /// (`TrainyardApp`) puts it in front of the model server's artifact store, and sets
    /// `{data_dir}/cache` when it is unset and the artifact store is remote (a local folder has
    /// nothing to download).
    public var cacheDirectory: URL?
    /// The cache keeps at most this many bytes (least recently used files go first).
    public var cacheMaxBytes: Int64
    /// How long a `/metrics` scrape waits for the store's queue counts: well inside
    /// Prometheus's default scrape timeout (10 s), so an unreachable store costs the scrape its
    /// job series (and `trainyard_metadata_store_up 0`), not the scrape.
    public var metricsStoreTimeout: Duration

    public init(memoryBudgetBytes: Int64 = 2 << 30, aliasPollInterval: Duration = .milliseconds(500), requestTimeout: Duration = .seconds(30),
                defaultModel: String? = nil, textModel: String = "sentiment", nerModel: String = "ner-wikigold", preload: [String] = [],
                maxBatchRows: Int = 64, maxBatchWait: Duration = .zero, command: CommandOptions = CommandOptions(),
                cacheDirectory: URL? = nil, cacheMaxBytes: Int64 = 10 << 30, metricsStoreTimeout: Duration = .seconds(3)) {
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
        self.metricsStoreTimeout = metricsStoreTimeout
    }

    /// `serving.*` (environment `TRAINYARD_SERVING_*`): `default_model`, `text_model`,
    /// `ner_model`, `preload` (a list; comma-separated in the environment), `memory_budget_mb`,
    /// `max_batch` (rows), `max_batch_wait_us`, `timeout_s`, `alias_poll_ms`, `cache_dir`,
    /// `cache_mb`, `metrics_store_timeout_ms`. Unset or empty ones keep their defaults; a value
    /// out of range is an error naming its key.
    static func load(_ config: ConfigReader) throws(TrainyardError) -> ServingOptions {
        var o = ServingOptions()
        func text(_ key: String) -> String? {
            config.string(forKey: ConfigKey(["serving", key])).flatMap { $0.isEmpty ? nil : $0 }
        }
        func number<Value: Comparable>(_ key: String, _ read: (ConfigKey) -> Value?, atLeast minimum: Value, _ unit: String) throws(TrainyardError) -> Value? {
            guard let value = read(ConfigKey(["serving", key])) else { return nil }
            guard value >= minimum else {
                throw TrainyardError(.invalidArgument, "serving.\(key) must be \(unit); got \(value)")
            }
            return value
        }
        let int = { (key: ConfigKey) in config.int(forKey: key) }
        if let v = text("default_model") { o.defaultModel = v }
        if let v = text("text_model") { o.textModel = v }
        if let v = text("ner_model") { o.nerModel = v }
        let preload = config.stringArray(forKey: "serving.preload", default: [])
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !preload.isEmpty { o.preload = preload }
        if let v = try number("memory_budget_mb", int, atLeast: 1, "a positive number of MiB") { o.memoryBudgetBytes = Int64(v) << 20 }
        if let v = try number("max_batch", int, atLeast: 1, "at least 1 row") { o.maxBatchRows = v }
        if let v = try number("max_batch_wait_us", int, atLeast: 0, "zero or more microseconds") { o.maxBatchWait = .microseconds(v) }
        if let v = try number("timeout_s", { config.double(forKey: $0) }, atLeast: 0.001, "a positive number of seconds") {
            o.requestTimeout = .milliseconds(Int(v * 1000))
        }
        if let v = try number("alias_poll_ms", int, atLeast: 1, "a positive number of milliseconds") { o.aliasPollInterval = .milliseconds(v) }
        if let v = text("cache_dir") { o.cacheDirectory = URL(fileURLWithPath: v) }
        if let v = try number("cache_mb", int, atLeast: 1, "a positive number of MiB") { o.cacheMaxBytes = Int64(v) << 20 }
        if let v = try number("metrics_store_timeout_ms", int, atLeast: 1, "a positive number of milliseconds") {
            o.metricsStoreTimeout = .milliseconds(v)
        }
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
