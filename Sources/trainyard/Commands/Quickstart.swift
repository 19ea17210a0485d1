import ArgumentParser
import Foundation
import Synchronization
import TrainyardApp
import TrainyardCore
import TrainyardRuntime

struct Quickstart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train every bundled example (examples/*/spec.yaml) on the embedded store and serve them."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Examples folder.")
    var examples = "examples"
    @Option(help: "Port to serve on (default 8080).")
    var port: Int?
    @Flag(help: "Exit after training instead of serving.")
    var noServe = false

    func run() async throws {
        try refuseServerOption(global, role: "quickstart")
        let configuration = try await global.loadConfiguration(.init(serverPort: port))
        let logger = makeLogger("trainyard")
        let app = try await makeApp(configuration, logger: logger)
        let services = app.services
        let folder = URL(fileURLWithPath: examples)
        let specs = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .map { $0.appendingPathComponent("spec.yaml") }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
            .sorted { $0.path < $1.path }
        guard !specs.isEmpty else { throw TrainyardError(.invalidArgument, "no examples/*/spec.yaml under \(folder.path); run from the repository root") }
        print("Trainyard quickstart: training \(specs.count) example models on \(configuration.storeDescription)")
        let plane = LocalControlPlane(services: services)
        var jobs: [Job] = []
        for spec in specs {
            let job = try await plane.submit(specFile: spec, priority: nil, delay: nil)
            print("  submitted job \(job.id): \(job.model) (\(job.spec.task.rawValue)) from \(spec.deletingLastPathComponent().lastPathComponent)/spec.yaml")
            jobs.append(job)
        }
        let pool = WorkerPool(services: services, options: .init(workers: max(1, configuration.workers), exitWhenIdle: .seconds(3600)))
        let poolTask = Task { try await pool.run() }
        var finished: [Job] = []
        var lastLine = ""
        let started = ContinuousClock.now
        while true {
            finished = []
            for j in jobs { finished.append(try await plane.job(j.id)) }
            let line = finished.map { "\($0.model): \(Format.progress($0))" }.joined(separator: " | ")
            if line != lastLine { print("  [\(DurationText.format(ContinuousClock.now - started))] \(line)"); lastLine = line }
            if finished.allSatisfy({ $0.state.isTerminal }) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        poolTask.cancel()
        print("")
        var table = Table("MODEL", "TASK", "STATE", "VERSION", "METRICS")
        for j in finished {
            var metrics = j.failureReason.map { String($0.prefix(80)) } ?? ""
            if let v = j.resultVersion, let version = try await services.store.version(j.model, v) { metrics = Format.metrics(version.metrics, limit: 5) }
            table.add(j.model.rawValue, j.spec.task.rawValue, j.state.rawValue, j.resultVersion.map(String.init) ?? "-", metrics)
        }
        print(table.render())
        let failed = finished.filter { $0.state != .succeeded }
        let url = "http://\(configuration.serverHost):\(configuration.serverPort)"
        print("""

            Try next:
              swift run -c release trainyard models ls
              swift run -c release trainyard models show \(finished.first?.model.rawValue ?? "NAME")
              swift run -c release trainyard jobs ls
            """)
        if noServe {
            if !failed.isEmpty { throw CommandFailure(message: "\(failed.count) example(s) did not train", exitCode: 1) }
            return
        }
        print("""
              curl -s \(url)/api/v1/models | python3 -m json.tool
              curl -s \(url)/api/v1/jobs?state=succeeded
              curl -s \(url)/api/v1/models/diamonds-price/predict -H 'content-type: application/json' -d '{"inputs": [{"carat": 0.7, "cut": "Ideal", "color": "G", "clarity": "VS1", "depth": 61.5, "table": 56, "x": 5.7, "y": 5.7, "z": 3.5}]}'
              curl -s \(url)/v2/models/iris-species/infer -H 'content-type: application/json' -d '{"inputs": [{"name": "petal_length", "shape": [1], "datatype": "FP64", "data": [4.5]}, {"name": "petal_width", "shape": [1], "datatype": "FP64", "data": [1.5]}, {"name": "sepal_length", "shape": [1], "datatype": "FP64", "data": [6.0]}, {"name": "sepal_width", "shape": [1], "datatype": "FP64", "data": [2.9]}]}'
              curl -s \(url)/predict -H 'content-type: application/json' -d '{"text": "the food was great and the staff were lovely"}'
              curl -s \(url)/ner -H 'content-type: text/plain' -d 'Ada Lovelace worked with Charles Babbage in London.'
              swift run -c release trainyard predict sentiment "a wonderful, moving film"

            Serving on \(url) (Ctrl-C to stop).
            """)
        let servePool = WorkerPool(services: services, options: .init(workers: max(1, configuration.workers)))
        let http = try app.httpServer()
        try await runUntilSignalled([servePool, http], logger: logger)
    }
}
