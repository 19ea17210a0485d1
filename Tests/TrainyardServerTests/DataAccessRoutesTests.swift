import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime
@testable import TrainyardServer

/// Issue 9 item 1: a `train` token must not turn the server into a file reader. With tokens (or a
/// bind beyond loopback) a spec over HTTP names only blobs, s3:// or files under server.data_roots;
/// refusals are one 403 that tells nothing about the file, and nothing is read, staged or queued.
@Suite("Control API: what a submitted spec may read")
struct DataAccessRoutesTests {
    static let trainSecret = "train-secret-data-access"
    static let tokens = [AccessToken(name: "ci", secret: trainSecret, scopes: [.train, .read])]

    /// Real trainers (the tabular one reads CSV headers at submit time) behind the router.
    struct Server {
        let services: TrainyardServices
        let directory: URL
        let dataRoot: URL

        init(tokens: [AccessToken], host: String = "127.0.0.1") async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-data-access-\(UUID().uuidString)")
            dataRoot = directory.appendingPathComponent("lake")
            try FileManager.default.createDirectory(at: dataRoot, withIntermediateDirectories: true)
            var configuration = TrainyardConfiguration(dataDirectory: directory.appendingPathComponent("store"), serverHost: host, serverPort: 0,
                                                       insecure: true, tokens: tokens, dataRoots: [dataRoot.path])
            configuration.maxBodyBytes = 1 << 20
            var logger = Logger(label: "data-access-test")
            logger.logLevel = .critical
            services = try await TrainyardApp.build(configuration, trainers: .standard, logger: logger).services
        }

        func application() -> some ApplicationProtocol {
            Application(router: TrainyardHTTPServer.buildRouter(services: services, readiness: Readiness(), options: .init(pollInterval: .milliseconds(20))),
                        logger: services.logger)
        }

        func write(_ relative: String, _ text: String) throws -> URL {
            let url = directory.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }

        var jobs: [Job] { get async throws { try await services.store.jobs(JobFilter()) } }
        var blobs: [String] { get async throws { try await services.artifacts.list(prefix: "blobs/") } }
        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    static func spec(train: String, validation: String? = nil) -> String {
        var text = "name: probe\ntask: tabular-regression\ndata:\n  train: \"\(train)\"\n  target: price\n"
        if let validation { text += "  validation: \"\(validation)\"\n" }
        return text
    }

    static func headers(_ secret: String? = trainSecret) -> HTTPFields {
        var fields: HTTPFields = [.contentType: "application/yaml"]
        if let secret { fields[.authorization] = "Bearer \(secret)" }
        return fields
    }

    /// Values whose presence in a reply would mean a file was read and echoed.
    static var secrets: [String] {
        let environment = ProcessInfo.processInfo.environment
        return [trainSecret, "root:", "PATH=", "hunter2"] + [environment["PATH"], environment["HOME"]].compactMap { $0 }.filter { $0.count > 3 }
    }

    @Test func serverFilesAreRefusedAliveAndNothingIsRead() async throws {
        let server = try await Server(tokens: Self.tokens)
        defer { server.remove() }
        let outside = try server.write("private/secret.csv", "price,password\n1,hunter2\n")
        let inside = try server.write("lake/train.csv", "size,price\n1,2\n2,4\n")
        try FileManager.default.createSymbolicLink(atPath: server.dataRoot.appendingPathComponent("escape.csv").path, withDestinationPath: outside.path)
        let forbidden = ["/proc/self/environ", "file:///etc/shadow", "/etc/shadow", "/etc/passwd", "file:///etc/passwd",
                         "/nonexistent-\(UUID().uuidString)/train.csv", "/etc/no-such-file-\(UUID().uuidString)", outside.path,
                         "\(server.dataRoot.path)/../private/secret.csv", "\(server.dataRoot.path)/escape.csv",
                         "/dev/zero", "file:///proc/self/environ"]
        try await server.application().test(.router) { client in
            var messages: Set<String> = []
            for location in forbidden {
                let response = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: Self.headers(), body: body(Self.spec(train: location)))
                #expect(response.status == .forbidden, "\(location): \(response.text)")
                #expect(response.errorCode == "forbidden")
                for secret in Self.secrets { #expect(!response.text.contains(secret), "\(location) echoed \(secret)") }
                let message = try #require(try response.json()["error"]?["message"]?.stringValue)
                #expect(message.contains("data.train") && message.contains("server.data_roots"))
                messages.insert(message)
            }
            // Existing or not, readable or not, inside /proc or behind a link: one answer.
            #expect(messages.count == 1)

            // The validation file is held to the same rule.
            let validation = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: Self.headers(),
                                                      body: body(Self.spec(train: inside.path, validation: "/etc/passwd")))
            #expect(validation.status == .forbidden)
            #expect(try validation.json()["error"]?["details"]?.arrayValue?.first?["path"]?.stringValue == "data.validation")
            #expect(!validation.text.contains("root:"))

            // The server is still up and answering.
            #expect(try await client.execute(uri: "/api/v1/jobs", method: .get, headers: Self.headers()).status == .ok)
        }
        #expect(try await server.jobs.isEmpty)
        #expect(try await server.blobs.isEmpty)
    }

    @Test func filesUnderDataRootsAndUploadedBlobsAreAccepted() async throws {
        let server = try await Server(tokens: Self.tokens)
        defer { server.remove() }
        let inside = try server.write("lake/train.csv", "size,price\n1,2\n2,4\n")
        let csv = "size,price\n3,6\n"
        try await server.application().test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: Self.headers(), body: body(Self.spec(train: inside.path)))
            #expect(response.status == .created, "\(response.text)")
            #expect(try response.decode(Job.self).spec.staged.first?.bytes == Int64("size,price\n1,2\n2,4\n".utf8.count))

            // A file there still has to be data: a missing one is named, a bad header is caught at submit.
            let missing = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: Self.headers(),
                                                   body: body(Self.spec(train: "\(server.dataRoot.path)/missing.csv")))
            #expect(missing.status == .badRequest)
            #expect(missing.text.contains("does not exist"))
            let wide = (0..<400).map { "column_with_a_long_name_\($0)" }.joined(separator: ",")
            let noTarget = try server.write("lake/no-target.csv", wide + "\n" + (0..<400).map { _ in "1" }.joined(separator: ",") + "\n")
            let bad = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: Self.headers(), body: body(Self.spec(train: noTarget.path)))
            #expect(bad.status == .badRequest)
            #expect(bad.text.contains("price"))
            // The header is the file's content: quoted only in part.
            #expect(!bad.text.contains("column_with_a_long_name_399"))
            #expect(bad.text.utf8.count < 2_000)

            // What `trainyard train` sends for a local file: the blob, then the spec with its digest.
            let hex = sha256Hex(csv)
            #expect(try await client.execute(uri: "/api/v1/blobs/sha256/\(hex)", method: .put, headers: Self.headers(), body: body(csv)).status == .created)
            let submission = try JSON.encodeString(Submission(spec: Self.spec(train: "data/train.csv"), staged: [
                DataDigest(key: "data.train", source: "data/train.csv", sha256: hex, bytes: Int64(csv.utf8.count)),
            ]))
            var headers = Self.headers()
            headers[.contentType] = "application/json"
            let uploaded = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: headers, body: body(submission))
            #expect(uploaded.status == .created, "\(uploaded.text)")
            #expect(try uploaded.decode(Job.self).spec.data.train == "artifact:sha256:\(hex)")
        }
        #expect(try await server.jobs.count == 2)
    }

    @Test func aServerBoundBeyondLoopbackIsRestrictedEvenWithoutTokens() async throws {
        let server = try await Server(tokens: [], host: "0.0.0.0")
        defer { server.remove() }
        let outside = try server.write("private/train.csv", "size,price\n1,2\n")
        try await server.application().test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: Self.headers(nil), body: body(Self.spec(train: outside.path)))
            #expect(response.status == .forbidden)
        }
        #expect(try await server.jobs.isEmpty)
    }

    @Test func aLoopbackServerWithoutTokensKeepsAcceptingLocalPaths() async throws {
        let server = try await Server(tokens: [])
        defer { server.remove() }
        let anywhere = try server.write("private/train.csv", "size,price\n1,2\n2,4\n")
        try await server.application().test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: Self.headers(nil), body: body(Self.spec(train: anywhere.path)))
            #expect(response.status == .created, "\(response.text)")
            // Still only regular files, whatever the policy.
            let device = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: Self.headers(nil), body: body(Self.spec(train: "/dev/zero")))
            #expect(device.status == .badRequest)
            #expect(device.text.contains("not a regular file") || device.text.contains("pseudo-file"))
        }
        #expect(try await server.jobs.count == 1)
    }
}
