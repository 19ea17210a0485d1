import Foundation
import Testing
import TrainyardTestSupport

/// A worker killed with SIGKILL leaves no training program behind: the program has a
/// parent-death signal, so it does not train on as an orphan (past the job's timeout, next to
/// the retry).
@Suite("Child lifetime", .serialized)
struct ChildLifetimeTests {

    @Test func aKilledWorkerLeavesNoRunningChild() async throws {
        let cli = try CLIHarness()
        let pidFile = cli.workDirectory.appendingPathComponent("child.pid")
        _ = try cli.write("sleeper/train.sh", """
            echo $$ > "$PID_FILE.tmp" && mv "$PID_FILE.tmp" "$PID_FILE"
            while true; do sleep 1; done
            """)
        let spec = try cli.write("sleeper/spec.yaml", """
            name: sleeper
            task: command
            command: ["sh", "train.sh"]
            env: { PID_FILE: "\(pidFile.path)" }
            timeout: 1h
            """)
        let submitted = try await cli.run(["train", spec.path])
        #expect(submitted.status == 0, "\(submitted.stderr)")

        let worker = cli.start(["worker", "--workers", "1"])
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
        var started = false
        for _ in 0..<600 where !started {
            try await Task.sleep(for: .milliseconds(100))
            started = FileManager.default.fileExists(atPath: pidFile.path)
        }
        try #require(started, "the training program never started")
        let child = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(isProcessRunning(child))

        kill(worker.processIdentifier, SIGKILL)
        worker.waitUntilExit()
        var gone = false
        for _ in 0..<600 where !gone {  // up to 60 s
            gone = !isProcessRunning(child)
            if !gone { try await Task.sleep(for: .milliseconds(100)) }
        }
        if !gone { kill(child, SIGKILL) }  // do not leave it behind for the next test
        #expect(gone, "the training program \(child) outlived its killed worker")
    }
}
