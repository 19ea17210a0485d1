import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardCore
import TrainyardServing
import TrainyardTestSupport
@testable import TrainyardServer

/// Issue 9 items 3, 5 and 14 (server parts): what an anonymous or low-scope caller can reach,
/// client numbers that must not crash the process, and how bad input is told.
@Suite(.serialized) struct HardeningRoutesTests {
    static let tokens = [
        AccessToken(name: "root", secret: "admin-secret-1", scopes: [.admin]),
        AccessToken(name: "app", secret: "predict-secret-1", scopes: [.predict]),
        AccessToken(name: "viewer", secret: "read-secret-1", scopes: [.read]),
    ]
    static let json: HTTPFields = [.contentType: "application/json"]
    static func bearer(_ secret: String, json: Bool = false) -> HTTPFields {
        var h: HTTPFields = [.authorization: "Bearer \(secret)"]
        if json { h[.contentType] = "application/json" }
        return h
    }

    // MARK: Item 3: open routes

    @Test func withTokensOpenRoutesNeitherLoadNorNameModels() async throws {
        let f = try await Fixture.make(tokens: Self.tokens)
        defer { f.remove() }
        try await RegisteredVersions.registerTabular("secret-model", services: f.services)
        try await f.withInference(options: ServingOptions(defaultModel: "secret-model")) { client, inference in
            // Routes that load or reveal models need a token.
            for uri in ["/v2/models/secret-model/ready", "/v2/models/secret-model/versions/1/ready", "/metrics"] {
                let anonymous = try await client.execute(uri: uri, method: .get)
                #expect(anonymous.status == .unauthorized, "\(uri): \(anonymous.text)")
                #expect(!anonymous.text.contains("secret-model"))
            }
            // A V2 client gets the V2 error shape even for a missing token.
            let v2 = try await client.execute(uri: "/v2/models/secret-model/ready", method: .get)
            #expect(try v2.json()["error"]?.stringValue?.contains("token") == true)
            // /metrics wants read; a predict-only token is not enough.
            #expect(try await client.execute(uri: "/metrics", method: .get, headers: Self.bearer("predict-secret-1")).status == .forbidden)
            #expect(try await client.execute(uri: "/metrics", method: .get, headers: Self.bearer("read-secret-1")).status == .ok)

            // Probes stay open: they answer, but start no load and name no model.
            for uri in ["/healthz", "/readyz", "/v2/health/live", "/v2/health/ready", "/ping", "/health", "/v2"] {
                let probe = try await client.execute(uri: uri, method: .get)
                // 503 is /ping's "default model not loaded yet"; what matters is no 401 and no 500.
                #expect(probe.status != .unauthorized && probe.status != .internalServerError, "\(uri): \(probe.status)")
                #expect(!probe.text.contains("secret-model"), "\(uri): \(probe.text)")
                #expect(probe.headers[.modelName] == nil, "\(uri)")
            }
            #expect(try await client.execute(uri: "/ping", method: .get).status == .serviceUnavailable)
            #expect(inference.server.loadedVersions.isEmpty)
            #expect(!f.logs.all.contains { $0.message == "loading model" })

            // With a predict token the same probe loads the default model, and then anyone sees it is up.
            let ready = try await client.execute(uri: "/v2/models/secret-model/ready", method: .get, headers: Self.bearer("predict-secret-1"))
            #expect(ready.status == .ok || ready.status == .serviceUnavailable)
            _ = try await inference.server.model(for: ModelReference(parsing: "secret-model"))
            let ping = try await client.execute(uri: "/ping", method: .get)
            #expect(ping.status == .ok)
            #expect(ping.headers[.modelName] == nil)
        }
    }

    @Test func requiredModelsLoadingAreCountedNotNamed() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let server = ModelServer(services: f.services, options: ServingOptions(preload: ["hidden-a", "hidden-b:2"]))
        let reason = server.notReadyReason ?? ""
        #expect(reason.contains("2 required models"))
        #expect(!reason.contains("hidden"))
    }

    // MARK: Item 5: client numbers

    @Test func hugeTensorShapesAreRefusedNamingTheLimit() throws {
        let schema = InputSchema.any
        let overflow: JSONValue = .object(["inputs": .array([.object([
            "name": .string("x"), "shape": .array([.int(4_294_967_296), .int(4_294_967_296)]), "datatype": .string("FP64"), "data": .array([.int(1)]),
        ])])])
        do {
            _ = try Payloads.v2Rows(overflow, schema: schema, maxElements: 1000)
            Issue.record("an overflowing shape was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("limits.tensor_elements"))
        }
        // A zero dimension makes the product 0, but the other dimensions still cannot overflow a row width.
        let zero: JSONValue = .object(["inputs": .array([.object([
            "name": .string("x"), "shape": .array([.int(0), .int(1 << 40), .int(1 << 40)]), "datatype": .string("FP64"), "data": .array([]),
        ])])])
        #expect(throws: TrainyardError.self) { try Payloads.v2Rows(zero, schema: .any, maxElements: 1000) }
        // Within the limit it still works.
        let fine: JSONValue = .object(["inputs": .array([.object([
            "name": .string("x"), "shape": .array([.int(2), .int(2)]), "datatype": .string("FP64"), "data": .array([.int(1), .int(2), .int(3), .int(4)]),
        ])])])
        #expect(try Payloads.v2Rows(fine, schema: .any, maxElements: 4).count == 2)
        #expect(throws: TrainyardError.self) { try Payloads.v2Rows(fine, schema: .any, maxElements: 3) }
    }

    @Test func overflowingShapeOverHTTPIsA400AndTheServerStaysUp() async throws {
        let f = try await Fixture.make(tokens: Self.tokens)
        defer { f.remove() }
        try await RegisteredVersions.registerTabular("lin", services: f.services)
        try await f.withInference(options: ServingOptions()) { client, _ in
            let attack = #"{"inputs": [{"name": "a", "shape": [4294967296, 4294967296], "datatype": "FP64", "data": [1]}]}"#
            let response = try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: Self.bearer("predict-secret-1", json: true),
                                                    body: body(attack))
            #expect(response.status == .badRequest)
            #expect(try response.json()["error"]?.stringValue?.contains("limits.tensor_elements") == true)
            let row = #"{"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [4]}, {"name": "b", "shape": [1], "datatype": "FP64", "data": [1]}, {"name": "c", "shape": [1], "datatype": "BYTES", "data": ["u"]}]}"#
            #expect(try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: Self.bearer("predict-secret-1", json: true),
                                             body: body(row)).status == .ok)
        }
    }

    // MARK: Item 14: small ones

    @Test func pathParametersArePercentDecoded() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        try await f.registerVersion("iris-species")
        try await f.application().test(.router) { client in
            let model = try await client.execute(uri: "/api/v1/models/iris%2Dspecies", method: .get)
            #expect(model.status == .ok, "\(model.text)")
            #expect(try await client.execute(uri: "/api/v1/models/iris%2dspecies/versions/%31", method: .get).status == .ok)
            let broken = try await client.execute(uri: "/api/v1/models/iris%zz", method: .get)
            #expect(broken.status == .badRequest)
            #expect(broken.text.contains("percent-encoding"))
        }
    }

    @Test func invalidInputIsEchoedShort() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let long = String(repeating: "X", count: 70_000)
        try await f.application().test(.router) { client in
            for uri in ["/api/v1/models/\(long)", "/api/v1/models/ok/versions/\(long)", "/api/v1/jobs/\(long)"] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .badRequest)
                #expect(response.body.readableBytes < 1_000, "\(response.body.readableBytes) bytes")
                #expect(response.text.contains("XXXX"))  // still names what was wrong
            }
        }
        #expect(throws: TrainyardError.self) { try ModelName(long) }
        do { _ = try AliasName(long) } catch { #expect(error.message.count < 300) }
        do { _ = try ModelReference(parsing: "ok:" + long) } catch { #expect(error.message.count < 400) }
    }

    @Test func aFractionalAliasVersionIsNamedAsSuch() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        try await f.registerVersion("iris")
        try await f.application().test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/models/iris/aliases/production", method: .put, headers: Self.json,
                                                    body: body(#"{"version": 1.5}"#))
            #expect(response.status == .badRequest)
            let message = try response.json()["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("\"version\" must be an integer"), "\(message)")
            #expect(!message.contains("not valid JSON"))
            let text = try await client.execute(uri: "/api/v1/models/iris/aliases/production", method: .put, headers: Self.json,
                                                body: body(#"{"version": "1"}"#))
            #expect(text.status == .badRequest)
            #expect(text.text.contains("must be an integer"))
            let invalid = try await client.execute(uri: "/api/v1/models/iris/aliases/production", method: .put, headers: Self.json, body: body("{"))
            #expect(invalid.text.contains("not valid JSON"))
        }
    }

    @Test func aModelThatCannotLoadSaysWhyAndIsNotRetriedOnEveryProbe() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        try await f.registerVersion("broken")  // a command model without serve: it can never load
        // A back-off far longer than the test, so "tried once" does not depend on the machine's speed.
        let inference = InferenceAPI(server: ModelServer(services: f.services, loadBackoff: .seconds(3600)), readiness: Readiness())
        let app = Application(router: TrainyardHTTPServer.buildRouter(services: f.services, extraRoutes: inference.routes), logger: f.services.logger)
        defer { Task { await inference.server.shutdown() } }
        try await app.test(.router) { client in
            var answer = try await client.execute(uri: "/v2/models/broken/ready", method: .get)
            let deadline = ContinuousClock.now + .seconds(30)
            while !answer.text.contains("could not be loaded") && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                answer = try await client.execute(uri: "/v2/models/broken/ready", method: .get)
            }
            #expect(answer.status == .serviceUnavailable)
            let message = try answer.json()["error"]?.stringValue ?? ""
            #expect(message.contains("without a serve command"), "\(message)")
            #expect(message.contains("tries again in"))
            for _ in 0..<5 {
                #expect(try await client.execute(uri: "/v2/models/broken/ready", method: .get).status == .serviceUnavailable)
                #expect(try await client.execute(uri: "/v1/models/broken", method: .get).text.contains("END"))
            }
            // Predictions get the remembered failure too, without a new attempt.
            let predict = try await client.execute(uri: "/api/v1/models/broken/predict", method: .post, headers: Self.json, body: body("[]"))
            #expect(predict.text.contains("without a serve command"))
        }
        #expect(f.logs.all.filter { $0.message == "model load failed" }.count == 1)
    }

    /// Found by schemathesis: after the default model's only version was deleted, /ping said
    /// "loading" forever (a 503 for a load that can never start). /ping is 200 only when
    /// /invocations can serve (issue 11), so it says there is nothing to serve instead.
    @Test func pingWithNothingToServeSaysSoNotLoading() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        try await f.registerVersion("gone")
        try await f.store.deleteVersion(try ModelName("gone"), version: 1)
        try await f.withInference(options: ServingOptions()) { client, _ in
            let ping = try await client.execute(uri: "/ping", method: .get)
            #expect(ping.status == .notFound, "\(ping.text)")
            #expect(try ping.json()["status"]?.stringValue == "no_model", "\(ping.text)")
        }
    }

    @Test func errorRepliesStayBoundedWhateverTheInput() {
        let many = (0..<5_000).map { TrainyardError.Detail(path: "row \($0)", message: "bad") }
        let told = ToldError(TrainyardError(.invalidInput, String(repeating: "m", count: 100_000), details: many))
        #expect((told?.details.count ?? 0) == ToldError.maxDetails + 1)
        #expect(told?.details.last?.message.contains("4900 more") == true)
        #expect((told?.message.count ?? 0) < ToldError.maxMessageCharacters + 100)
    }

    // MARK: Item 14: the OpenAPI document says what the server does

    @Test func openAPIDocument() async throws {
        for auth in [false, true] {
            let f = try await Fixture.make(tokens: auth ? Self.tokens : [])
            defer { f.remove() }
            let inference = InferenceAPI.make(services: f.services, readiness: Readiness(), options: ServingOptions())
            let routes = TrainyardHTTPServer.routes(services: f.services, readiness: Readiness(), extraRoutes: inference.routes)
            let doc = OpenAPIDocument.build(routes: routes, authEnabled: auth)
            let text = String(decoding: try JSON.encode(doc), as: UTF8.self)
            #expect(text.contains("\"security\"") == auth)
            #expect(text.contains("securitySchemes") == auth)
            #expect((doc["paths"]?["/api/v1/jobs"]?["get"]?["responses"]?["401"] != nil) == auth)

            let infer = doc["paths"]?["/v2/models/{name}/infer"]?["post"]?["responses"]
            #expect(infer?["400"]?["content"]?["application/json"]?["schema"]?["$ref"]?.stringValue == "#/components/schemas/ProtocolError")
            #expect(infer?["default"]?["content"]?["application/json"]?["schema"]?["$ref"]?.stringValue == "#/components/schemas/ProtocolError")
            let invocations = doc["paths"]?["/invocations"]?["post"]?["responses"]
            #expect(invocations?["400"]?["content"]?["application/json"]?["schema"]?["$ref"]?.stringValue == "#/components/schemas/MLflowError")
            let native = doc["paths"]?["/api/v1/models/{name}/predict"]?["post"]?["responses"]
            #expect(native?["400"]?["content"]?["application/json"]?["schema"]?["$ref"]?.stringValue == "#/components/schemas/Error")

            let parameters = doc["paths"]?["/api/v1/models/{name}/versions/{version}"]?["get"]?["parameters"]?.arrayValue ?? []
            let name = parameters.first { $0["name"]?.stringValue == "name" }?["schema"]
            #expect(name?["pattern"]?.stringValue == OpenAPIDocument.namePattern)
            #expect(name?["maxLength"]?.intValue == 64)
            let version = parameters.first { $0["name"]?.stringValue == "version" }?["schema"]
            #expect(version?["minimum"]?.intValue == 1)
        }
    }
}
