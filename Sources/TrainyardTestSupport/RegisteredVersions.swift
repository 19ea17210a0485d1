import Foundation
import TrainyardCore
import TrainyardRuntime
import TrainyardTabular
import TrainyardText

/// Registers model versions straight through the store (submit → lease → reserve → complete),
/// so serving and server tests get real versions without running a trainer.
public enum RegisteredVersions {
    /// Registers `files` as version N of `name` and returns N. The queued job runs a no-op
    /// `command` task, so the services need a trainer for `.command`.
    @discardableResult
    public static func register(_ name: String, task: TaskKind, files: [String: Data], inputSchema: JSONValue?, serve: [String]? = nil,
                                services: TrainyardServices) async throws -> Int {
        _ = try await services.submitter.submit("name: \(name)\ntask: command\ncommand: [\"true\"]\nretries: 0\n")
        guard let lease = try await services.store.dequeue(workerID: "test", kinds: [.train], leaseDuration: .seconds(60)) else {
            throw TrainyardError(.internal, "the job just submitted for \(name) could not be leased")
        }
        let model = try ModelName(name)
        let version = try await services.store.reserveVersion(lease.token)
        var entries: [ArtifactEntry] = []
        for (file, data) in files.sorted(by: { $0.key < $1.key }) {
            let stored = try await services.artifacts.put(ArtifactKeys.versionFile(model, version, file), data: data)
            entries.append(ArtifactEntry(name: file, sha256: stored.sha256, bytes: stored.bytes))
        }
        let manifest = Manifest(model: model, version: version, task: task, algorithm: "test", inputSchema: inputSchema,
                                lineage: Lineage(jobID: lease.job.id, attempt: lease.token.attempt, data: [], createdAt: Date()),
                                artifacts: entries, serve: serve)
        _ = try await services.store.complete(lease.token, registration: VersionRegistration(manifest: manifest, promote: nil))
        return version
    }

    /// y = 3a + 2b (+ offset) over 200 rows, with a categorical c ("u"/"v"); `offset` makes
    /// versions distinguishable by their answers.
    public static func tabularCSV(offset: Double) -> [UInt8] {
        var s = "a,b,c,y\n"
        for i in 0..<200 {
            let a = Double(i % 17), b = Double(i % 5)
            s += "\(a),\(b),\(i % 2 == 0 ? "u" : "v"),\(3 * a + 2 * b + offset)\n"
        }
        return Array(s.utf8)
    }

    /// Trains a small gbdt regression on `tabularCSV(offset:)` and registers it.
    @discardableResult
    public static func registerTabular(_ name: String, offset: Double = 0, services: TrainyardServices) async throws -> Int {
        let result = try TabularLearning.train(TabularTrainingRequest(task: .regression, params: ["trees": .int(10)], target: "y",
                                                                      train: tabularCSV(offset: offset)), observer: SilentObserver())
        let schema = try JSON.decode(JSONValue.self, from: try JSON.encode(result.schema))
        return try await register(name, task: .tabularRegression, files: ["model.bin": Data(result.model)], inputSchema: schema, services: services)
    }

    /// Trains a binary text classifier (pos/neg) on a tiny corpus and registers it.
    @discardableResult
    public static func registerText(_ name: String, services: TrainyardServices) async throws -> Int {
        var corpus = ""
        for i in 0..<40 {
            corpus += "__label__pos a great and wonderful film \(i)\n__label__neg an awful and boring film \(i)\n"
        }
        let result = try TextClassification.train(TextClassificationRequest(train: Array(corpus.utf8), format: .fasttext), observer: SilentObserver())
        return try await register(name, task: .textClassification, files: ["model.bin": Data(result.model)],
                                  inputSchema: .object(["type": .string("text")]), services: services)
    }

    /// Registers a bring-your-own version running `serveScript` (stdlib Python) that answers
    /// `constant + a` per row; `startDelay` seconds pass before it listens.
    @discardableResult
    public static func registerCommand(_ name: String, constant: Double, startDelay: Double = 0, services: TrainyardServices) async throws -> Int {
        try await register(name, task: .command,
                           files: ["serve.py": Data(serveScript.utf8),
                                   "model.json": Data("{\"constant\": \(constant), \"start_delay\": \(startDelay)}".utf8)],
                           inputSchema: nil, serve: ["python3", "serve.py"], services: services)
    }

    /// A stdlib-only serve process: `/ping` 200; `POST /invocations` with `{"instances"|"inputs"|
    /// "dataframe_records": rows}` answers `{"predictions": [constant + row.a]}`; a row with
    /// `"sleep": s` sleeps s seconds first (timeouts); a non-list gets a 400.
    public static let serveScript = #"""
    import json, os, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    model = json.load(open(os.path.join(os.environ["TRAINYARD_MODEL_DIR"], "model.json")))
    time.sleep(model.get("start_delay", 0))
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def do_GET(self):
            self.reply(200 if self.path == "/ping" else 404, {"status": "ok"})
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(n) or b"{}")
            rows = body.get("instances") or body.get("inputs") or body.get("dataframe_records") or []
            if not isinstance(rows, list):
                return self.reply(400, {"error": "instances must be a list"})
            for r in rows:
                if isinstance(r, dict) and "sleep" in r:
                    time.sleep(r["sleep"])
            out = [model["constant"] + (r.get("a", 0) if isinstance(r, dict) else 0) for r in rows]
            self.reply(200, {"predictions": out})
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
    """#
}
