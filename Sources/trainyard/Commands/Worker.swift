import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TrainyardApp
import TrainyardCore
import TrainyardRuntime
import TrainyardServer
import UnixSignals

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run workers only (scale-out): take jobs from the shared store until stopped.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Number of concurrent workers in this process.")
    var workers: Int?

    @Option(help: "Exit with status 0 after this long without a job (e.g. 15m): scale to zero.")
    var exitWhenIdle: String?

    @Option(help: "Job kinds to take (comma-separated: train,transform,transform-part).")
    var kinds = "train,transform,transform-part"

    @Option(help: "Serve /healthz, /readyz and /metrics (this process's worker counters and the queue depth) on this port; none by default.")
    var metricsPort: Int?

    @Option(help: "Address for --metrics-port (0.0.0.0 in a container). The routes name no model; /metrics needs a read token when tokens are configured.")
    var metricsHost = "127.0.0.1"

    func run() async throws {
        try refuseServerOption(global, role: "worker")
        let configuration = try await global.loadConfiguration(.init(workers: workers))
        let idle = try exitWhenIdle.map { text -> Duration in
            guard let d = DurationText.parse(text) else { throw ValidationError("--exit-when-idle \(text): expected a duration like 15m") }
            return d
        }
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port \(metricsPort): expected a port from 0 to 65535")
        }
        var kindSet = Set<JobKind>()
        for raw in kinds.split(separator: ",") {
            guard let k = JobKind(rawValue: String(raw)) else { throw ValidationError("--kinds \(raw): expected train, transform or transform-part") }
            kindSet.insert(k)
        }
        let logger = makeLogger("trainyard.worker")
        if configuration.serverURL != nil {
            // TRAINYARD_URL (or `url:` in trainyard.yaml) is for the CLI's commands; a worker never talks to a server.
            logger.notice("ignoring the configured server URL (TRAINYARD_URL / url): a worker reads the stores configured by --metadata and --artifacts")
        }
        let app = try await makeApp(configuration, logger: logger)
        let pool = WorkerPool(services: app.services, options: .init(workers: max(1, configuration.workers), kinds: kindSet, exitWhenIdle: idle))
        logger.info("worker started", metadata: ["trainyard.workers": "\(configuration.workers)", "trainyard.store": "\(configuration.storeDescription)"])
        guard let metricsPort else { return try await runUntilSignalled([pool], logger: logger) }
        let operations = WorkerOperationsServer.makeApplication(services: app.services, host: metricsHost, port: metricsPort) { port in
            logger.notice("worker operations listening", metadata: ["trainyard.address": "http://\(metricsHost):\(port)", "trainyard.routes": "/healthz /readyz /metrics"])
        }
        try await runUntilSignalled([pool, operations], logger: logger)
    }
}

/// Refuses `--server` on a role that runs on the stores itself (`worker`, `up`, `server`,
/// `quickstart`): it would otherwise be ignored, and the role would open (or create) the local
/// store instead of what the user meant. Exit code 2.
func refuseServerOption(_ global: GlobalOptions, role: String) throws {
    guard global.server != nil else { return }
    let message: String
    if role == "worker" {
        message = "a worker does not connect to a server: it takes jobs from the shared stores, named by configuration "
            + "(--metadata postgres://user@host:5432/db --artifacts s3://bucket/prefix, or TRAINYARD_METADATA_URL / TRAINYARD_ARTIFACTS_URL, "
            + "the same as the servers use); remove --server"
    } else {
        message = "`trainyard \(role)` runs on its own stores (--data-dir, or --metadata / --artifacts); --server is for commands that talk to "
            + "a running server; remove --server"
    }
    throw TrainyardError(.invalidArgument, message)
}

/// Runs services in one ServiceGroup that shuts down gracefully on SIGTERM/SIGINT.
func runUntilSignalled(_ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(configuration: .init(
        services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger
    ))
    try await group.run()
}
