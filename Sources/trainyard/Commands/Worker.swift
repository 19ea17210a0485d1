import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TrainyardApp
import TrainyardCore
import TrainyardRuntime
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

    func run() async throws {
        let configuration = try await global.loadConfiguration(.init(workers: workers))
        let idle = try exitWhenIdle.map { text -> Duration in
            guard let d = DurationText.parse(text) else { throw ValidationError("--exit-when-idle \(text): expected a duration like 15m") }
            return d
        }
        var kindSet = Set<JobKind>()
        for raw in kinds.split(separator: ",") {
            guard let k = JobKind(rawValue: String(raw)) else { throw ValidationError("--kinds \(raw): expected train, transform or transform-part") }
            kindSet.insert(k)
        }
        let logger = makeLogger("trainyard.worker")
        let app = try await makeApp(configuration, logger: logger)
        let pool = WorkerPool(services: app.services, options: .init(workers: max(1, configuration.workers), kinds: kindSet, exitWhenIdle: idle))
        logger.info("worker started", metadata: ["trainyard.workers": "\(configuration.workers)", "trainyard.store": "\(configuration.storeDescription)"])
        try await runUntilSignalled([pool], logger: logger)
    }
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
