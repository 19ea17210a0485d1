import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TrainyardCore
@testable import TrainyardServer

@Suite("Auth, operations, OpenAPI")
struct AuthAndOpsTests {
    static let tokens = [
        AccessToken(name: "root", secret: "admin-secret-1", scopes: [.admin]),
        AccessToken(name: "ci", secret: "train-secret-1", scopes: [.train, .read]),
        AccessToken(name: "viewer", secret: "read-secret-1", scopes: [.read]),
    ]

    func bearer(_ secret: String) -> HTTPFields { [.authorization: "Bearer \(secret)"] }

    @Test func bearerTokensAndScopes() async throws {
        let f = try await Fixture.make(tokens: Self.tokens)
        defer { f.remove() }
        try await f.registerVersion("iris")
        try await f.application().test(.router) { client in
            let missing = try await client.execute(uri: "/api/v1/jobs", method: .get)
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            #expect(missing.errorCode == "unauthorized")
            let unknown = try await client.execute(uri: "/api/v1/jobs", method: .get, headers: bearer("not-a-token"))
            #expect(unknown.status == .unauthorized)
            let malformed = try await client.execute(uri: "/api/v1/jobs", method: .get, headers: [.authorization: "Basic abc"])
            #expect(malformed.status == .unauthorized)

            #expect(try await client.execute(uri: "/api/v1/jobs", method: .get, headers: bearer("read-secret-1")).status == .ok)
            var headers = bearer("read-secret-1")
            headers[.contentType] = "application/yaml"
            let forbidden = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: headers, body: body(Specs.command()))
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.errorCode == "forbidden")

            headers[.authorization] = "Bearer train-secret-1"
            let submitted = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: headers, body: body(Specs.command()))
            #expect(submitted.status == .created)
            #expect(try submitted.decode(Job.self).submittedBy == "ci")

            let alias = try await client.execute(uri: "/api/v1/models/iris/aliases/staging", method: .put, headers: bearer("admin-secret-1"),
                                                 body: body(#"{"version": 1}"#))
            #expect(alias.status == .ok)
            #expect(try alias.decode(Alias.self).updatedBy == "root")
            #expect(try await client.execute(uri: "/api/v1/models/iris/aliases/staging", method: .delete, headers: bearer("read-secret-1")).status == .forbidden)

            // Operations routes stay open.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/openapi.json", method: .get).status == .ok)
        }
        // The access log names the caller; secrets never reach the log.
        #expect(f.logs.all.contains { $0.metadata["http.path"] == "/api/v1/jobs" && $0.metadata["trainyard.caller"] == "ci" })
        for record in f.logs.all {
            let text = record.message + record.metadata.values.joined()
            for token in Self.tokens { #expect(!text.contains(token.secret)) }
        }
    }

    @Test func mediaTypeParsing() {
        #expect(HTTPHelpers.mediaType("application/json") == "application/json")
        #expect(HTTPHelpers.mediaType("Application/JSON; charset=utf-8") == "application/json")
        #expect(HTTPHelpers.mediaType("  text/csv\t;header=present") == "text/csv")
        #expect(HTTPHelpers.mediaType(" ; charset=utf-8") == nil)
        #expect(HTTPHelpers.mediaType("") == nil)
    }

    @Test func bindingSafety() throws {
        var configuration = TrainyardConfiguration(serverHost: "0.0.0.0")
        #expect(throws: TrainyardError.self) { try checkBindingSafety(configuration: configuration) }
        do {
            try checkBindingSafety(configuration: configuration)
        } catch let error as TrainyardError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("auth.tokens"))
            #expect(error.message.contains("--insecure"))
        }
        configuration.insecure = true
        try checkBindingSafety(configuration: configuration)
        configuration.insecure = false
        configuration.tokens = Self.tokens
        try checkBindingSafety(configuration: configuration)
        for host in ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"] {
            try checkBindingSafety(configuration: TrainyardConfiguration(serverHost: host))
        }
        for host in ["192.168.1.5", "example.com", "::", "128.0.0.1"] {
            #expect(throws: TrainyardError.self) { try checkBindingSafety(configuration: TrainyardConfiguration(serverHost: host)) }
        }
    }

    @Test func healthReadinessAndErrorShape() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let readiness = Readiness(notReadyReason: "loading models")
        try await f.application(readiness: readiness).test(.router) { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            #expect(try health.json()["status"]?.stringValue == "ok")

            let starting = try await client.execute(uri: "/readyz", method: .get)
            #expect(starting.status == .serviceUnavailable)
            #expect(starting.headers[.retryAfter] == "5")
            #expect(try starting.json()["reason"]?.stringValue == "loading models")
            readiness.markReady()
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)

            let notFound = try await client.execute(uri: "/api/v1/nothing-here", method: .get, headers: [.init("X-Request-Id")!: "abc-123"])
            #expect(notFound.status == .notFound)
            #expect(notFound.errorCode == "not_found")
            #expect(notFound.headers[.init("X-Request-Id")!] == "abc-123")
            let generated = try await client.execute(uri: "/healthz", method: .get, headers: [.init("X-Request-Id")!: "bad id with spaces"])
            #expect(generated.headers[.init("X-Request-Id")!].map { $0 != "bad id with spaces" && !$0.isEmpty } == true)
        }
        let access = f.logs.all.filter { $0.metadata["http.path"] == "/api/v1/nothing-here" }
        #expect(access.count == 1)
        #expect(access.first?.metadata["trainyard.request.id"] == "abc-123")
        #expect(access.first?.metadata["http.status"] == "404")
    }

    @Test func openAPIDocumentMatchesTheRouter() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let router = TrainyardHTTPServer.buildRouter(services: f.services, options: Fixture.options)
        let registered = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })

        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(response.status == .ok)
            let document = try response.json()
            #expect(document["openapi"]?.stringValue == "3.1.0")
            let paths = try #require(document["paths"]?.objectValue)
            var documented = Set<String>()
            for (path, item) in paths {
                for (method, operation) in item.objectValue ?? [:] {
                    documented.insert("\(method.uppercased()) \(path)")
                    #expect(operation["responses"]?.objectValue?.isEmpty == false, "\(method) \(path) documents no responses")
                    #expect(operation["operationId"]?.stringValue != nil)
                    // Every path capture is a documented parameter.
                    let captures = path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
                    let parameters = (operation["parameters"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
                    for capture in captures { #expect(parameters.contains(capture), "\(method) \(path) lacks parameter \(capture)") }
                }
            }
            #expect(documented == registered)
            #expect(registered.count >= 20)
            for route in ["POST /api/v1/jobs", "GET /api/v1/jobs/{id}/logs", "PUT /api/v1/blobs/sha256/{hex}", "HEAD /api/v1/blobs/sha256/{hex}",
                          "GET /api/v1/models/{name}/aliases/history", "GET /openapi.json", "GET /readyz"] {
                #expect(registered.contains(route), "missing \(route)")
            }
            // Every $ref resolves.
            let schemas = try #require(document["components"]?["schemas"]?.objectValue)
            for ref in references(in: document) {
                #expect(schemas[String(ref.dropFirst("#/components/schemas/".count))] != nil, "dangling \(ref)")
            }
        }
    }

    @Test func liveServerWithAuth() async throws {
        let f = try await Fixture.make(tokens: Self.tokens)
        defer { f.remove() }
        let app = try TrainyardHTTPServer.makeApplication(services: f.services, options: .init(pollInterval: .milliseconds(20)))
        try await app.test(.live) { client in
            #expect(client.port != nil)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/api/v1/models", method: .get).status == .unauthorized)
            let submitted = try await client.execute(uri: "/api/v1/jobs", method: .post,
                                                     headers: [.authorization: "Bearer train-secret-1", .contentType: "application/yaml"],
                                                     body: body(Specs.command("live")))
            #expect(submitted.status == .created)
            let job = try submitted.decode(Job.self)
            try await f.store.appendLog(job.id, lines: ["hello over the wire"])
            _ = try await f.store.cancel(job.id)
            let stream = try await client.execute(uri: "/api/v1/jobs/\(job.id)/logs?follow=1", method: .get,
                                                  headers: [.authorization: "Bearer read-secret-1"])
            #expect(stream.status == .ok)
            let events = parseEvents(stream.text)
            #expect(events.first { $0.name == "log" }?.data["text"]?.stringValue == "hello over the wire")
            #expect(events.last?.name == "end")
            let tooBig = try await client.execute(uri: "/api/v1/blobs/sha256/\(String(repeating: "a", count: 64))", method: .put,
                                                  headers: [.authorization: "Bearer admin-secret-1"], body: ByteBuffer(repeating: 1, count: (1 << 20) + 10))
            #expect(tooBig.status == .contentTooLarge)
        }
    }

    @Test func makeApplicationRefusesAnUnsafeBinding() async throws {
        let f = try await Fixture.make(configure: { $0.serverHost = "0.0.0.0" })
        defer { f.remove() }
        #expect(throws: TrainyardError.self) { _ = try TrainyardHTTPServer.makeApplication(services: f.services) }
    }
}

func references(in value: JSONValue) -> [String] {
    switch value {
    case .object(let o): return o.flatMap { key, v in key == "$ref" ? [v.stringValue ?? ""] : references(in: v) }
    case .array(let a): return a.flatMap(references(in:))
    default: return []
    }
}
