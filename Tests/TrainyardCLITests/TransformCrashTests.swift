import Foundation
import Testing

/// A worker process killed with SIGKILL in the middle of a transform: the job returns to the
/// queue when its lease expires, a second worker scores the file again, and the output folder
/// ends with the complete output once, and no partial or duplicate file.
@Suite("Transform crash recovery", .serialized)
struct TransformCrashTests {
    @Test func killedWorkerTransformIsRedoneAndCommittedOnce() async throws {
        let cli = try CLIHarness()
        let go = cli.workDirectory.appendingPathComponent("go")
        // A bring-your-own model whose serve process answers two requests, then holds every
        // further one until the test creates the go file: the first attempt is killed with
        // part of its output written, however fast or slow the machine is.
        _ = try cli.write("byom/train.py", """
            import json, os
            json.dump({"k": 3}, open(os.path.join(os.environ["TRAINYARD_MODEL_DIR"], "model.json"), "w"))
            """)
        _ = try cli.write("byom/serve.py", """
            import json, os, time
            from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
            K = json.load(open(os.path.join(os.environ["TRAINYARD_MODEL_DIR"], "model.json")))["k"]
            served = [0]
            class H(BaseHTTPRequestHandler):
                def log_message(self, *a): pass
                def answer(self, code, body):
                    data = json.dumps(body).encode()
                    self.send_response(code); self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
                def do_GET(self): self.answer(200, {"ok": True})
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                    served[0] += 1
                    while served[0] > 2 and not os.path.exists(\(String(reflecting: go.path))):
                        time.sleep(0.05)
                    rows = [line.split(",") for line in body.splitlines() if line]
                    self.answer(200, {"predictions": [float(r[0]) * K for r in rows]})
            ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
            """)
        let spec = try cli.write("byom/spec.yaml", """
            name: tripler
            task: command
            command: ["python3", "train.py"]
            serve: ["python3", "serve.py"]
            """)
        #expect(try await cli.run(["train", spec.path, "--wait"]).status == 0)
        var text = "a,b\n"
        for i in 0..<20_000 { text += "\(i),\(i % 7)\n" }
        let input = try cli.write("input/data.csv", text)
        let output = cli.workDirectory.appendingPathComponent("output")
        let settings = ["TRAINYARD_TRANSFORM_BLOCK_KB": "16", "TRAINYARD_TRANSFORM_MAX_CONCURRENT": "1"]
        let submitted = try await cli.run(["transform", "tripler", "--input", input.path, "--output", output.path, "--json"], environment: settings)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let id = try #require((try JSONSerialization.jsonObject(with: Data(submitted.stdout.utf8)) as? [String: Any])?["id"] as? Int)

        // The job returns to the queue when the killed worker's lease expires, so that lease is
        // short, but not so short that a loaded machine's stalled heartbeat loses it before the
        // kill (CI runs with 2 s and 3 s leases did: attempt 2 started on the first worker, was
        // killed, and the job had no attempt left). The second worker leases for 30 s.
        var firstSettings = settings
        firstSettings["TRAINYARD_QUEUE_LEASE_SECONDS"] = "10"
        let first = cli.start(["worker", "--workers", "1"], environment: firstSettings)
        var midway = false
        for _ in 0..<600 {
            try await Task.sleep(for: .milliseconds(100))
            let job = try await cli.job(id)
            if job["state"] as? String == "running", let progress = job["progress"] as? [String: Any], (progress["rows"] as? Int ?? 0) > 0 {
                midway = true
                break
            }
        }
        #expect(midway)
        let partial = try FileManager.default.contentsOfDirectory(atPath: output.path).filter { $0.hasSuffix(".tmp") }
        #expect(!partial.isEmpty, "the first attempt was writing its output")
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(FileManager.default.createFile(atPath: go.path, contents: Data()))

        var secondSettings = settings
        secondSettings["TRAINYARD_QUEUE_LEASE_SECONDS"] = "30"
        let second = cli.start(["worker", "--workers", "1", "--exit-when-idle", "15s"], environment: secondSettings)
        var state = ""
        for _ in 0..<1200 {
            try await Task.sleep(for: .milliseconds(100))
            state = try await cli.job(id)["state"] as? String ?? ""
            if state == "succeeded" || state == "failed" { break }
        }
        second.waitUntilExit()
        let job = try await cli.job(id)
        #expect(state == "succeeded", "\(job["failure_reason"] ?? "")")
        #expect(job["attempt"] as? Int == 2)
        // The complete output once; no temporary file of either attempt; the summary.
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).sorted() == ["_SUCCESS.json", "data.csv.out"])
        let lines = try String(contentsOf: output.appendingPathComponent("data.csv.out"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 20_001)
        #expect(lines.first == "prediction")
        #expect(lines.dropFirst().enumerated().allSatisfy { i, line in Double(line) == Double(i * 3) })
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("_SUCCESS.json"))) as? [String: Any]
        #expect(summary?["rows_out"] as? Int == 20_000)
    }
}
