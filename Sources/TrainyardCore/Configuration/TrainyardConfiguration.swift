import Configuration
import Foundation

/// Everything a Trainyard process is configured with.
///
/// Precedence, lowest to highest: built-in defaults < `trainyard.yaml` (in the working
/// directory, or `--config FILE`) < `TRAINYARD_*` environment variables < command-line flags.
/// Keys (YAML path / environment variable):
///
/// | key | env | default |
/// |---|---|---|
/// | `data_dir` | `TRAINYARD_DATA_DIR` | `./.trainyard` |
/// | `metadata` | `TRAINYARD_METADATA_URL` | `sqlite://{data_dir}/trainyard.sqlite`; or `postgres://user@host:5432/db` (see `MetadataBackend`) |
/// | `artifacts` | `TRAINYARD_ARTIFACTS_URL` | `file://{data_dir}/artifacts`; or `s3://bucket/prefix` (see `ArtifactBackend`) |
/// | `project` / `environment` | `TRAINYARD_PROJECT` / `TRAINYARD_ENVIRONMENT` | `default` / `dev` |
/// | `server.host` / `server.port` | `TRAINYARD_SERVER_HOST` / `_PORT` | `127.0.0.1` / `8080` |
/// | `server.max_body_bytes` | `TRAINYARD_SERVER_MAX_BODY_BYTES` | 64 MiB |
/// | `server.insecure` | `TRAINYARD_SERVER_INSECURE` | false |
/// | `server.cors_origins` | `TRAINYARD_SERVER_CORS_ORIGINS` | none (no CORS headers); origins, comma-separated, or `*` |
/// | `workers` | `TRAINYARD_WORKERS` | 2 |
/// | `queue.lease_seconds` | `TRAINYARD_QUEUE_LEASE_SECONDS` | 30 |
/// | `queue.max_running_train` | `TRAINYARD_QUEUE_MAX_RUNNING_TRAIN` | unlimited |
/// | `queue.max_running_transform` | … | unlimited |
/// | `auth.tokens` | `TRAINYARD_AUTH_TOKENS` | none; entries `name:secret:scope1+scope2`, comma-separated |
/// | `url` | `TRAINYARD_URL` | none: the server a CLI talks to |
/// | `server.data_roots` | `TRAINYARD_SERVER_DATA_ROOTS` | none; folders a spec submitted over HTTP may read and write (see `DataAccessPolicy`) |
/// | `limits.*` | `TRAINYARD_LIMITS_*` | see `ResourceLimits` (`spec_bytes`, `stage_bytes`, `stage_seconds`, `classes`, `features`, `train_memory_bytes`, `tensor_elements`, `header_seconds`, `body_seconds`, `idle_seconds`) |
/// | `runner.env_allow` / `runner.user` / `runner.restrict_writes` / `runner.writable` | `TRAINYARD_RUNNER_ENV_ALLOW` / `_USER` / `_RESTRICT_WRITES` / `_WRITABLE` | see `RunnerOptions` |
/// | `serving.*` | `TRAINYARD_SERVING_*` | see `ServingOptions.load` (`default_model`, `text_model`, `ner_model`, `preload`, `memory_budget_mb`, `max_batch`, `max_batch_wait_us`, `timeout_s`, `alias_poll_ms`, `cache_dir`, `cache_mb`, `metrics_store_timeout_ms`) |
/// | `transform.*` | `TRAINYARD_TRANSFORM_*` | see `TransformOptions.load` (`block_kb`, `part_mb`, `max_files`, `max_payload_mb`, `max_concurrent`, `max_record_kb`) |
/// | `triggers.*` | `TRAINYARD_TRIGGERS_*` | see `TriggerOptions.load` (`poll_ms`, `max_files`, `retry_max_s`, `max_keys_per_pass`) |
public struct TrainyardConfiguration: Sendable {
    /// The data folder: the default home of the metadata store and the artifacts, and always
    /// of the attempts' working folders (`work/`) and the serving cache (`cache/`).
    public var dataDirectory: URL
    /// The `metadata` URL when one was given; nil: SQLite under `dataDirectory` (see `metadataBackend`).
    public var metadata: MetadataBackend?
    /// The `artifacts` URL when one was given; nil: a folder under `dataDirectory` (see `artifactBackend`).
    public var artifacts: ArtifactBackend?
    public var namespace: Namespace
    public var serverHost: String
    public var serverPort: Int
    public var maxBodyBytes: Int
    public var insecure: Bool
    public var workers: Int
    public var leaseDuration: Duration
    public var maxRunning: [JobKind: Int]
    public var tokens: [AccessToken]
    public var serverURL: String?
    /// Browser origins allowed to call the server (CORS); `["*"]` for any. Empty: no CORS headers.
    public var corsOrigins: [String]
    /// Folders a spec, transform or watch submitted over HTTP may read from and write to, when
    /// the server has tokens or binds beyond loopback.
    public var dataRoots: [String]
    /// Sizes, counts and times external input may reach.
    public var limits: ResourceLimits
    /// How bring-your-own programs are started.
    public var runner: RunnerOptions
    /// The model server's settings (`serving.*`).
    public var serving: ServingOptions
    /// Batch transform's settings (`transform.*`).
    public var transform: TransformOptions
    /// The trigger service's settings (`triggers.*`).
    public var triggers = TriggerOptions()

    public init(dataDirectory: URL = URL(fileURLWithPath: ".trainyard"), namespace: Namespace = Namespace(),
                serverHost: String = "127.0.0.1", serverPort: Int = 8080, maxBodyBytes: Int = 64 << 20,
                insecure: Bool = false, workers: Int = 2, leaseDuration: Duration = .seconds(30),
                maxRunning: [JobKind: Int] = [:], tokens: [AccessToken] = [], serverURL: String? = nil,
                corsOrigins: [String] = [], dataRoots: [String] = [], limits: ResourceLimits = ResourceLimits(),
                runner: RunnerOptions = RunnerOptions(), metadata: MetadataBackend? = nil, artifacts: ArtifactBackend? = nil,
                serving: ServingOptions = ServingOptions(), transform: TransformOptions = TransformOptions()) {
        self.dataDirectory = dataDirectory
        self.metadata = metadata
        self.artifacts = artifacts
        self.serving = serving
        self.transform = transform
        self.namespace = namespace
        self.serverHost = serverHost
        self.serverPort = serverPort
        self.maxBodyBytes = maxBodyBytes
        self.insecure = insecure
        self.workers = workers
        self.leaseDuration = leaseDuration
        self.maxRunning = maxRunning
        self.tokens = tokens
        self.serverURL = serverURL
        self.corsOrigins = corsOrigins
        self.dataRoots = dataRoots
        self.limits = limits
        self.runner = runner
    }

    /// Values given on the command line (nil = not given).
    public struct Overrides: Sendable {
        public var dataDirectory: String?
        public var serverHost: String?
        public var serverPort: Int?
        public var workers: Int?
        public var insecure: Bool?
        public var serverURL: String?
        public var project: String?
        public var environment: String?
        /// `--metadata` / `--artifacts`: backend URLs.
        public var metadata: String?
        public var artifacts: String?
        public init(dataDirectory: String? = nil, serverHost: String? = nil, serverPort: Int? = nil, workers: Int? = nil,
                    insecure: Bool? = nil, serverURL: String? = nil, project: String? = nil, environment: String? = nil,
                    metadata: String? = nil, artifacts: String? = nil) {
            self.metadata = metadata
            self.artifacts = artifacts
            self.dataDirectory = dataDirectory
            self.serverHost = serverHost
            self.serverPort = serverPort
            self.workers = workers
            self.insecure = insecure
            self.serverURL = serverURL
            self.project = project
            self.environment = environment
        }
    }

    /// Loads configuration from the layered sources.
    ///
    /// - Parameters:
    ///   - file: the YAML file; nil means `trainyard.yaml` in the working directory if present.
    ///   - environment: the process environment (injected for tests).
    public static func load(file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                            overrides: Overrides = Overrides()) async throws -> TrainyardConfiguration {
        var flagValues: [AbsoluteConfigKey: ConfigValue] = [:]
        func set(_ key: String, _ content: ConfigContent?) {
            if let content { flagValues[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(content, isSecret: key == "metadata") }
        }
        set("data_dir", overrides.dataDirectory.map { .string($0) })
        set("server.host", overrides.serverHost.map { .string($0) })
        set("server.port", overrides.serverPort.map { .int($0) })
        set("workers", overrides.workers.map { .int($0) })
        set("server.insecure", overrides.insecure.map { .bool($0) })
        set("url", overrides.serverURL.map { .string($0) })
        set("project", overrides.project.map { .string($0) })
        set("environment", overrides.environment.map { .string($0) })
        set("metadata", overrides.metadata.map { .string($0) })
        set("artifacts", overrides.artifacts.map { .string($0) })

        // The backend URLs' environment names end in _URL (TRAINYARD_METADATA_URL), while the
        // keys are `metadata` / `artifacts`: they sit just above the other variables.
        var backendURLs: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, variable) in [("metadata", "TRAINYARD_METADATA_URL"), ("artifacts", "TRAINYARD_ARTIFACTS_URL")] {
            if let value = environment[variable], !value.isEmpty {
                backendURLs[AbsoluteConfigKey([key])] = ConfigValue(.string(value), isSecret: true)
            }
        }

        // An empty TRAINYARD_SERVING_* variable is unset (as it always was): the file's value shows through.
        let environment = environment.filter { !($0.key.hasPrefix("TRAINYARD_SERVING_") && $0.value.isEmpty) }
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: flagValues),
            InMemoryProvider(name: "backend URLs", values: backendURLs),
            EnvironmentVariablesProvider(environmentVariables: environment,
                                         secretsSpecifier: .specific(["TRAINYARD_AUTH_TOKENS"])).prefixKeys(with: "trainyard"),
        ]
        let path = file ?? "trainyard.yaml"
        if file != nil || FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.fileExists(atPath: path) else {
                throw TrainyardError(.invalidArgument, "configuration file \(path) does not exist")
            }
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: .init(path)))
            } catch {
                throw TrainyardError(.invalidArgument, "configuration file \(path) is not valid YAML: \(error)")
            }
        }
        let config = ConfigReader(providers: providers)

        var result = TrainyardConfiguration()
        result.dataDirectory = URL(fileURLWithPath: config.string(forKey: "data_dir", default: ".trainyard"))
        // Secret: a PostgreSQL URL may carry a password (errors show it redacted).
        if let text = config.string(forKey: "metadata", isSecret: true), !text.isEmpty {
            result.metadata = try MetadataBackend(parsing: text, key: "metadata")
        }
        if let text = config.string(forKey: "artifacts", isSecret: true), !text.isEmpty {
            result.artifacts = try ArtifactBackend(parsing: text, key: "artifacts")
        }
        result.namespace = try Namespace(project: config.string(forKey: "project", default: "default"),
                                         environment: config.string(forKey: "environment", default: "dev"))
        result.serverHost = config.string(forKey: "server.host", default: "127.0.0.1")
        result.serverPort = config.int(forKey: "server.port", default: 8080)
        guard (0...65535).contains(result.serverPort) else {
            throw TrainyardError(.invalidArgument, "server.port must be in [0, 65535]; got \(result.serverPort)")
        }
        result.maxBodyBytes = config.int(forKey: "server.max_body_bytes", default: 64 << 20)
        result.insecure = config.bool(forKey: "server.insecure", default: false)
        result.workers = config.int(forKey: "workers", default: 2)
        guard (0...256).contains(result.workers) else {
            throw TrainyardError(.invalidArgument, "workers must be in [0, 256]; got \(result.workers)")
        }
        result.leaseDuration = .seconds(config.int(forKey: "queue.lease_seconds", default: 30))
        for kind in JobKind.allCases {
            if let cap = config.int(forKey: ConfigKey(["queue", "max_running_\(kind.rawValue)"])) { result.maxRunning[kind] = cap }
        }
        let rawTokens = config.stringArray(forKey: "auth.tokens", isSecret: true, default: [])
        result.tokens = try rawTokens.filter { !$0.isEmpty }.map { try AccessToken(parsing: $0) }
        result.serverURL = config.string(forKey: "url")
        result.corsOrigins = config.stringArray(forKey: "server.cors_origins", default: [])
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        result.dataRoots = config.stringArray(forKey: "server.data_roots", default: [])
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if let relative = result.dataRoots.first(where: { !$0.hasPrefix("/") }) {
            throw TrainyardError(.invalidArgument, "server.data_roots: \"\(clientEcho(relative))\" is not an absolute path; list folders as /path/to/data")
        }
        result.limits = try loadLimits(config)
        let allow = config.stringArray(forKey: "runner.env_allow", default: RunnerOptions.defaultEnvironmentAllowList)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        result.runner = RunnerOptions(environmentAllowList: allow, user: config.string(forKey: "runner.user").flatMap { $0.isEmpty ? nil : $0 },
                                      restrictWrites: config.bool(forKey: "runner.restrict_writes", default: true),
                                      writablePaths: config.stringArray(forKey: "runner.writable", default: RunnerOptions.defaultWritablePaths))
        result.serving = try ServingOptions.load(config)
        result.transform = try TransformOptions.load(config)
        result.triggers = try TriggerOptions.load(config)
        return result
    }

    /// `limits.*`: each a positive integer, else a configuration error naming the key.
    static func loadLimits(_ config: ConfigReader) throws -> ResourceLimits {
        var limits = ResourceLimits()
        func read(_ key: String, _ current: Int) throws -> Int {
            let value = config.int(forKey: ConfigKey(["limits", key]), default: current)
            guard value > 0 else { throw TrainyardError(.invalidArgument, "limits.\(key) must be a positive integer; got \(value)") }
            return value
        }
        limits.specBytes = try read("spec_bytes", limits.specBytes)
        limits.stageBytes = Int64(try read("stage_bytes", Int(limits.stageBytes)))
        limits.stageSeconds = try read("stage_seconds", limits.stageSeconds)
        limits.classes = try read("classes", limits.classes)
        limits.features = try read("features", limits.features)
        limits.trainMemoryBytes = try read("train_memory_bytes", limits.trainMemoryBytes)
        limits.tensorElements = try read("tensor_elements", limits.tensorElements)
        limits.headerSeconds = try read("header_seconds", limits.headerSeconds)
        limits.bodySeconds = try read("body_seconds", limits.bodySeconds)
        limits.idleSeconds = try read("idle_seconds", limits.idleSeconds)
        return limits
    }

    /// The SQLite file of the embedded store (the default `metadata`).
    public var databaseFile: URL { dataDirectory.appendingPathComponent("trainyard.sqlite") }
    /// The artifact folder of the embedded store (the default `artifacts`; namespaced below it).
    public var artifactDirectory: URL { dataDirectory.appendingPathComponent("artifacts") }

    /// The metadata store this configuration names: the `metadata` URL, else SQLite in `{data_dir}/trainyard.sqlite`.
    public var metadataBackend: MetadataBackend { metadata ?? .sqlite(file: databaseFile) }
    /// The artifact store this configuration names: the `artifacts` URL, else the folder `{data_dir}/artifacts`.
    public var artifactBackend: ArtifactBackend { artifacts ?? .folder(artifactDirectory) }

    /// Where the stores are, for a log line: the data folder when both live there (as they do
    /// by default), else both backends (passwords hidden).
    public var storeDescription: String {
        if metadata == nil && artifacts == nil { return dataDirectory.path }
        return "metadata \(metadataBackend), artifacts \(artifactBackend)"
    }
}

/// Keeps dev / qa / prod (or several projects) apart in one store: every table and every
/// artifact key is prefixed with it (the systems Trainyard replaces used PROJECT_NAME + PROJECT_ENV).
public struct Namespace: Sendable, Hashable, CustomStringConvertible {
    public let project: String
    public let environment: String

    public init(project: String = "default", environment: String = "dev") throws(TrainyardError) {
        for (key, value) in [("project", project), ("environment", environment)] {
            let ok = !value.isEmpty && value.count <= 32 && value.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
            guard ok else { throw TrainyardError(.invalidArgument, "\(key) \"\(value)\" must be 1–32 characters of a-z, 0-9 and _") }
        }
        self.project = project
        self.environment = environment
    }

    public init() { project = "default"; environment = "dev" }

    /// Prefix of every table name: `default_dev_`.
    public var tablePrefix: String { "\(project)_\(environment)_" }
    /// Prefix of every artifact key: `default/dev/`.
    public var keyPrefix: String { "\(project)/\(environment)/" }
    public var description: String { "\(project)/\(environment)" }
}

/// A bearer token and what it may do.
public struct AccessToken: Sendable, Equatable {
    public var name: String
    public var secret: String
    public var scopes: Set<Scope>

    public enum Scope: String, Sendable, CaseIterable {
        /// Everything.
        case admin
        /// Submit and cancel jobs, move aliases.
        case train
        /// Call inference routes.
        case predict
        /// Read jobs, logs, models.
        case read
    }

    public init(name: String, secret: String, scopes: Set<Scope>) {
        self.name = name
        self.secret = secret
        self.scopes = scopes
    }

    /// `name:secret:scope1+scope2`.
    public init(parsing entry: String) throws(TrainyardError) {
        let parts = entry.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].count >= 8 else {
            throw TrainyardError(.invalidArgument, "auth.tokens entry \"\(parts.first ?? "")…\" must be name:secret:scope1+scope2 with a secret of at least 8 characters")
        }
        var scopes = Set<Scope>()
        for raw in parts[2].split(separator: "+") {
            guard let s = Scope(rawValue: String(raw)) else {
                throw TrainyardError(.invalidArgument, "auth.tokens entry \"\(parts[0])\": unknown scope \"\(raw)\"; expected admin, train, predict or read")
            }
            scopes.insert(s)
        }
        self.init(name: parts[0], secret: parts[1], scopes: scopes)
    }

    public func allows(_ scope: Scope) -> Bool { scopes.contains(.admin) || scopes.contains(scope) }
}
