import Foundation
import Testing
import TrainyardCore

/// A store that cannot be written (`chmod -w`, a read-only mount) can still be read: listing
/// models and jobs, and serving. Run as a user without write access (as root, the tests drop to
/// `nobody` with setpriv, since root ignores file modes).
@Suite("Read-only store", .serialized)
struct ReadOnlyStoreTests {
    static let nobody = "65534"
    static var isRoot: Bool { geteuid() == 0 }

    /// Whether the built binary can be run as `nobody` here (it lives in a folder others can enter).
    static let canRunAsOtherUser: Bool = {
        guard isRoot else { return true }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        probe.arguments = ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", CLIHarness.binary.path, "--help"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// The CLI as a user who cannot write the store.
    func startReadOnly(_ cli: CLIHarness, _ arguments: [String]) throws -> Process {
        let process = Process()
        if Self.isRoot {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", CLIHarness.binary.path] + arguments
        } else {
            process.executableURL = CLIHarness.binary
            process.arguments = arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        process.environment = cli.environment
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        return process
    }

    func runReadOnly(_ cli: CLIHarness, _ arguments: [String]) async throws -> CLIHarness.Result {
        let process = try startReadOnly(cli, arguments)
        return try await runOnOwnThread(named: "cli-test-run") { CLIHarness.collect(process) }
    }

    /// Folders r-x and files r-- for everyone: readable by the other user, writable by no one but root.
    static func makeReadOnly(_ root: URL) throws {
        let fm = FileManager.default
        var items = [root.path]
        if let walker = fm.enumerator(atPath: root.path) { items += walker.compactMap { $0 as? String }.map { root.appendingPathComponent($0).path } }
        for path in items.reversed() {
            var isDirectory: ObjCBool = false
            _ = fm.fileExists(atPath: path, isDirectory: &isDirectory)
            try fm.setAttributes([.posixPermissions: isDirectory.boolValue ? 0o555 : 0o444], ofItemAtPath: path)
        }
    }

    @Test(.enabled(if: canRunAsOtherUser)) func readOnlyStoreCanBeListedAndServed() async throws {
        let cli = try CLIHarness()
        let spec = try cli.writeIrisSpec(name: "flowers")
        #expect(try await cli.run(["train", spec.path]).status == 0)
        let worker = try await cli.run(["worker", "--workers", "1", "--exit-when-idle", "1s"])
        #expect(worker.status == 0, "\(worker.stderr)")
        #expect(try await cli.run(["alias", "set", "flowers", "production", "1"]).status == 0)

        // The folder holding the data folder must be enterable by the other user.
        let top = cli.dataDirectory.deletingLastPathComponent()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: top.path)
        try Self.makeReadOnly(cli.dataDirectory)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: cli.dataDirectory.path) }

        let models = try await runReadOnly(cli, ["models", "ls"])
        #expect(models.status == 0, "\(models.stderr)")
        #expect(models.stdout.contains("flowers"), "\(models.stdout)")
        let jobs = try await runReadOnly(cli, ["jobs", "ls"])
        #expect(jobs.status == 0, "\(jobs.stderr)")
        #expect(jobs.stdout.contains("succeeded"), "\(jobs.stdout)")

        // Writing is refused with a reason, not a crash.
        let train = try await runReadOnly(cli, ["train", spec.path])
        #expect(train.status != 0)
        let said = train.stderr.lowercased()
        #expect(said.contains("read-only") || said.contains("permission denied"), "\(train.stderr)")

        // Serving reads the store and the model files.
        let port = try CrossProcessAliasTests.freePort()
        let server = try startReadOnly(cli, ["server", "--port", String(port)])
        defer { server.terminate(); server.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        var up = false
        for _ in 0..<600 where server.isRunning {
            if (try? await CrossProcessAliasTests.request("\(base)/healthz"))?.0 == 200 { up = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        if !up, !server.isRunning {
            let err = (server.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile()
            Issue.record("the server exited: \(String(decoding: err, as: UTF8.self))")
        }
        try #require(up, "the server did not start")
        let row = #"{"inputs": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}"#
        let (status, version) = try await CrossProcessAliasTests.request("\(base)/api/v1/models/flowers/predict?alias=production", body: row)
        #expect(status == 200)
        #expect(version == "1")
    }
}
