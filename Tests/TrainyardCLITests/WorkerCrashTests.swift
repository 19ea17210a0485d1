import Foundation
import Testing

/// A worker process killed with SIGKILL in the middle of a job: the job returns to the queue
/// when its lease expires, a second worker completes it, and exactly one version is registered.
@Suite("Worker crash recovery", .serialized)
struct WorkerCrashTests {
    @Test func killedWorkerJobIsRetriedAndRegisteredOnce() async throws {
        let cli = try CLIHarness()
        let marker = "crash-\(UUID().uuidString.prefix(8))"
        // The program trains until the test lets it finish (the go file): the first attempt is
        // killed mid-training however slow the machine is, the second one finishes.
        let go = cli.workDirectory.appendingPathComponent("go-\(marker)")
        _ = try cli.write("slow/train.py", """
            import os, sys, time
            # \(marker)
            step = 0
            while not os.path.exists(\"\(go.path)\"):
                step += 1
                print(f"metric: loss={1.0 / step} step={step}", flush=True)
                time.sleep(0.3)
            open(os.path.join(os.environ["TRAINYARD_MODEL_DIR"], "model.txt"), "w").write("done")
            """)
        let spec = try cli.write("slow/spec.yaml", """
            name: slow
            task: command
            command: ["python3", "train.py", "\(marker)"]
            retries: 2
            """)
        let lease = ["TRAINYARD_QUEUE_LEASE_SECONDS": "2"]
        #expect(try await cli.run(["train", spec.path], environment: lease).status == 0)

        let first = cli.start(["worker", "--workers", "1"], environment: lease)
        // Wait until the job runs and has made progress.
        var running = false
        for _ in 0..<300 {
            try await Task.sleep(for: .milliseconds(100))
            let job = try await cli.job(1)
            if job["state"] as? String == "running", job["progress"] != nil { running = true; break }
        }
        #expect(running)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        // The training program dies with its worker (parent-death signal; ChildLifetimeTests
        // checks that directly), so nothing of the first attempt writes anything more.
        #expect(FileManager.default.createFile(atPath: go.path, contents: Data()))

        let second = cli.start(["worker", "--workers", "1", "--exit-when-idle", "4s"], environment: lease)
        var finalState = ""
        for _ in 0..<300 {
            try await Task.sleep(for: .milliseconds(100))
            finalState = try await cli.job(1)["state"] as? String ?? ""
            if finalState == "succeeded" || finalState == "failed" { break }
        }
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        let job = try await cli.job(1)
        #expect(finalState == "succeeded")
        #expect(job["attempt"] as? Int == 2)
        // A succeeded job has no failure reason; the lost attempt is told in its log.
        #expect(job["failure_reason"] == nil || job["failure_reason"] is NSNull)
        let log = try await cli.run(["jobs", "logs", "1"]).stdout
        #expect(log.contains("attempt 1 lost its lease"), "\(log)")
        let versions = try await cli.run(["models", "show", "slow", "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(versions.stdout.utf8)) as? [[String: Any]]
        #expect(list?.count == 1)
        #expect(list?.first?["version"] as? Int == 1)
    }
}
