import Foundation
import Testing
import TrainyardCore

/// What scripts and CI logs see of the CLI: a version, JSON errors under `--json`, output that
/// arrives while a job runs even when stdout is a pipe, and `--wait` refused before submitting
/// when the token cannot follow the job.
@Suite("CLI output for scripts and CI logs")
struct CLIOutputTests {
    @Test func versionIsPrinted() async throws {
        let cli = try CLIHarness()
        let r = try await cli.run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.split(separator: ".").count == 3, "got \(r.stdout)")
    }

    @Test func errorsUnderJSONAreTheAPIEnvelope() async throws {
        let cli = try CLIHarness()
        let r = try await cli.run(["jobs", "show", "999", "--json"])
        #expect(r.status == 2)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let error = try #require(object?["error"] as? [String: Any], "stdout: \(r.stdout) stderr: \(r.stderr)")
        #expect(error["code"] as? String == "not_found")
        #expect((error["message"] as? String)?.contains("999") == true)

        let spec = try cli.write("bad.yaml", "name: demo\ntask: tabular-regression\nretries: \"two\"\n")
        let bad = try await cli.run(["train", spec.path, "--json"])
        #expect(bad.status == 2)
        let badObject = try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any]
        let details = try #require((badObject?["error"] as? [String: Any])?["details"] as? [[String: Any]], "stdout: \(bad.stdout)")
        #expect(details.contains { $0["path"] as? String == "retries" && $0["line"] as? Int == 3 })
    }

    /// `train --wait` into a pipe: "submitted job" and the log lines show while the job is still
    /// running (the job waits for a file that the test writes only after reading them).
    @Test func pipedOutputArrivesWhileTheJobRuns() async throws {
        let cli = try CLIHarness()
        let release = cli.workDirectory.appendingPathComponent("release")
        _ = try cli.write("slow/train.sh", """
            echo "waiting for the test"
            while [ ! -f "\(release.path)" ]; do sleep 0.1; done
            echo done > "$TRAINYARD_MODEL_DIR/model.txt"
            """)
        let spec = try cli.write("slow/spec.yaml", """
            name: slow
            task: command
            command: ["sh", "train.sh"]
            timeout: 10m
            """)
        let process = cli.start(["train", spec.path, "--wait"])
        defer { if process.isRunning { process.terminate() } }
        let reader = LineCollector((process.standardOutput as! Pipe).fileHandleForReading)
        let seen = await reader.waitFor("waiting for the test", timeout: .seconds(120))
        #expect(seen, "nothing reached the pipe while the job ran: \(reader.text)")
        #expect(reader.text.contains("submitted job"))
        #expect(process.isRunning, "the job ended before the test released it")
        try Data().write(to: release)
        try await runOnOwnThread(named: "test-wait") { process.waitUntilExit() }
        #expect(process.terminationStatus == 0, "\(reader.text)")
    }

    /// A token that may train but not read: `train --wait` is refused before anything is
    /// submitted (it could not follow the job), with exit code 2; without --wait it submits.
    @Test func waitWithATrainOnlyTokenSubmitsNothing() async throws {
        let cli = try CLIHarness()
        let port = try CrossProcessAliasTests.freePort()
        let tokens = ["TRAINYARD_AUTH_TOKENS": "boss:admin-secret-1:admin,ci:train-secret-1:train"]
        let server = cli.start(["server", "--port", String(port)], environment: tokens)
        defer { server.terminate(); server.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        var up = false
        for _ in 0..<600 {
            if (try? await CrossProcessAliasTests.request("\(base)/healthz"))?.0 == 200 { up = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(up, "the server did not start")
        _ = try cli.write("job/data.csv", "x,y\n1,2\n3,4\n")
        let spec = try cli.write("job/spec.yaml", """
            name: tokened
            task: command
            command: ["true"]
            data: { train: data.csv }
            """)
        let remote = ["--server", base]
        let refused = try await cli.run(["train", spec.path, "--wait"] + remote, environment: ["TRAINYARD_TOKEN": "train-secret-1"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("read scope") && refused.stderr.contains("nothing was submitted"), "\(refused.stderr)")
        let listed = try await cli.run(["jobs", "ls", "--json"] + remote, environment: ["TRAINYARD_TOKEN": "admin-secret-1"])
        #expect(listed.status == 0)
        #expect(!listed.stdout.contains("tokened"), "a job was submitted: \(listed.stdout)")
        let submitted = try await cli.run(["train", spec.path] + remote, environment: ["TRAINYARD_TOKEN": "train-secret-1"])
        #expect(submitted.status == 0, "\(submitted.stderr)")
    }
}

/// Collects a pipe's output on a background thread, so a test can wait for a line to appear.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                lock.withLock { buffer += String(decoding: chunk, as: UTF8.self) }
            }
        }
    }

    var text: String { lock.withLock { buffer } }

    /// Polls until `needle` shows up or `timeout` passes (a generous bound: it only matters
    /// when output is held back, which is the failure this detects).
    func waitFor(_ needle: String, timeout: Duration) async -> Bool {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            if text.contains(needle) { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return text.contains(needle)
    }
}
