import Foundation

/// Runs Python with boto3 against the test AWS endpoint (`TRAINYARD_SERVICES_PYTHON`, announced
/// by `scripts/services`): an independent client that sends what ours reads and reads what ours
/// wrote. The script finds `s3` and `sqs` clients for the endpoint ready (and `base64`,
/// `hashlib`, `json`, `os`, `sys`, `zlib` imported), and its arguments in `sys.argv[1:]`; what
/// it prints is returned (trimmed).
public enum Boto3 {
    public struct Failed: Error, CustomStringConvertible {
        public var message: String
        public var description: String { "boto3 script failed: \(message)" }
    }

    /// `runNow` on a thread of its own: the test's concurrency-pool thread (one of two on two
    /// cores) stays free while Python starts and runs.
    @discardableResult
    public static func run(_ script: String, _ arguments: [String] = []) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try runNow(script, arguments) }) }.start()
        }
    }

    /// Runs the script and waits for it, blocking the calling thread (for `defer` blocks, which
    /// cannot await).
    @discardableResult
    public static func runNow(_ script: String, _ arguments: [String] = []) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        guard let python = environment["TRAINYARD_SERVICES_PYTHON"], !python.isEmpty else {
            throw Failed(message: "TRAINYARD_SERVICES_PYTHON is not set: scripts/services start announces the python that has boto3")
        }
        let endpoint = try TestService.aws.require()
        let prelude = """
            import base64, boto3, hashlib, json, os, sys, zlib
            _kw = dict(endpoint_url=os.environ["TRAINYARD_TEST_AWS_ENDPOINT"], region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                       aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                       aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
            s3 = boto3.client("s3", **_kw)
            sqs = boto3.client("sqs", **_kw)

            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", prelude + script] + arguments
        var childEnvironment = environment
        childEnvironment["TRAINYARD_TEST_AWS_ENDPOINT"] = endpoint.absoluteString
        process.environment = childEnvironment
        // Files, not pipes: a chatty script cannot block on a full pipe while we wait for it.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("boto3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        let printed = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw Failed(message: ((try? String(contentsOf: err, encoding: .utf8)) ?? "").suffix(2000).description)
        }
        return printed.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
