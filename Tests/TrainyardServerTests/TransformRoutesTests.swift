import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardRuntime
import TrainyardTestSupport
@testable import TrainyardServer

/// `POST /api/v1/transforms`: checked at submit (400 naming the problem, 403 outside the data
/// roots), idempotent for the same input, and scored by a worker into the output folder.
@Suite("Control API: transforms")
struct TransformRoutesTests {
    static let secret = "train-secret-transforms"
    static let tokens = [AccessToken(name: "ci", secret: secret, scopes: [.train, .read])]

    /// The data-access tests' server (tokens, `server.data_roots` = `lake/`) with a tabular model.
    static func server(tokens: [AccessToken]) async throws -> DataAccessRoutesTests.Server {
        let server = try await DataAccessRoutesTests.Server(tokens: tokens)
        try await RegisteredVersions.registerTabular("tab", services: server.services)
        return server
    }

    static func request(_ input: String, _ output: String, model: String = "tab", extra: String = "") -> ByteBuffer {
        ByteBuffer(string: #"{"model": "\#(model)", "input": "\#(input)", "output": "\#(output)"\#(extra)}"#)
    }

    @Test func submitsScoresAndAnswersTheSameJobForTheSameInput() async throws {
        let server = try await Self.server(tokens: [])
        defer { server.remove() }
        let input = try server.write("in/rows.csv", "a,b,c\n1,2,u\n3,4,v\n")
        let output = server.directory.appendingPathComponent("out").path
        try await server.application().test(.router) { client in
            let first = try await client.execute(uri: "/api/v1/transforms", method: .post, headers: [.contentType: "application/json"],
                                                 body: Self.request(input.path, output))
            #expect(first.status == .created)
            let job = try first.decode(Job.self)
            #expect(job.kind == .transform && job.spec.transform?.version == 1 && job.spec.transform?.files.count == 1)
            let again = try await client.execute(uri: "/api/v1/transforms", method: .post, headers: [.contentType: "application/json"],
                                                 body: Self.request(input.path, output))
            #expect(again.status == .ok)
            #expect(try again.decode(Job.self).id == job.id)
        }
        try await WorkerPool(services: server.services, options: .init(workers: 1, exitWhenIdle: .milliseconds(500), minPoll: .milliseconds(20),
                                                                       maxPoll: .milliseconds(100))).run()
        let done = try #require(try await server.services.store.jobs(JobFilter(kind: .transform)).first)
        #expect(done.state == .succeeded, "\(done.failureReason ?? "")")
        let lines = try String(contentsOfFile: output + "/rows.csv.out", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3 && lines[0] == "prediction")
    }

    @Test func badRequestsAreRefusedBeforeAnythingIsQueued() async throws {
        let server = try await Self.server(tokens: Self.tokens)
        defer { server.remove() }
        let inside = try server.write("lake/rows.csv", "a,b,c\n1,2,u\n")
        let outside = try server.write("elsewhere/rows.csv", "a,b,c\n1,2,u\n")
        let out = server.dataRoot.appendingPathComponent("out").path
        let auth = "Bearer \(Self.secret)"
        try await server.application().test(.router) { client in
            func post(_ body: ByteBuffer, type: String = "application/json") async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/transforms", method: .post, headers: [.contentType: type, .authorization: auth], body: body)
            }
            let unknownModel = try await post(Self.request(inside.path, out, model: "nope"))
            #expect(unknownModel.status == .badRequest)
            #expect(String(buffer: unknownModel.body).contains("nope"))
            let outsideInput = try await post(Self.request(outside.path, out))
            #expect(outsideInput.status == .forbidden)
            #expect(String(buffer: outsideInput.body).contains("server.data_roots"))
            let outsideOutput = try await post(Self.request(inside.path, server.directory.appendingPathComponent("out").path))
            #expect(outsideOutput.status == .forbidden)
            let badRate = try await post(Self.request(inside.path, out, extra: #", "max_error_rate": 7"#))
            #expect(badRate.status == .badRequest)
            let notJSON = try await post(ByteBuffer(string: "{model"))
            #expect(notJSON.status == .badRequest)
            let missing = try await post(ByteBuffer(string: #"{"model": "tab"}"#))
            #expect(missing.status == .badRequest)
            #expect(String(buffer: missing.body).contains("input"))
            let yaml = try await post(ByteBuffer(string: "model: tab"), type: "application/yaml")
            #expect(yaml.status == .unsupportedMediaType)
            let unauthenticated = try await client.execute(uri: "/api/v1/transforms", method: .post, headers: [.contentType: "application/json"],
                                                           body: Self.request(inside.path, out))
            #expect(unauthenticated.status == .unauthorized)
            let ok = try await post(Self.request(inside.path, out))
            #expect(ok.status == .created)
        }
        #expect(try await server.services.store.jobs(JobFilter(kind: .transform)).count == 1)
    }
}
