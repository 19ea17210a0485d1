import Foundation
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardTestServices

/// A bucket of its own on the S3 endpoint `scripts/services` started (moto_server), the
/// application's `s3://` data store pointed at it, and boto3 as the independent client that
/// writes what Trainyard reads and reads back what it wrote.
struct MotoBucket {
    static var enabled: Bool { TestService.aws.shouldRun }
    static var skipReason: String { TestService.aws.skipReason }

    let name: String
    let endpoint: URL

    /// Creates the bucket (a missing endpoint fails under TRAINYARD_REQUIRE_SERVICES=1).
    init() async throws {
        endpoint = try TestService.aws.require()
        name = "trainyard-data-" + UUID().uuidString.lowercased().prefix(18)
        try await Self.boto3("s3.create_bucket(Bucket=sys.argv[1])", [name])
    }

    /// `s3://bucket/key`.
    func uri(_ key: String) -> String { "s3://\(name)/\(key)" }

    /// The data store `TrainyardApp.build` wires, on this endpoint: `TRAINYARD_S3_ENDPOINT`,
    /// credentials from the environment (`extra` overrides; no instance metadata).
    func dataObjects(_ extra: [String: String] = [:]) throws -> any DataObjectStore {
        var environment = ["TRAINYARD_S3_ENDPOINT": endpoint.absoluteString, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                           "AWS_ACCESS_KEY_ID": Self.environment("AWS_ACCESS_KEY_ID") ?? "testing",
                           "AWS_SECRET_ACCESS_KEY": Self.environment("AWS_SECRET_ACCESS_KEY") ?? "testing",
                           "HOME": "/nonexistent-trainyard-home"]
        environment.merge(extra) { _, new in new }
        return try TrainyardApp.openDataObjects(environment: environment.filter { !$0.value.isEmpty })
    }

    func put(_ key: String, _ text: String) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("moto-put-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(text.utf8).write(to: file)
        try await Self.boto3("s3.upload_file(sys.argv[3], sys.argv[1], sys.argv[2])", [name, key, file.path])
    }

    func get(_ key: String) async throws -> Data {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("moto-get-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try await Self.boto3("s3.download_file(sys.argv[1], sys.argv[2], sys.argv[3])", [name, key, file.path])
        return try Data(contentsOf: file)
    }

    func text(_ key: String) async throws -> String { String(decoding: try await get(key), as: UTF8.self) }

    /// Every key under `prefix`, sorted.
    func keys(under prefix: String = "") async throws -> [String] {
        let printed = try await Self.boto3("""
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1], Prefix=sys.argv[2]):
            for item in page.get("Contents", []):
                print(item["Key"])
        """, [name, prefix])
        return printed.split(separator: "\n").map(String.init).sorted()
    }

    /// Empties and deletes the bucket.
    func remove() {
        _ = try? Boto3.runNow("""
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1]):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=sys.argv[1], Key=item["Key"])
        s3.delete_bucket(Bucket=sys.argv[1])
        """, [name])
    }

    static func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }

    /// Runs a Python snippet with boto3 (`s3` a client for the test endpoint, `sys.argv[1:]` the
    /// arguments); returns what it printed. The shared runner (`TrainyardTestServices.Boto3`).
    @discardableResult
    static func boto3(_ script: String, _ arguments: [String] = []) async throws -> String {
        try await Boto3.run(script, arguments)
    }
}
