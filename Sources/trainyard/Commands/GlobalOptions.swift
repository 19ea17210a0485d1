import ArgumentParser
import Foundation
import Logging
import TrainyardApp
import TrainyardCore
import TrainyardRuntime

/// Options every command accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Data folder of the embedded store (default ./.trainyard; env TRAINYARD_DATA_DIR).")
    var dataDir: String?

    @Option(name: .long, help: "Metadata store URL: sqlite:///abs/path/trainyard.sqlite (default: under --data-dir; env TRAINYARD_METADATA_URL).")
    var metadata: String?

    @Option(name: .long, help: "Artifact store URL: file:///abs/path (default: under --data-dir; env TRAINYARD_ARTIFACTS_URL).")
    var artifacts: String?

    @Option(name: .long, help: "Configuration file (default ./trainyard.yaml if present).")
    var config: String?

    @Option(name: .long, help: "A running Trainyard server to talk to (env TRAINYARD_URL); otherwise the local store is used.")
    var server: String?

    @Option(name: .long, help: "Bearer token for --server (env TRAINYARD_TOKEN).")
    var token: String?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func loadConfiguration(_ overrides: TrainyardConfiguration.Overrides = .init()) async throws -> TrainyardConfiguration {
        var o = overrides
        o.dataDirectory = o.dataDirectory ?? dataDir
        o.serverURL = o.serverURL ?? server
        o.metadata = o.metadata ?? metadata
        o.artifacts = o.artifacts ?? artifacts
        return try await TrainyardConfiguration.load(file: config, overrides: o)
    }

    /// The control plane: the server at --server/TRAINYARD_URL, or the local store.
    func controlPlane() async throws -> any ControlPlane {
        let configuration = try await loadConfiguration()
        if let url = configuration.serverURL {
            return try RemoteControlPlane(baseURL: url, token: token ?? ProcessInfo.processInfo.environment["TRAINYARD_TOKEN"],
                                          configuration: configuration)
        }
        return LocalControlPlane(services: try await makeApp(configuration).services)
    }
}

/// Logging for the roles that run long (`up`, `server`, `worker`): to stderr, level from
/// TRAINYARD_LOG_LEVEL (default info).
func makeLogger(_ label: String, defaultLevel: Logger.Level = .info) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    let level = ProcessInfo.processInfo.environment["TRAINYARD_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
    logger.logLevel = level ?? defaultLevel
    return logger
}

/// Every trainer this build ships, bounded by the configured `limits.*`.
func defaultTrainers(_ configuration: TrainyardConfiguration) -> TrainerRegistry { TrainyardApp.defaultTrainers(configuration) }

/// The system every local command and role runs on, built by the one application builder.
func makeApp(_ configuration: TrainyardConfiguration, logger: Logger = makeLogger("trainyard", defaultLevel: .warning)) async throws -> TrainyardApp {
    try await TrainyardApp.build(configuration, logger: logger)
}
