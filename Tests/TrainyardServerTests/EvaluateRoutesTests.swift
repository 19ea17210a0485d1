import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardRuntime
import TrainyardServing
import TrainyardTestSupport
@testable import TrainyardServer

/// `POST /api/v1/models/{name}/evaluate`: the server scores labelled data it may read (an
/// uploaded blob, or a file under server.data_roots) and answers the metrics `trainyard
/// evaluate` prints, under the same token scopes and data-access policy as a submitted spec.
@Suite("Control API: evaluate")
struct EvaluateRoutesTests {
    static let trainSecret = "train-secret-evaluate"
    static let readSecret = "read-secret-evaluate"
    static let tokens = [AccessToken(name: "ci", secret: trainSecret, scopes: [.train, .read]),
                         AccessToken(name: "viewer", secret: readSecret, scopes: [.read, .predict])]

    /// A server with tokens (so the policy restricts local paths to its data root) and one
    /// registered gbdt regression, `prices`, trained on `RegisteredVersions.tabularCSV(offset: 0)`.
    struct Server {
        let services: TrainyardServices
        let directory: URL
        let dataRoot: URL

        init(stageBytes: Int64? = nil, dataObjects: (any DataObjectStore)? = nil) async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-evaluate-\(UUID().uuidString)")
            dataRoot = directory.appendingPathComponent("lake")
            try FileManager.default.createDirectory(at: dataRoot, withIntermediateDirectories: true)
            var configuration = TrainyardConfiguration(dataDirectory: directory.appendingPathComponent("store"), serverPort: 0,
                                                       tokens: EvaluateRoutesTests.tokens, dataRoots: [dataRoot.path])
            configuration.maxBodyBytes = 1 << 20
            if let stageBytes { configuration.limits.stageBytes = stageBytes }
            var logger = Logger(label: "evaluate-test")
            logger.logLevel = .critical
            var services = try await TrainyardApp.build(configuration, trainers: .standard, logger: logger).services
            services.dataObjects = dataObjects
            self.services = services
            try await RegisteredVersions.registerTabular("prices", services: services)
        }

        func application() -> some ApplicationProtocol {
            Application(router: TrainyardHTTPServer.buildRouter(services: services, readiness: Readiness()), logger: services.logger)
        }

        func write(_ relative: String, _ bytes: [UInt8]) throws -> URL {
            let url = directory.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
            return url
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    static let labelled = RegisteredVersions.tabularCSV(offset: 0)

    static func headers(_ secret: String? = trainSecret, contentType: String = "application/json") -> HTTPFields {
        var fields: HTTPFields = [.contentType: contentType]
        if let secret { fields[.authorization] = "Bearer \(secret)" }
        return fields
    }

    static func evaluation(_ location: String) -> ByteBuffer { ByteBuffer(string: #"{"data": "\#(location)"}"#) }

    @Test func uploadedBlobIsScoredWithTheMetricsLocalEvaluationGives() async throws {
        let server = try await Server()
        defer { server.remove() }
        let sha = SHA256.hex(of: Data(Self.labelled))
        let expected = try await ModelEvaluation(store: server.services.store, artifacts: server.services.artifacts)
            .evaluate(try ModelReference(parsing: "prices"), data: Self.labelled, dataName: "local")
        try await server.application().test(.router) { client in
            let put = try await client.execute(uri: "/api/v1/blobs/sha256/\(sha)", method: .put,
                                               headers: Self.headers(contentType: "application/octet-stream"), body: ByteBuffer(bytes: Self.labelled))
            #expect(put.status == .created)
            let reference = ArtifactKeys.blobReference(sha256: sha)
            let response = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                                    body: Self.evaluation(reference))
            #expect(response.status == .ok, "\(response.text)")
            let result = try response.decode(ModelEvaluation.Result.self)
            #expect(result.model == "prices" && result.version == 1 && result.rows == 200 && result.data == reference)
            #expect(result.metrics == expected.metrics)
            #expect(Set(result.metrics.keys) == ["rmse", "mae", "r2"])

            // A version or an alias can be named, as for predict.
            let pinned = try await client.execute(uri: "/api/v1/models/prices/evaluate?version=1", method: .post, headers: Self.headers(),
                                                  body: Self.evaluation(reference))
            #expect(pinned.status == .ok)
            let missing = try await client.execute(uri: "/api/v1/models/prices/evaluate?version=7", method: .post, headers: Self.headers(),
                                                   body: Self.evaluation(reference))
            #expect(missing.status == .notFound, "\(missing.text)")
            let both = try await client.execute(uri: "/api/v1/models/prices/evaluate?version=1&alias=production", method: .post,
                                                headers: Self.headers(), body: Self.evaluation(reference))
            #expect(both.status == .badRequest)
        }
    }

    @Test func fileUnderADataRootIsReadAndOneOutsideIsRefusedAlike() async throws {
        let server = try await Server()
        defer { server.remove() }
        let inside = try server.write("lake/prices.csv", Self.labelled)
        let outside = try server.write("elsewhere/prices.csv", Self.labelled)
        try await server.application().test(.router) { client in
            let ok = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                              body: Self.evaluation(inside.path))
            #expect(ok.status == .ok, "\(ok.text)")
            #expect(try ok.decode(ModelEvaluation.Result.self).rows == 200)

            // Outside the roots: one 403, whether the file exists or not, and it names neither.
            var refusals: [String] = []
            for path in [outside.path, "/etc/passwd", server.directory.appendingPathComponent("elsewhere/nothing.csv").path,
                         "file://\(outside.path)"] {
                let refused = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                                       body: Self.evaluation(path))
                #expect(refused.status == .forbidden, "\(path): \(refused.text)")
                #expect(!refused.text.contains("passwd") && !refused.text.contains("elsewhere"))
                refusals.append(refused.errorCode ?? "")
            }
            #expect(Set(refusals) == ["forbidden"])
            // A symbolic link inside the root that leads out of it is refused the same way.
            let link = server.dataRoot.appendingPathComponent("link.csv")
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: outside)
            let viaLink = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                                   body: Self.evaluation(link.path))
            #expect(viaLink.status == .forbidden)
        }
    }

    @Test func tokensAndScopesAreRequired() async throws {
        let server = try await Server()
        defer { server.remove() }
        let inside = try server.write("lake/prices.csv", Self.labelled)
        try await server.application().test(.router) { client in
            let anonymous = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(nil),
                                                     body: Self.evaluation(inside.path))
            #expect(anonymous.status == .unauthorized)
            // Reading data on the server is what a train token may ask for; read + predict may not.
            let viewer = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(Self.readSecret),
                                                  body: Self.evaluation(inside.path))
            #expect(viewer.status == .forbidden)
        }
    }

    @Test func badRequestsAreClear4xx() async throws {
        let server = try await Server()
        defer { server.remove() }
        let empty = try server.write("lake/empty.csv", [])
        try await server.application().test(.router) { client in
            func evaluate(_ body: String, model: String = "prices", contentType: String = "application/json") async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/models/\(model)/evaluate", method: .post, headers: Self.headers(contentType: contentType),
                                         body: ByteBuffer(string: body))
            }
            let notUploaded = try await evaluate(#"{"data": "artifact:sha256:\#(String(repeating: "ab", count: 32))"}"#)
            #expect(notUploaded.status == .badRequest && notUploaded.text.contains("upload it first"), "\(notUploaded.text)")
            let badReference = try await evaluate(#"{"data": "artifact:sha256:xyz"}"#)
            #expect(badReference.status == .badRequest && badReference.text.contains("not a blob reference"))
            let relative = try await evaluate(#"{"data": "prices.csv"}"#)
            #expect(relative.status == .badRequest && relative.text.contains("absolute path"))
            let scheme = try await evaluate(#"{"data": "http://example.com/x.csv"}"#)
            #expect(scheme.status == .badRequest)
            let unknownKey = try await evaluate(#"{"data": "\#(empty.path)", "rows": 5}"#)
            #expect(unknownKey.status == .badRequest && unknownKey.text.contains("rows"))
            let missing = try await evaluate("{}")
            #expect(missing.status == .badRequest)
            let notJSON = try await evaluate("data", contentType: "text/plain")
            #expect(notJSON.status == .unsupportedMediaType)
            let emptyFile = try await evaluate(#"{"data": "\#(empty.path)"}"#)
            #expect(emptyFile.status == .badRequest && emptyFile.text.contains("empty"), "\(emptyFile.text)")
            let folder = try await evaluate(#"{"data": "\#(server.dataRoot.path)"}"#)
            #expect(folder.status == .badRequest && folder.text.contains("folder"))
            let unknownModel = try await evaluate(#"{"data": "\#(empty.path)"}"#, model: "nothing")
            #expect(unknownModel.status == .notFound)
            let badName = try await evaluate(#"{"data": "\#(empty.path)"}"#, model: "BAD!")
            #expect(badName.status == .badRequest)
            let tooLarge = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                                    body: ByteBuffer(string: #"{"data": "\#(String(repeating: "a", count: 100_000))"}"#))
            #expect(tooLarge.status == .contentTooLarge)
        }
    }

    @Test func dataOverTheStageLimitIsRefusedNamingIt() async throws {
        let server = try await Server(stageBytes: 1_000)
        defer { server.remove() }
        let inside = try server.write("lake/prices.csv", Self.labelled)
        let sha = SHA256.hex(of: Data(Self.labelled))
        _ = try await server.services.artifacts.put(ArtifactKeys.blob(sha256: sha), data: Data(Self.labelled))
        try await server.application().test(.router) { client in
            for location in [inside.path, ArtifactKeys.blobReference(sha256: sha)] {
                let response = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                                        body: Self.evaluation(location))
                #expect(response.status == .badRequest, "\(location): \(response.text)")
                #expect(response.text.contains("limits.stage_bytes"), "\(response.text)")
            }
        }
    }

    @Test func dataTheModelCannotReadIsA400AndABringYourOwnModelIsRefused() async throws {
        let server = try await Server()
        defer { server.remove() }
        try await RegisteredVersions.registerCommand("byom", constant: 1, services: server.services)
        let wrongColumns = try server.write("lake/other.csv", Array("p,q\n1,2\n".utf8))
        let inside = try server.write("lake/prices.csv", Self.labelled)
        try await server.application().test(.router) { client in
            let wrong = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                                 body: Self.evaluation(wrongColumns.path))
            #expect(wrong.status == .badRequest, "\(wrong.text)")
            let byom = try await client.execute(uri: "/api/v1/models/byom/evaluate", method: .post, headers: Self.headers(),
                                                body: Self.evaluation(inside.path))
            #expect(byom.status == .badRequest && byom.text.contains("bring-your-own"), "\(byom.text)")
        }
    }

    @Test func theRouteIsInTheOpenAPIDocument() async throws {
        let server = try await Server()
        defer { server.remove() }
        try await server.application().test(.router) { client in
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            let document = try response.json()
            let operation = document["paths"]?["/api/v1/models/{name}/evaluate"]?["post"]
            #expect(operation?["operationId"]?.stringValue == "evaluateModel")
            #expect(document["components"]?["schemas"]?["Evaluation"] != nil && document["components"]?["schemas"]?["EvaluationRequest"] != nil)
        }
    }

    /// `s3://` data is read through the data-objects port, checked against the stage limit
    /// before a byte is read; a server without S3 access says so.
    @Test func s3ObjectsAreReadWhereTheServerHasS3() async throws {
        let objects = ObjectsInMemory()
        objects.put("s3://lake/prices.csv", Data(Self.labelled))
        let server = try await Server(dataObjects: objects)
        defer { server.remove() }
        try await server.application().test(.router) { client in
            let ok = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                              body: Self.evaluation("s3://lake/prices.csv"))
            #expect(ok.status == .ok, "\(ok.text)")
            #expect(try ok.decode(ModelEvaluation.Result.self).rows == 200)
            let missing = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                                   body: Self.evaluation("s3://lake/none.csv"))
            #expect(missing.status == .badRequest && missing.text.contains("no object"), "\(missing.text)")
        }
        #expect(objects.reads == 1, "the missing object was not read")

        let small = try await Server(stageBytes: 1_000, dataObjects: objects)
        defer { small.remove() }
        try await small.application().test(.router) { client in
            let tooLarge = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                                    body: Self.evaluation("s3://lake/prices.csv"))
            #expect(tooLarge.status == .badRequest && tooLarge.text.contains("limits.stage_bytes"), "\(tooLarge.text)")
        }
        #expect(objects.reads == 1, "an object over the limit is refused before it is read")

        let withoutS3 = try await Server()
        defer { withoutS3.remove() }
        try await withoutS3.application().test(.router) { client in
            let refused = try await client.execute(uri: "/api/v1/models/prices/evaluate", method: .post, headers: Self.headers(),
                                                   body: Self.evaluation("s3://lake/prices.csv"))
            #expect(refused.status == .badRequest && refused.text.contains("no S3 access"), "\(refused.text)")
        }
    }

    @Test func evaluationSlotsAreBounded() {
        let slots = EvaluationSlots(limit: 2)
        #expect(slots.take() && slots.take())
        #expect(!slots.take())
        slots.giveBack()
        #expect(slots.take())
    }
}

/// `s3://` objects held in memory (what the evaluate route reads: `head` and whole-object
/// `read`, pinned to the identity given), counting reads.
final class ObjectsInMemory: DataObjectStore {
    private let objects = Mutex<[String: Data]>([:])
    private let readCount = Mutex(0)
    var reads: Int { readCount.withLock { $0 } }

    func put(_ uri: String, _ data: Data) { objects.withLock { $0[uri] = data } }

    func serves(_ uri: String) -> Bool { uri.hasPrefix("s3://") }

    func list(under prefix: String, after cursor: String?, limit: Int) async throws -> DataObjectPage {
        let all = objects.withLock { $0 }
        let uris = all.keys.filter { uri in uri.hasPrefix(prefix) && cursor.map { $0 < uri } ?? true }.sorted()
        let page = Array(uris.prefix(limit))
        return DataObjectPage(objects: page.map { identity($0, all[$0]!) }, next: uris.count > page.count ? page.last : nil)
    }

    func head(_ uri: String) async throws -> DataObjectIdentity? { objects.withLock { $0[uri] }.map { identity(uri, $0) } }

    func read(_ uri: String, range: Range<Int64>?, expecting expected: DataObjectIdentity?,
              chunks consume: (Data) async throws -> Void) async throws -> DataObjectRead {
        guard let data = objects.withLock({ $0[uri] }) else { throw TrainyardError(.notFound, "\(uri) does not exist") }
        let current = identity(uri, data)
        if let expected, !expected.isSameObject(as: current) { throw TrainyardError(.conflict, "\(uri) was replaced") }
        readCount.withLock { $0 += 1 }
        let slice = range.map { data.subdata(in: Int($0.lowerBound)..<Int(min($0.upperBound, Int64(data.count)))) } ?? data
        try await consume(slice)
        return DataObjectRead(object: current, sha256: SHA256.hex(of: slice), bytes: Int64(slice.count))
    }

    func download(_ uri: String, to file: URL, expecting expected: DataObjectIdentity?, maximumBytes: Int64) async throws -> DataObjectRead {
        var data = Data()
        let read = try await self.read(uri, range: nil, expecting: expected) { data.append($0) }
        guard Int64(data.count) <= maximumBytes else { throw TrainyardError(.payloadTooLarge, "\(uri) is larger than \(maximumBytes) bytes") }
        try data.write(to: file, options: .atomic)
        return read
    }

    func write(_ uri: String, from file: URL) async throws -> DataObjectIdentity { try await write(uri, data: try Data(contentsOf: file)) }

    func write(_ uri: String, data: Data) async throws -> DataObjectIdentity {
        put(uri, data)
        return identity(uri, data)
    }

    func delete(_ uri: String) async throws { _ = objects.withLock { $0.removeValue(forKey: uri) } }

    private func identity(_ uri: String, _ data: Data) -> DataObjectIdentity {
        DataObjectIdentity(uri: uri, bytes: Int64(data.count), etag: "\"" + SHA256.hex(of: data).prefix(32) + "\"", lastModified: nil)
    }
}
