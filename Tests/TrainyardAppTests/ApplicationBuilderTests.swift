import Foundation
import Logging
import PostgresNIO
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardPostgres
import TrainyardServer
import TrainyardRuntime
import TrainyardStorage
import TrainyardTestServices
import TrainyardTestSupport

/// A trainer for `task: command` that trains nothing: versions are registered through the store.
struct NoTrainer: Trainer {
    func validate(_ spec: ParsedSpec) throws(TrainyardError) {}
    func train(_ run: TrainingRun) async throws -> TrainingOutput { TrainingOutput(algorithm: "none", artifacts: [:], metrics: [:]) }
}

/// `TrainyardApp.build`: backends by URL, `--data-dir` as their shorthand, backends this build
/// does not have refused clearly, serving settings from the configuration.
@Suite("Application builder")
struct ApplicationBuilderTests {
    let root: URL
    let logger: Logger

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-app-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var logger = Logger(label: "app-test")
        logger.logLevel = .critical
        self.logger = logger
    }

    func build(_ configuration: TrainyardConfiguration) async throws -> TrainyardApp {
        try await TrainyardApp.build(configuration, trainers: TrainerRegistry([.command: NoTrainer()]), logger: logger)
    }

    /// A system built from `--data-dir D` and one built from the URLs it stands for (with its
    /// data folder elsewhere) are the same system: same stores, same jobs, same versions.
    @Test func dataDirAndExplicitURLsBuildTheSameSystem() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        let shorthand = try await build(TrainyardConfiguration(dataDirectory: data))
        let version = try await RegisteredVersions.registerTabular("lin", services: shorthand.services)

        var explicit = TrainyardConfiguration(dataDirectory: root.appendingPathComponent("elsewhere"))
        explicit.metadata = try MetadataBackend(parsing: "sqlite://\(data.path)/trainyard.sqlite")
        explicit.artifacts = try ArtifactBackend(parsing: "file://\(data.path)/artifacts")
        #expect(explicit.metadataBackend == shorthand.configuration.metadataBackend)
        #expect(explicit.artifactBackend == shorthand.configuration.artifactBackend)
        let byURL = try await build(explicit)

        #expect(byURL.services.artifacts.location == shorthand.services.artifacts.location)
        let seen = try #require(try await byURL.services.store.version(try ModelName("lin"), version))
        #expect(try await byURL.services.store.jobs(JobFilter()).map(\.id) == shorthand.services.store.jobs(JobFilter()).map(\.id))
        // The version's files are read back through the other system's artifact store, digests checked.
        let served = try await byURL.modelServer().model(for: try ModelReference(parsing: "lin:\(version)"))
        #expect(served.number == seen.version)
        // Nothing of the stores was created in the other data folder.
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("elsewhere/trainyard.sqlite").path))
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("elsewhere/artifacts").path))
    }

    /// An s3:// artifact store is opened without contacting S3 (credentials load at the first
    /// request), scoped to the namespace under the URL's prefix, with the serving cache in front.
    @Test func anS3ArtifactStoreOpensWithoutContactingIt() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        var configuration = TrainyardConfiguration(dataDirectory: root.appendingPathComponent("data"))
        configuration.artifacts = try ArtifactBackend(parsing: "s3://trainyard-nowhere/deployment")
        let app = try await build(configuration)
        #expect(app.services.artifacts.location == "s3://trainyard-nowhere/deployment/default/dev/")
        #expect(app.servingOptions().cacheDirectory == root.appendingPathComponent("data/cache"))
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("data/artifacts").path))
    }

    /// A bucket name S3 would refuse: a configuration error naming the key (CLI exit code 2).
    @Test func anInvalidS3BucketIsAClearError() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        var configuration = TrainyardConfiguration(dataDirectory: root.appendingPathComponent("data"))
        configuration.artifacts = try ArtifactBackend(parsing: "s3://ab/prefix")
        let error = await #expect(throws: TrainyardError.self) { _ = try await build(configuration) }
        #expect(error?.code == .invalidArgument && error?.code.isClientError == true)
        #expect(error?.message.hasPrefix("artifacts: ") == true && error?.message.contains("not an S3 bucket name") == true, "\(error?.message ?? "")")
    }

    /// A postgres:// store that cannot be reached: `.unavailable` naming the store without its
    /// password, and no local store created instead.
    @Test func anUnreachablePostgresStoreIsAClearError() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        var configuration = TrainyardConfiguration(dataDirectory: root.appendingPathComponent("data"))
        configuration.metadata = try MetadataBackend(parsing: "postgres://trainyard:hunter2secret@127.0.0.1:1/registry?sslmode=disable")
        let error = await #expect(throws: TrainyardError.self) { _ = try await build(configuration) }
        #expect(error?.code == .unavailable, "\(error?.message ?? "")")
        #expect(error?.message.contains("postgres://trainyard:***@127.0.0.1:1/registry") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("hunter2secret") == false)
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("data/trainyard.sqlite").path))
    }

    /// A postgres:// store opens in its namespace's own schema with the configured running
    /// caps, runs the queue, and `close()` stops its connections.
    @Test(.enabled(if: TestService.postgres.shouldRun, Comment(rawValue: TestService.postgres.skipReason)))
    func aPostgresStoreIsOpenedFromItsURLAndClosed() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let url = try TestService.postgres.require()
        var configuration = TrainyardConfiguration(dataDirectory: root.appendingPathComponent("data"))
        configuration.metadata = .postgres(url: url)
        let (namespace, schema) = try uniqueTestNamespace("app")
        configuration.namespace = namespace
        configuration.maxRunning = [.train: 1]
        let app = try await build(configuration)
        let store = app.services.store
        #expect(store is PostgresMetadataStore && "\(store)".contains("schema \(schema)"), "\(store)")
        let spec = Spec(name: try ModelName("iris"), task: .command, command: ["true"])
        _ = try await store.enqueue(EnqueueRequest(spec: spec))
        _ = try await store.enqueue(EnqueueRequest(spec: spec))
        #expect(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(60)) != nil)
        #expect(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(60)) == nil) // train's cap of 1
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("data/trainyard.sqlite").path))
        await app.close()
        await #expect(throws: TrainyardError.self) { try await store.ping() }

        // The test's schema goes.
        try await dropTestSchema(schema, at: url, logger: logger)
    }


    /// An app released without `close()` releases its PostgreSQL store too (whose `deinit`
    /// stops the pool and the listener): the wake-up signal and the store refer to each other,
    /// and one of the two references is weak.
    @Test(.enabled(if: TestService.postgres.shouldRun, Comment(rawValue: TestService.postgres.skipReason)))
    func aReleasedAppReleasesItsPostgresStore() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let url = try TestService.postgres.require()
        var configuration = TrainyardConfiguration(dataDirectory: root.appendingPathComponent("data"))
        configuration.metadata = .postgres(url: url)
        let (namespace, schema) = try uniqueTestNamespace("app")
        configuration.namespace = namespace
        weak var released: PostgresMetadataStore?
        do {
            let app = try await build(configuration)
            let store = try #require(app.services.store as? PostgresMetadataStore)
            released = store
            // A waiter comes and goes (the signal calls the store), as an idle worker's would.
            await app.services.wakeup.wait(timeout: .milliseconds(10))
        }
        #expect(await Polling.until(timeout: .seconds(60), every: .milliseconds(20), { released == nil }), "the store outlived its app")

        try await dropTestSchema(schema, at: url, logger: logger)
    }

    /// The model server gets the configuration's `serving` section; a local folder needs no
    /// artifact cache, an explicit `serving.cache_dir` is kept.
    @Test func servingSettingsComeFromTheConfiguration() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        var configuration = TrainyardConfiguration(dataDirectory: root.appendingPathComponent("data"))
        configuration.serving.defaultModel = "iris@production"
        configuration.serving.maxBatchRows = 7
        let app = try await build(configuration)
        #expect(app.servingOptions().defaultModel == "iris@production")
        #expect(app.servingOptions().cacheDirectory == nil)
        let server = app.modelServer()
        #expect(server.options.maxBatchRows == 7)
        #expect(!(server.services.artifacts is CachingArtifactStore))
        await server.shutdown()

        // A configured cache folder is kept, and the model server reads through it.
        var cached = configuration.serving
        cached.cacheDirectory = root.appendingPathComponent("cache-here")
        #expect(app.servingOptions(cached).cacheDirectory == root.appendingPathComponent("cache-here"))
        let cachedServer = app.modelServer(options: cached)
        #expect(cachedServer.services.artifacts is CachingArtifactStore)
        #expect(app.inference(readiness: Readiness(), options: cached).server.services.artifacts is CachingArtifactStore)
        await cachedServer.shutdown()
    }

    /// A remote artifact store is read through a cache in `{data_dir}/cache`: decided from the
    /// backend's kind, not from what its location string looks like.
    @Test func aRemoteArtifactStoreGetsTheServingCache() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let local = try await build(TrainyardConfiguration(dataDirectory: root.appendingPathComponent("data")))
        var services = local.services
        services.configuration.artifacts = .s3(bucket: "models", prefix: "prod")
        let remote = TrainyardApp(services: services)
        #expect(remote.servingOptions().cacheDirectory == root.appendingPathComponent("data/cache"))
        #expect(local.servingOptions().cacheDirectory == nil)
    }

    /// The builder's HTTP role refuses an unauthenticated bind beyond loopback, as the CLI always did.
    @Test func theHTTPRoleKeepsTheBindingCheck() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let app = try await build(TrainyardConfiguration(dataDirectory: root.appendingPathComponent("data"), serverHost: "0.0.0.0", serverPort: 0))
        #expect(throws: TrainyardError.self) { _ = try app.httpServer() }
    }
}
