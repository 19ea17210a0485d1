import ArgumentParser
import Foundation
import TrainyardApp
import TrainyardCore
import TrainyardRuntime

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Server + workers + triggers in one process on the embedded store (default ./.trainyard).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Port to listen on (default 8080; 0 picks a free one).")
    var port: Int?
    @Option(help: "Address to bind (default 127.0.0.1).")
    var host: String?
    @Option(help: "In-process workers (default 2).")
    var workers: Int?
    @Flag(help: "Allow a non-loopback address without auth tokens.")
    var insecure = false

    func run() async throws {
        try refuseServerOption(global, role: "up")
        let configuration = try await global.loadConfiguration(.init(serverHost: host, serverPort: port, workers: workers, insecure: insecure ? true : nil))
        let logger = makeLogger("trainyard")
        let app = try await makeApp(configuration, logger: logger)
        let pool = WorkerPool(services: app.services, options: .init(workers: configuration.workers))
        let http = try app.httpServer(onListening: { port in
            logger.info("listening on http://\(configuration.serverHost):\(port) with \(configuration.workers) workers; store \(configuration.storeDescription)")
        })
        try await runUntilSignalled([pool, http, TriggerService(services: app.services)], logger: logger)
    }
}

struct Server: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "HTTP server (control API, inference, triggers) without workers, for scale-out beside `trainyard worker`.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Port to listen on (default 8080).")
    var port: Int?
    @Option(help: "Address to bind (default 127.0.0.1).")
    var host: String?
    @Flag(help: "Allow a non-loopback address without auth tokens.")
    var insecure = false

    func run() async throws {
        try refuseServerOption(global, role: "server")
        let configuration = try await global.loadConfiguration(.init(serverHost: host, serverPort: port, insecure: insecure ? true : nil))
        let logger = makeLogger("trainyard")
        let app = try await makeApp(configuration, logger: logger)
        let http = try app.httpServer(onListening: { port in
            logger.info("listening on http://\(configuration.serverHost):\(port); store \(configuration.storeDescription)")
        })
        // Triggers fire from every server: each firing is idempotent in the store.
        try await runUntilSignalled([http, TriggerService(services: app.services)], logger: logger)
    }
}
