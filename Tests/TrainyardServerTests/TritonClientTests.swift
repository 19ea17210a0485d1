import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardCore
import TrainyardServing
import TrainyardTestSupport
@testable import TrainyardServer

/// The reference KServe V2 client, `tritonclient[http]` from PyPI, against a live server: binary
/// inputs and outputs (its default), JSON ones, BYTES both ways, readiness and metadata.
///
/// The client lives in `.build-venvs/tritonclient` (`scripts/tritonclient-venv`, run by
/// `.ci/run`). Without it the test is skipped with that instruction, unless
/// `TRAINYARD_REQUIRE_SERVICES=1`, where a missing client is a failure.
@Suite(.serialized) struct TritonClientTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let python = root.appendingPathComponent(".build-venvs/tritonclient/bin/python")
    static let available = FileManager.default.isExecutableFile(atPath: python.path)
    static let required = ProcessInfo.processInfo.environment["TRAINYARD_REQUIRE_SERVICES"] == "1"

    static let script = #"""
    import json, sys
    import numpy as np
    import tritonclient.http as http
    from tritonclient.utils import InferenceServerException

    client = http.InferenceServerClient(url=sys.argv[1])
    out = {"live": client.is_server_live(), "ready": client.is_model_ready("lin"),
           "metadata_inputs": [i["name"] for i in client.get_model_metadata("lin")["inputs"]]}

    def lin_inputs(binary):
        a = http.InferInput("a", [3], "FP32"); a.set_data_from_numpy(np.array([4, 0, 16], dtype=np.float32), binary_data=binary)
        b = http.InferInput("b", [3], "INT64"); b.set_data_from_numpy(np.array([1, 2, 3], dtype=np.int64), binary_data=binary)
        c = http.InferInput("c", [3], "BYTES"); c.set_data_from_numpy(np.array([b"u", b"v", b"u"], dtype=np.object_), binary_data=binary)
        return [a, b, c]

    # The client's defaults: binary inputs, every output in binary.
    out["binary"] = client.infer("lin", lin_inputs(True), request_id="r-1").as_numpy("prediction").tolist()
    # JSON inputs, one output asked for in JSON.
    result = client.infer("lin", lin_inputs(False), outputs=[http.InferRequestedOutput("prediction", binary_data=False)])
    out["json"] = result.as_numpy("prediction").tolist()
    out["json_response_has_data"] = "data" in result.get_output("prediction")
    # Versioned route, binary inputs and an explicitly binary output.
    out["versioned"] = client.infer("lin", lin_inputs(True), model_version="1",
                                    outputs=[http.InferRequestedOutput("prediction", binary_data=True)]).as_numpy("prediction").tolist()
    # BYTES in and out (a text classifier's labels).
    text = http.InferInput("text", [2], "BYTES")
    text.set_data_from_numpy(np.array(["a great and wonderful film".encode(), "an awful and boring film".encode()], dtype=np.object_))
    labels = client.infer("sent", [text]).as_numpy("label")
    out["labels"] = [l.decode() if isinstance(l, bytes) else str(l) for l in labels.tolist()]
    # A mistake is a 400 whose message the client shows.
    try:
        client.infer("lin", lin_inputs(True), outputs=[http.InferRequestedOutput("nope")])
        out["error"] = None
    except InferenceServerException as e:
        out["error"] = e.message()
    print(json.dumps(out))
    """#

    @Test(.enabled(if: available || required, "tritonclient is not installed: run scripts/tritonclient-venv (TRAINYARD_REQUIRE_SERVICES=1 makes this a failure)"))
    func referenceClientSpeaksTheBinaryExtension() async throws {
        guard Self.available else {
            Issue.record("TRAINYARD_REQUIRE_SERVICES=1 but \(Self.python.path) is missing: run scripts/tritonclient-venv")
            return
        }
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        try await RegisteredVersions.registerText("sent", services: fixture.services)
        let inference = fixture.app.inference(readiness: Readiness(), options: ServingOptions())
        defer { Task { await inference.server.shutdown() } }
        let router = TrainyardHTTPServer.buildRouter(services: fixture.services, readiness: Readiness(), extraRoutes: inference.routes)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: fixture.services.logger)
        try await app.test(.live) { client in
            // What the server answers the same rows with over JSON, for comparison.
            let reference = try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: [.contentType: "application/json"], body: body(
                #"{"inputs": [{"name": "a", "shape": [3], "datatype": "FP64", "data": [4, 0, 16]}, {"name": "b", "shape": [3], "datatype": "INT64", "data": [1, 2, 3]}, {"name": "c", "shape": [3], "datatype": "BYTES", "data": ["u", "v", "u"]}]}"#)).json()
            let expected = (reference["outputs"]?.arrayValue?.first?["data"]?.arrayValue ?? []).compactMap(\.doubleValue)
            #expect(expected.count == 3)

            let port = try #require(client.port)
            let (status, stdout, stderr) = try await Self.runPython(Self.script, arguments: ["127.0.0.1:\(port)"])
            #expect(status == 0, "tritonclient script failed: \(stderr)")
            let out = try JSON.decode(JSONValue.self, from: Data(stdout.utf8))
            #expect(out["live"] == .bool(true) && out["ready"] == .bool(true))
            #expect(out["metadata_inputs"] == .array([.string("a"), .string("b"), .string("c")]))
            for key in ["binary", "json", "versioned"] {
                #expect((out[key]?.arrayValue ?? []).compactMap(\.doubleValue) == expected, "\(key): \(stdout)")
            }
            #expect(out["json_response_has_data"] == .bool(true))
            #expect(out["labels"] == .array([.string("pos"), .string("neg")]), "\(stdout)")
            #expect(out["error"]?.stringValue?.contains("no output \"nope\"") == true, "\(stdout)")
        }
    }

    /// Runs `source` with the venv's Python; waits for its end without blocking a thread of the pool.
    static func runPython(_ source: String, arguments: [String]) async throws -> (Int32, String, String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tritonclient-\(UUID().uuidString).py")
        try Data(source.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = python
        process.arguments = [file.path] + arguments
        let stdout = FileManager.default.temporaryDirectory.appendingPathComponent("tritonclient-\(UUID().uuidString).out")
        let stderr = FileManager.default.temporaryDirectory.appendingPathComponent("tritonclient-\(UUID().uuidString).err")
        try Data().write(to: stdout)
        try Data().write(to: stderr)
        defer { try? FileManager.default.removeItem(at: stdout); try? FileManager.default.removeItem(at: stderr) }
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { process.terminationHandler = nil; continuation.resume(throwing: error) }
        }
        return (status, try String(contentsOf: stdout, encoding: .utf8), try String(contentsOf: stderr, encoding: .utf8))
    }
}
