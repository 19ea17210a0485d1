import Foundation
import Testing
import TrainyardCore

/// Runs the built `trainyard` binary in a temporary data folder.
struct CLIHarness {
    let dataDirectory: URL
    let workDirectory: URL

    init() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-cli-\(UUID().uuidString)")
        dataDirectory = root.appendingPathComponent("data")
        workDirectory = root.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
    }

    /// The `trainyard` executable beside the test bundle.
    static var binary: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("trainyard")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("trainyard")
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["TRAINYARD_DATA_DIR"] = dataDirectory.path
        env["TRAINYARD_LOG_LEVEL"] = "warning"
        return env
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs to completion. The wait happens on a thread of its own: blocking a concurrency-pool
    /// thread for a whole CLI run would stall every other test running in parallel (on 2 cores
    /// the pool has 2 threads), and Dispatch's pool adds a thread only about once a second while
    /// its threads wait, so dozens of CLI runs there would delay NIO's host-name resolution (new
    /// PostgreSQL and S3 connections) by tens of seconds.
    @discardableResult
    func run(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> Result {
        try await runOnOwnThread(named: "cli-test-run") { try self.runBlocking(arguments, environment: extra) }
    }

    private func runBlocking(_ arguments: [String], environment extra: [String: String]) throws -> Result {
        Self.collect(start(arguments, environment: extra))
    }

    /// Reads a started process's output to its end and waits for its exit (blocking).
    static func collect(_ process: Process) -> Result {
        let out = process.standardOutput as! Pipe, err = process.standardError as! Pipe
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Starts in the background (output captured to pipes).
    func start(_ arguments: [String], environment extra: [String: String] = [:]) -> Process {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = workDirectory
        process.environment = environment.merging(extra) { _, new in new }
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try! process.run()
        return process
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let url = workDirectory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// A small gbdt spec on the bundled iris data (`iris/spec.yaml` beside a copy of the CSV).
    func writeIrisSpec(name: String) throws -> URL {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/iris-species/iris.csv")
        try FileManager.default.createDirectory(at: workDirectory.appendingPathComponent("iris"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source, to: workDirectory.appendingPathComponent("iris/iris.csv"))
        return try write("iris/spec.yaml", """
            name: \(name)
            task: tabular-classification
            data: { train: iris.csv, target: species, validation: 0.2 }
            model: { algorithm: gbdt, params: { trees: 10 } }
            """)
    }

    /// `trainyard jobs show ID --json`, decoded loosely.
    func job(_ id: Int) async throws -> [String: Any] {
        let r = try await run(["jobs", "show", String(id), "--json"])
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
    }
}
