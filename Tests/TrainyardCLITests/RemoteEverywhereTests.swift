import Foundation
import Testing

/// Issue 12, "remote everywhere": a CLI pointed at a server (`--server`, or `TRAINYARD_URL`)
/// does everything there and never creates a local store; `evaluate --server` works (the data
/// goes up as a blob, the server scores it); the roles that run on stores refuse `--server`.
@Suite("CLI pointed at a server", .serialized)
struct RemoteEverywhereTests {
    /// `trainyard up` on its own data folder, in its own working folder, on a free port.
    struct RunningServer {
        let harness: CLIHarness
        let process: Process
        let url: String

        static func start() async throws -> RunningServer {
            let harness = try CLIHarness()
            let port = try CrossProcessAliasTests.freePort()
            let process = harness.start(["up", "--port", String(port), "--workers", "1"])
            let url = "http://127.0.0.1:\(port)"
            for _ in 0..<1200 {
                if (try? await CrossProcessAliasTests.request("\(url)/healthz"))?.0 == 200 { return RunningServer(harness: harness, process: process, url: url) }
                try await Task.sleep(for: .milliseconds(50))
            }
            process.terminate()
            process.waitUntilExit()
            throw CommandFailureInTest("the server did not start")
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    struct CommandFailureInTest: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The client's environment: `TRAINYARD_DATA_DIR` is the default (`./.trainyard`, relative
    /// to the working folder), so a local store would appear right there.
    static let clientEnvironment = ["TRAINYARD_DATA_DIR": ".trainyard"]

    static func localStoreExists(_ client: CLIHarness) -> Bool {
        FileManager.default.fileExists(atPath: client.workDirectory.appendingPathComponent(".trainyard").path)
            || FileManager.default.fileExists(atPath: client.dataDirectory.path)
    }

    @Test func noRemoteCommandCreatesALocalStore() async throws {
        let server = try await RunningServer.start()
        defer { server.stop() }
        let client = try CLIHarness()
        let spec = try client.writeIrisSpec(name: "flowers")
        let data = client.workDirectory.appendingPathComponent("iris/iris.csv").path
        let rows = try client.write("rows.json", #"[{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]"#)
        let watched = client.workDirectory.appendingPathComponent("incoming")
        try FileManager.default.createDirectory(at: watched, withIntermediateDirectories: true)

        @discardableResult
        func remote(_ arguments: [String], expect status: Int32 = 0, sourceLocation: SourceLocation = #_sourceLocation) async throws -> CLIHarness.Result {
            let result = try await client.run(arguments + ["--server", server.url], environment: Self.clientEnvironment)
            #expect(result.status == status, "\(arguments.joined(separator: " ")): \(result.stderr)", sourceLocation: sourceLocation)
            #expect(!Self.localStoreExists(client), "\(arguments.joined(separator: " ")) created a local store", sourceLocation: sourceLocation)
            return result
        }

        try await remote(["train", spec.path, "--check"])
        try await remote(["train", spec.path, "--wait"])
        let delayed = try await remote(["train", spec.path, "--delay", "1h", "--json"])
        let delayedID = try #require((try JSONSerialization.jsonObject(with: Data(delayed.stdout.utf8)) as? [String: Any])?["id"] as? Int)
        try await remote(["jobs", "ls"])
        try await remote(["jobs", "show", "1"])
        try await remote(["jobs", "logs", "1"])
        try await remote(["jobs", "cancel", String(delayedID)])
        try await remote(["models", "ls"])
        try await remote(["models", "show", "flowers"])
        try await remote(["alias", "set", "flowers", "production", "1"])
        try await remote(["alias", "ls", "flowers"])
        try await remote(["predict", "flowers@production", "--file", rows.path])
        try await remote(["evaluate", "flowers", "--data", data])
        try await remote(["transform", "flowers", "--input", data, "--output", client.workDirectory.appendingPathComponent("scored").path, "--wait"])
        try await remote(["watch", "add", "incoming", "--path", watched.path, "--glob", "*.csv", "--transform", "flowers",
                          "--output", client.workDirectory.appendingPathComponent("watched-out").path, "--paused"])
        try await remote(["schedule", "add", "nightly", "--cron", "0 3 * * *", "--tz", "UTC", "--train", spec.path, "--paused"])
        try await remote(["triggers", "ls"])
        try await remote(["triggers", "show", "incoming"])
        try await remote(["triggers", "resume", "incoming"])
        try await remote(["triggers", "pause", "incoming"])
        try await remote(["triggers", "rm", "nightly"])
        try await remote(["alias", "rm", "flowers", "production"])
        // Refused, and still nothing local.
        let worker = try await remote(["worker"], expect: 2)
        #expect(worker.stderr.contains("--metadata") && worker.stderr.contains("TRAINYARD_METADATA_URL") && worker.stderr.contains("TRAINYARD_ARTIFACTS_URL"),
                "\(worker.stderr)")

        // TRAINYARD_URL instead of the flag: the same.
        let byEnvironment = try await client.run(["models", "ls", "--json"], environment: Self.clientEnvironment.merging(["TRAINYARD_URL": server.url]) { $1 })
        #expect(byEnvironment.status == 0 && byEnvironment.stdout.contains("flowers"), "\(byEnvironment.stderr)")
        #expect(!Self.localStoreExists(client))
    }

    /// `evaluate --server` prints what local `evaluate` prints on the same store and data (the
    /// same metrics), uploads the data as a blob, and reports a bad file or model as usage errors.
    @Test func remoteEvaluationMatchesLocalEvaluation() async throws {
        let server = try await RunningServer.start()
        defer { server.stop() }
        let client = try CLIHarness()
        let spec = try client.writeIrisSpec(name: "petals")
        let data = client.workDirectory.appendingPathComponent("iris/iris.csv").path
        let trained = try await client.run(["train", spec.path, "--wait", "--server", server.url], environment: Self.clientEnvironment)
        #expect(trained.status == 0, "\(trained.stderr)")

        let remote = try await client.run(["evaluate", "petals", "--data", data, "--server", server.url, "--json"], environment: Self.clientEnvironment)
        #expect(remote.status == 0, "\(remote.stderr)")
        // Local evaluation on the server's own store (SQLite is shared safely between processes).
        let local = try await server.harness.run(["evaluate", "petals", "--data", data, "--json"])
        #expect(local.status == 0, "\(local.stderr)")
        let remoteResult = try #require(try JSONSerialization.jsonObject(with: Data(remote.stdout.utf8)) as? [String: Any])
        let localResult = try #require(try JSONSerialization.jsonObject(with: Data(local.stdout.utf8)) as? [String: Any])
        #expect(Set(remoteResult.keys) == Set(localResult.keys))
        #expect(remoteResult["metrics"] as? [String: Double] == localResult["metrics"] as? [String: Double])
        #expect((remoteResult["metrics"] as? [String: Double])?["accuracy"] != nil)
        #expect(remoteResult["rows"] as? Int == 150 && remoteResult["data"] as? String == data)
        #expect(remoteResult["model"] as? String == "petals" && remoteResult["version"] as? Int == 1)

        // The table, as locally.
        let table = try await client.run(["evaluate", "petals:1", "--data", data, "--server", server.url], environment: Self.clientEnvironment)
        #expect(table.status == 0 && table.stdout.contains("petals:1 on iris.csv (150 rows") && table.stdout.contains("accuracy"), "\(table.stdout)")

        // The data went up as a blob: the server's store holds it.
        let blobs = server.harness.dataDirectory.appendingPathComponent("artifacts")
        let stored = FileManager.default.enumerator(atPath: blobs.path)?.compactMap { $0 as? String }.filter { $0.contains("blobs/sha256/") } ?? []
        #expect(!stored.isEmpty)

        let missingFile = try await client.run(["evaluate", "petals", "--data", "nothing.csv", "--server", server.url], environment: Self.clientEnvironment)
        #expect(missingFile.status == 2 && missingFile.stderr.contains("nothing.csv"), "\(missingFile.stderr)")
        let missingModel = try await client.run(["evaluate", "nothing", "--data", data, "--server", server.url], environment: Self.clientEnvironment)
        #expect(missingModel.status == 2 && missingModel.stderr.contains("nothing"), "\(missingModel.stderr)")
        let notLabelled = try client.write("unlabelled.csv", "a,b\n1,2\n")
        let wrongData = try await client.run(["evaluate", "petals", "--data", notLabelled.path, "--server", server.url], environment: Self.clientEnvironment)
        #expect(wrongData.status == 2, "\(wrongData.stderr)")
        #expect(!Self.localStoreExists(client))
    }

    /// The roles run on stores: `--server` is refused with exit 2 before anything is opened.
    @Test func rolesRefuseTheServerOption() async throws {
        let client = try CLIHarness()
        let worker = try await client.run(["worker", "--server", "http://127.0.0.1:9"], environment: Self.clientEnvironment)
        #expect(worker.status == 2)
        #expect(worker.stderr.contains("a worker does not connect to a server") && worker.stderr.contains("postgres://")
                && worker.stderr.contains("s3://"), "\(worker.stderr)")
        for role in [["up"], ["server"], ["quickstart", "--no-serve"]] {
            let refused = try await client.run(role + ["--server", "http://127.0.0.1:9"], environment: Self.clientEnvironment)
            #expect(refused.status == 2, "\(role): \(refused.stderr)")
            #expect(refused.stderr.contains("--server is for commands that talk to a running server"), "\(refused.stderr)")
        }
        #expect(!Self.localStoreExists(client))
    }
}
