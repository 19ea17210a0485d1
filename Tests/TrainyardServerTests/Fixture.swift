import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardRuntime
import TrainyardServing
@testable import TrainyardServer

/// A trainer for `task: command` that trains nothing; the tests register versions through the store.
struct FakeTrainer: Trainer {
    func validate(_ spec: ParsedSpec) throws(TrainyardError) {}
    func train(_ run: TrainingRun) async throws -> TrainingOutput { TrainingOutput(algorithm: "fake", artifacts: [:], metrics: [:]) }
}

/// Collects log records, so tests can check what the server logs (and that secrets are not in it).
final class LogCapture: Sendable {
    struct Record: Sendable { var level: Logger.Level; var message: String; var metadata: [String: String] }
    private let records = Mutex<[Record]>([])
    var all: [Record] { records.withLock { $0 } }
    func append(_ r: Record) { records.withLock { $0.append(r) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append(Record(level: event.level, message: event.message.description, metadata: merged.mapValues { "\($0)" }))
        }
    }

    var logger: Logger { Logger(label: "test") { _ in Handler(capture: self) } }
}

/// The system (built by `TrainyardApp`) on a fresh temporary data folder.
struct Fixture {
    let app: TrainyardApp
    var services: TrainyardServices { app.services }
    let directory: URL
    let logs: LogCapture

    static func make(tokens: [AccessToken] = [], maxBodyBytes: Int = 1 << 20, configure: (inout TrainyardConfiguration) -> Void = { _ in }) async throws -> Fixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-server-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = TrainyardConfiguration(dataDirectory: directory, serverPort: 0, maxBodyBytes: maxBodyBytes, tokens: tokens)
        // A scrape waits for the store as long as a loaded CI machine needs (the default 3 s is for Prometheus).
        configuration.serving.metricsStoreTimeout = options.storeCheckTimeout
        configure(&configuration)
        let logs = LogCapture()
        let app = try await TrainyardApp.build(configuration, trainers: TrainerRegistry([.command: FakeTrainer()]), logger: logs.logger)
        return Fixture(app: app, directory: directory, logs: logs)
    }

    var store: any MetadataStore { services.store }

    /// The HTTP layer's options in tests: a quick SSE poll, and a readiness check that waits for
    /// the store as long as a loaded CI machine may need (a test asserts "ready", never how fast).
    static let options = ControlAPI.Options(pollInterval: .milliseconds(20), storeCheckTimeout: .seconds(60))

    func application(readiness: Readiness = Readiness()) -> some ApplicationProtocol {
        Application(router: TrainyardHTTPServer.buildRouter(services: services, readiness: readiness, options: Self.options),
                    logger: services.logger)
    }

    /// Submits a job for `model` and registers its version through the store (dequeue → reserve → complete).
    @discardableResult
    func registerVersion(_ model: String, metrics: [String: Double] = ["rmse": 1.5]) async throws -> Int {
        _ = try await services.submitter.submit(Specs.command(model))
        let lease = try #require(try await store.dequeue(workerID: "test", kinds: [.train], leaseDuration: .seconds(60)))
        let version = try await store.reserveVersion(lease.token)
        let manifest = Manifest(model: try ModelName(model), version: version, task: .command, algorithm: "fake", metrics: metrics,
                                history: [MetricPoint(step: 1, metrics: ["rmse": 3]), MetricPoint(step: 2, metrics: ["rmse": 2])],
                                lineage: Lineage(jobID: lease.job.id, attempt: lease.token.attempt, data: [], createdAt: Date()))
        _ = try await store.complete(lease.token, registration: VersionRegistration(manifest: manifest, promote: nil))
        return version
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// Runs `body` against the router with the inference routes of a model server built from
    /// `options`; the server's serve processes are stopped afterwards, whatever happens.
    func withInference(options: ServingOptions, readiness: Readiness = Readiness(),
                       _ body: @escaping @Sendable (any TestClientProtocol, InferenceAPI) async throws -> Void) async throws {
        let inference = app.inference(readiness: readiness, options: options)
        let router = TrainyardHTTPServer.buildRouter(services: services, readiness: readiness, options: Self.options, extraRoutes: inference.routes)
        let app = Application(router: router, logger: services.logger)
        do {
            try await app.test(.router) { client in try await body(client, inference) }
        } catch {
            await inference.server.shutdown()
            throw error
        }
        await inference.server.shutdown()
    }
}

enum Specs {
    static func command(_ name: String = "demo") -> String {
        """
        name: \(name)
        task: command
        command: ["python3", "train.py"]
        retries: 0
        """
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    func json() throws -> JSONValue { try JSON.decode(JSONValue.self, from: Data(text.utf8)) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSON.decode(type, from: Data(text.utf8)) }
    /// The error envelope's code, if this is an error response.
    var errorCode: String? { (try? json())?["error"]?["code"]?.stringValue }
}

extension JSONValue {
    var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    var intValue: Int? { if case .int(let i) = self { return i } else { return nil } }
}

func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
