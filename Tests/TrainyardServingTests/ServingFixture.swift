import Foundation
import Logging
import Testing
import TrainyardCore
import TrainyardRuntime
import TrainyardServing
import TrainyardTabular

/// A trainer that trains nothing: versions are registered through the store directly.
struct NoTrainer: Trainer {
    func validate(_ spec: ParsedSpec) throws(TrainyardError) {}
    func train(_ run: TrainingRun) async throws -> TrainingOutput { TrainingOutput(algorithm: "none", artifacts: [:], metrics: [:]) }
}

/// Services on a temporary folder, with helpers that register real (small) models.
struct ServingFixture {
    let services: TrainyardServices
    let directory: URL

    static func make() async throws -> ServingFixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-serving-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configuration = TrainyardConfiguration(dataDirectory: directory, serverPort: 0)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let services = try await TrainyardServices.embedded(configuration, trainers: TrainerRegistry([.command: NoTrainer()]), logger: logger)
        return ServingFixture(services: services, directory: directory)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// y = 3a + 2b (+ offset), a categorical c; `offset` makes versions distinguishable.
    static func csv(offset: Double) -> [UInt8] {
        var s = "a,b,c,y\n"
        for i in 0..<200 {
            let a = Double(i % 17), b = Double(i % 5)
            s += "\(a),\(b),\(i % 2 == 0 ? "u" : "v"),\(3 * a + 2 * b + offset)\n"
        }
        return Array(s.utf8)
    }

    /// Registers a tabular regression version of `name` trained on `csv(offset:)`.
    @discardableResult
    func registerTabular(_ name: String, offset: Double = 0) async throws -> Int {
        let result = try TabularLearning.train(TabularTrainingRequest(task: .regression, params: ["trees": .int(10)], target: "y", train: Self.csv(offset: offset)),
                                               observer: SilentObserver())
        let schema = try JSON.decode(JSONValue.self, from: try JSON.encode(result.schema))
        return try await register(name, task: .tabularRegression, files: ["model.bin": Data(result.model)], inputSchema: schema)
    }

    /// Registers a bring-your-own version whose model folder holds `serve.py` (stdlib only).
    @discardableResult
    func registerCommand(_ name: String, constant: Double) async throws -> Int {
        try await register(name, task: .command, files: ["serve.py": Data(Self.serveScript.utf8), "model.json": Data("{\"constant\": \(constant)}".utf8)],
                           inputSchema: nil, serve: ["python3", "serve.py"])
    }

    func register(_ name: String, task: TaskKind, files: [String: Data], inputSchema: JSONValue?, serve: [String]? = nil) async throws -> Int {
        _ = try await services.submitter.submit("name: \(name)\ntask: command\ncommand: [\"true\"]\nretries: 0\n")
        let lease = try #require(try await services.store.dequeue(workerID: "test", kinds: [.train], leaseDuration: .seconds(60)))
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

    /// Answers `{"instances": rows}` with `constant + a` per row (or `constant` for non-objects);
    /// `/ping` 200. Reads model.json from TRAINYARD_MODEL_DIR.
    static let serveScript = #"""
    import json, os, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    model = json.load(open(os.path.join(os.environ["TRAINYARD_MODEL_DIR"], "model.json")))
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
            out = [model["constant"] + (r.get("a", 0) if isinstance(r, dict) else 0) for r in rows]
            self.reply(200, {"predictions": out})
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
    """#
}
