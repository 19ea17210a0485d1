import ArgumentParser
import Foundation
import Logging
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime

/// Options every command accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Data folder of the embedded store (default ./.trainyard; env TRAINYARD_DATA_DIR).")
    var dataDir: String?

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
        return try await TrainyardConfiguration.load(file: config, overrides: o)
    }

    /// The control plane: the server at --server/TRAINYARD_URL, or the local store.
    func controlPlane() async throws -> any ControlPlane {
        let configuration = try await loadConfiguration()
        if let url = configuration.serverURL {
            return try RemoteControlPlane(baseURL: url, token: token ?? ProcessInfo.processInfo.environment["TRAINYARD_TOKEN"],
                                          configuration: configuration)
        }
        return LocalControlPlane(services: try await makeServices(configuration))
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
func defaultTrainers(_ configuration: TrainyardConfiguration) -> TrainerRegistry { .standard(limits: configuration.limits, runner: configuration.runner) }

func makeServices(_ configuration: TrainyardConfiguration, logger: Logger = makeLogger("trainyard", defaultLevel: .warning)) async throws -> TrainyardServices {
    try await TrainyardServices.embedded(configuration, trainers: defaultTrainers(configuration), logger: logger)
}
