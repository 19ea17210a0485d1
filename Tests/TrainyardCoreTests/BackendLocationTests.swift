import Foundation
import Testing
import TrainyardCore

/// `metadata` / `artifacts` URLs: what each scheme parses into, and that a bad one is a
/// configuration error naming the key (and never showing a password).
@Suite("Backend URLs")
struct BackendLocationTests {
    @Test func sqliteAndFileTakeAbsolutePaths() throws {
        #expect(try MetadataBackend(parsing: "sqlite:///srv/trainyard/trainyard.sqlite") == .sqlite(file: URL(fileURLWithPath: "/srv/trainyard/trainyard.sqlite")))
        #expect(try ArtifactBackend(parsing: "file:///srv/trainyard/artifacts") == .folder(URL(fileURLWithPath: "/srv/trainyard/artifacts")))
        // Percent-encoded paths are decoded.
        #expect(try ArtifactBackend(parsing: "file:///srv/my%20models") == .folder(URL(fileURLWithPath: "/srv/my models")))
        #expect(try MetadataBackend(parsing: "sqlite:///srv/t.sqlite").description == "sqlite:///srv/t.sqlite")
    }

    @Test func postgresParsesAndHidesItsPassword() throws {
        let backend = try MetadataBackend(parsing: "postgres://trainyard:hunter2secret@db.internal:5432/registry")
        guard case .postgres(let url) = backend else { Issue.record("expected postgres, got \(backend)"); return }
        #expect(url.host == "db.internal" && url.port == 5432 && url.path == "/registry")
        #expect(!backend.description.contains("hunter2secret"))
        #expect(backend.description == "postgres://trainyard:***@db.internal:5432/registry")
        if case .postgres = try MetadataBackend(parsing: "postgresql://u@h/db") {} else { Issue.record("postgresql:// is PostgreSQL too") }
    }

    @Test func s3ParsesBucketAndPrefix() throws {
        #expect(try ArtifactBackend(parsing: "s3://models-bucket/team/trainyard") == .s3(bucket: "models-bucket", prefix: "team/trainyard"))
        #expect(try ArtifactBackend(parsing: "s3://models-bucket") == .s3(bucket: "models-bucket", prefix: ""))
        #expect(try ArtifactBackend(parsing: "s3://models-bucket/team/").description == "s3://models-bucket/team/")
    }

    /// `memory:` (fast tests): in-process stores; nothing may follow the scheme.
    @Test func memoryTakesNothingAfterTheScheme() throws {
        #expect(try MetadataBackend(parsing: "memory:") == .memory)
        #expect(try ArtifactBackend(parsing: "memory://") == .memory)
        #expect(ArtifactBackend.memory.description == "memory:")
        #expect(throws: TrainyardError.self) { try MetadataBackend(parsing: "memory:/srv/x") }
        #expect(throws: TrainyardError.self) { try ArtifactBackend(parsing: "memory://host") }
    }

    /// Every refusal names the key and says what was expected.
    @Test(arguments: [
        ("metadata", "mysql://db/x", "unknown backend \"mysql\""),
        ("metadata", "sqlite://relative/trainyard.sqlite", "absolute"),
        ("metadata", "sqlite:relative.sqlite", "absolute"),
        ("metadata", "sqlite:///", "names no path"),
        ("metadata", "sqlite:///srv/t.sqlite?mode=ro", "query"),
        ("metadata", "/srv/trainyard.sqlite", "not a backend URL"),
        ("metadata", "postgres://db.internal", "database"),
        ("metadata", "postgres:///registry", "no host"),
        ("metadata", "file:///srv/x", "unknown backend \"file\""),
        ("artifacts", "file:relative/folder", "absolute"),
        ("artifacts", "s3:///prefix-without-bucket", "no host"),
        ("artifacts", "sqlite:///srv/t.sqlite", "unknown backend \"sqlite\""),
        ("artifacts", "", "not a backend URL"),
    ])
    func badURLsAreConfigurationErrorsNamingTheKey(key: String, text: String, why: String) throws {
        let error = #expect(throws: TrainyardError.self) {
            if key == "metadata" { _ = try MetadataBackend(parsing: text) } else { _ = try ArtifactBackend(parsing: text) }
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix("\(key): ") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(why) == true, "\(error?.message ?? "")")
    }

    @Test func aRefusedURLNeverShowsItsPassword() {
        for text in ["postgres://u:hunter2secret@db.internal", "mysql://u:hunter2secret@db/x", "postgres://u:hunter2secret@ho st/db"] {
            let error = #expect(throws: TrainyardError.self) { _ = try MetadataBackend(parsing: text) }
            #expect(error?.message.contains("hunter2secret") == false, "\(error?.message ?? "")")
        }
    }
}

/// The backend URLs and the `serving` section as configuration keys: file, environment, flags.
@Suite("Configuration: backends and serving")
struct BackendAndServingConfigurationTests {
    func yamlFile(_ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("trainyard.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test func backendsDefaultToTheDataFolder() async throws {
        let c = try await TrainyardConfiguration.load(file: nil, environment: ["TRAINYARD_DATA_DIR": "/srv/ty"])
        #expect(c.metadata == nil && c.artifacts == nil)
        #expect(c.metadataBackend == .sqlite(file: URL(fileURLWithPath: "/srv/ty/trainyard.sqlite")))
        #expect(c.artifactBackend == .folder(URL(fileURLWithPath: "/srv/ty/artifacts")))
        #expect(c.storeDescription == "/srv/ty")
    }

    @Test func backendURLsFromFileEnvironmentAndFlags() async throws {
        let file = try yamlFile("""
            metadata: sqlite:///from/file/t.sqlite
            artifacts: file:///from/file/artifacts
            """)
        let fromFile = try await TrainyardConfiguration.load(file: file, environment: [:])
        #expect(fromFile.metadataBackend == .sqlite(file: URL(fileURLWithPath: "/from/file/t.sqlite")))
        #expect(fromFile.artifactBackend == .folder(URL(fileURLWithPath: "/from/file/artifacts")))

        let env = ["TRAINYARD_METADATA_URL": "sqlite:///from/env/t.sqlite", "TRAINYARD_ARTIFACTS_URL": "s3://bucket/env"]
        let fromEnv = try await TrainyardConfiguration.load(file: file, environment: env)
        #expect(fromEnv.metadataBackend == .sqlite(file: URL(fileURLWithPath: "/from/env/t.sqlite")))
        #expect(fromEnv.artifactBackend == .s3(bucket: "bucket", prefix: "env"))

        let fromFlags = try await TrainyardConfiguration.load(file: file, environment: env,
                                                              overrides: .init(metadata: "postgres://u@h/db", artifacts: "file:///from/flag"))
        #expect(fromFlags.metadataBackend == .postgres(url: URL(string: "postgres://u@h/db")!))
        #expect(fromFlags.artifactBackend == .folder(URL(fileURLWithPath: "/from/flag")))
        #expect(fromFlags.storeDescription == "metadata postgres://u@h/db, artifacts file:///from/flag")
    }

    @Test func aBadBackendURLInTheEnvironmentNamesTheKey() async throws {
        let error = await #expect(throws: TrainyardError.self) {
            _ = try await TrainyardConfiguration.load(file: nil, environment: ["TRAINYARD_ARTIFACTS_URL": "file:relative"])
        }
        #expect(error?.message.hasPrefix("artifacts: ") == true, "\(error?.message ?? "")")
    }

    @Test func servingDefaultsWhenNothingIsSet() async throws {
        let serving = try await TrainyardConfiguration.load(file: nil, environment: [:]).serving
        let defaults = ServingOptions()
        #expect(serving.defaultModel == nil && serving.textModel == defaults.textModel && serving.nerModel == defaults.nerModel)
        #expect(serving.preload.isEmpty && serving.cacheDirectory == nil)
        #expect(serving.maxBatchRows == defaults.maxBatchRows && serving.requestTimeout == defaults.requestTimeout)
        #expect(serving.memoryBudgetBytes == defaults.memoryBudgetBytes && serving.cacheMaxBytes == defaults.cacheMaxBytes)
    }

    @Test func servingFromTheFileWithTheEnvironmentOnTop() async throws {
        let file = try yamlFile("""
            serving:
              default_model: iris@production
              text_model: reviews
              preload: [iris, reviews:2]
              memory_budget_mb: 512
              max_batch: 8
              max_batch_wait_us: 250
              timeout_s: 2.5
              alias_poll_ms: 100
              cache_dir: /var/cache/trainyard
              cache_mb: 64
              metrics_store_timeout_ms: 1500
            """)
        let fromFile = try await TrainyardConfiguration.load(file: file, environment: [:]).serving
        #expect(fromFile.defaultModel == "iris@production")
        #expect(fromFile.textModel == "reviews")
        #expect(fromFile.preload == ["iris", "reviews:2"])
        #expect(fromFile.memoryBudgetBytes == 512 << 20)
        #expect(fromFile.maxBatchRows == 8)
        #expect(fromFile.maxBatchWait == .microseconds(250))
        #expect(fromFile.requestTimeout == .milliseconds(2500))
        #expect(fromFile.aliasPollInterval == .milliseconds(100))
        #expect(fromFile.cacheDirectory?.path == "/var/cache/trainyard")
        #expect(fromFile.cacheMaxBytes == 64 << 20)
        #expect(fromFile.metricsStoreTimeout == .milliseconds(1500))

        // The environment names are the ones they always were; an empty one is unset.
        let env = ["TRAINYARD_SERVING_MAX_BATCH": "16", "TRAINYARD_SERVING_PRELOAD": "a, b,", "TRAINYARD_SERVING_TIMEOUT_S": "7",
                   "TRAINYARD_SERVING_NER_MODEL": "ner-x", "TRAINYARD_SERVING_DEFAULT_MODEL": ""]
        let withEnv = try await TrainyardConfiguration.load(file: file, environment: env).serving
        #expect(withEnv.maxBatchRows == 16)
        #expect(withEnv.preload == ["a", "b"])
        #expect(withEnv.requestTimeout == .seconds(7))
        #expect(withEnv.nerModel == "ner-x")
        #expect(withEnv.defaultModel == "iris@production")
        #expect(withEnv.textModel == "reviews")
    }

    @Test(arguments: [("TRAINYARD_SERVING_MAX_BATCH", "0", "serving.max_batch"), ("TRAINYARD_SERVING_TIMEOUT_S", "-1", "serving.timeout_s"),
                      ("TRAINYARD_SERVING_MEMORY_BUDGET_MB", "0", "serving.memory_budget_mb"), ("TRAINYARD_SERVING_MAX_BATCH_WAIT_US", "-5", "serving.max_batch_wait_us"),
                      ("TRAINYARD_SERVING_METRICS_STORE_TIMEOUT_MS", "0", "serving.metrics_store_timeout_ms")])
    func aServingValueOutOfRangeNamesItsKey(variable: String, value: String, key: String) async throws {
        let error = await #expect(throws: TrainyardError.self) {
            _ = try await TrainyardConfiguration.load(file: nil, environment: [variable: value])
        }
        #expect(error?.message.hasPrefix("\(key) must be") == true, "\(error?.message ?? "")")
    }
}
