import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardRuntime
import TrainyardTestServices
@testable import TrainyardServer

/// `POST /api/v1/triggers` with a watch on `s3://bucket/prefix`: refused (400, saying why) by a
/// server without S3 data access and for a malformed prefix; on S3 (moto) created for a token
/// holder under `server.data_roots` (an `s3://` URI is not a local path), shown with its prefix
/// and listing cursor, and a missing bucket is a 400 naming it.
@Suite("Control API: s3:// watch triggers")
struct S3WatchTriggerRoutesTests {
    static func watch(_ name: String, path: String, output: String = "s3://bucket/out/") -> String {
        """
        {"name": "\(name)", "watch": {"path": "\(path)", "glob": "*.csv"}, "transform": {"model": "iris@production", "output": "\(output)"}}
        """
    }

    static func application(_ services: TrainyardServices) -> some ApplicationProtocol {
        Application(router: TrainyardHTTPServer.buildRouter(services: services, readiness: Readiness(), options: .init(pollInterval: .milliseconds(20))),
                    logger: services.logger)
    }

    @Test func withoutS3DataAccessOrWithABadPrefixItIsA400() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        var services = f.services
        services.dataObjects = nil
        try await Self.application(services).test(.router) { client in
            for (request, expected) in [
                (Self.watch("n", path: "s3://bucket/in"), "s3:// prefixes need S3 data access"),
                (Self.watch("n", path: "s3://Bad_Bucket/in"), "is not an S3 bucket name"),
                (Self.watch("n", path: "s3://"), "names no bucket"),
            ] {
                let response = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: TriggerRoutesTests.json, body: body(request))
                #expect(response.status == .badRequest, "\(request): \(response.text)")
                #expect(response.text.contains(expected), "\(request): \(response.text)")
            }
        }
        #expect(try await f.store.triggers().isEmpty)
    }

    @Test(.enabled(if: TestService.aws.shouldRun, "\(TestService.aws.skipReason)"))
    func onS3ATokenHolderCreatesAWatchOnABucketAndAMissingBucketIsA400() async throws {
        let endpoint = try TestService.aws.require()
        let bucket = "routes-watch-" + UUID().uuidString.lowercased().prefix(18)
        try await Boto3.run("s3.create_bucket(Bucket=sys.argv[1])", [bucket])
        defer { _ = try? Boto3.runNow("s3.delete_bucket(Bucket=sys.argv[1])", [bucket]) }
        let tokens = [AccessToken(name: "ci", secret: "train-secret-s3-watch", scopes: [.train, .read])]
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-s3-watch-roots-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let f = try await Fixture.make(tokens: tokens) { $0.dataRoots = [root.path] }
        defer { f.remove() }
        var services = f.services
        services.dataObjects = try TrainyardApp.openDataObjects(environment: [
            "TRAINYARD_S3_ENDPOINT": endpoint.absoluteString, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": ProcessInfo.processInfo.environment["AWS_ACCESS_KEY_ID"] ?? "testing",
            "AWS_SECRET_ACCESS_KEY": ProcessInfo.processInfo.environment["AWS_SECRET_ACCESS_KEY"] ?? "testing",
        ])
        let headers = TriggerRoutesTests.headers("train-secret-s3-watch")
        try await Self.application(services).test(.router) { client in
            let created = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: headers,
                                                   body: body(Self.watch("landing", path: "s3://\(bucket)/in", output: "s3://\(bucket)/out/")))
            #expect(created.status == .created, "\(created.text)")
            let shown = try await client.execute(uri: "/api/v1/triggers/landing", method: .get, headers: headers)
            let json = try shown.json()
            #expect(json["watch"]?["path"]?.stringValue == "s3://\(bucket)/in/" && json["kind"]?.stringValue == "watch")
            #expect(json["status"]?["fired_count"] == .int(0))
            let missing = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: headers,
                                                   body: body(Self.watch("gone", path: "s3://\(bucket)-missing/in", output: "s3://\(bucket)/out/")))
            #expect(missing.status == .badRequest && missing.text.contains("\(bucket)-missing"), "\(missing.text)")
        }
        #expect(try await f.store.triggers().map(\.name.rawValue) == ["landing"])
    }
}
