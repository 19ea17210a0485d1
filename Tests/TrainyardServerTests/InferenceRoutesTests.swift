import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime
import TrainyardServing
import TrainyardTabular
import TrainyardTestSupport
@testable import TrainyardServer

/// The inference routes through the router, each protocol with requests shaped as its own docs show.
@Suite(.serialized) struct InferenceRoutesTests {
    static let row = #"{"a": 4, "b": 1, "c": "u"}"#

    /// The inference routes over a tabular regression version "lin" (columns a, b numbers, c "u"/"v").
    func withApp(_ body: @escaping @Sendable (any TestClientProtocol, Fixture) async throws -> Void) async throws {
        let fixture = try await Fixture.make(maxBodyBytes: 4096)
        defer { fixture.remove() }
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        try await fixture.withInference(options: ServingOptions(defaultModel: "lin")) { client, _ in try await body(client, fixture) }
    }

    static let json: HTTPFields = [.contentType: "application/json"]

    @Test func everyProtocolAnswersAndNamesTheVersion() async throws {
        try await withApp { client, _ in
            let requests: [(String, String, HTTPFields)] = [
                ("/api/v1/models/lin/predict", #"{"inputs": [\#(Self.row)]}"#, Self.json),
                ("/api/v1/models/lin/predict?version=1", #"{"instances": [\#(Self.row)]}"#, Self.json),
                ("/v1/models/lin:predict", #"{"instances": [\#(Self.row)]}"#, Self.json),
                ("/v1/models/lin/versions/1:predict", #"{"inputs": {"a": [4], "b": [1], "c": ["u"]}}"#, Self.json),
                ("/invocations", #"{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[4, 1, "u"]]}}"#, Self.json),
                ("/invocations", #"{"dataframe_records": [\#(Self.row)]}"#, Self.json),
                ("/invocations", #"{"instances": [\#(Self.row)]}"#, Self.json),
                ("/invocations", #"{"inputs": {"a": [4], "b": [1], "c": ["u"]}}"#, Self.json),
                ("/invocations", "a,b,c\n4,1,u\n", [.contentType: "text/csv"]),
                ("/v2/models/lin/infer", #"{"id": "r1", "inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [4]}, {"name": "b", "shape": [1], "datatype": "INT64", "data": [1]}, {"name": "c", "shape": [1], "datatype": "BYTES", "data": ["u"]}]}"#, Self.json),
                ("/v2/models/lin/versions/1/infer", #"{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [4]}, {"name": "b", "shape": [1], "datatype": "INT64", "data": [1]}, {"name": "c", "shape": [1], "datatype": "BYTES", "data": ["u"]}]}"#, Self.json),
            ]
            for (uri, text, headers) in requests {
                let response = try await client.execute(uri: uri, method: .post, headers: headers, body: body(text))
                #expect(response.status == .ok, "\(uri): \(response.text)")
                #expect(response.headers[.modelVersion] == "1", "\(uri)")
            }
            let v2 = try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: Self.json, body: body(#"{"id": "r1", "inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [4]}, {"name": "b", "shape": [1], "datatype": "INT64", "data": [1]}, {"name": "c", "shape": [1], "datatype": "BYTES", "data": ["u"]}]}"#))
            let answer = try v2.json()
            #expect(answer["model_version"]?.stringValue == "1")
            #expect(answer["id"]?.stringValue == "r1")
            #expect(answer["outputs"]?.arrayValue?.first?["name"]?.stringValue == "prediction")
            let native = try await client.execute(uri: "/api/v1/models/lin/predict", method: .post, headers: Self.json, body: body(#"{"inputs": [\#(Self.row)]}"#)).json()
            #expect(native["version"]?.intValue == 1 && native["model"]?.stringValue == "lin")
            #expect(try await client.execute(uri: "/ping", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/health/live", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/health/ready", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/models/lin/ready", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/models/lin", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v1/models/lin", method: .get).status == .ok)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.text.contains(#"trainyard_inference_requests_total{protocol="v2",model="lin",version="1",status="200"}"#))
            #expect(metrics.text.contains("trainyard_inference_batch_size_bucket"))
        }
    }

    @Test func clientMistakesAreNever500() async throws {
        try await withApp { client, _ in
            let cases: [(String, String, HTTPFields, HTTPResponse.Status)] = [
                ("/api/v1/models/lin/predict", #"{"inputs": [{"a": "big", "zzz": 1}]}"#, Self.json, .badRequest),
                ("/api/v1/models/lin/predict", #"{"inputs": [1, 2"#, Self.json, .badRequest),
                ("/api/v1/models/lin/predict", #"{"rows": []}"#, Self.json, .badRequest),
                ("/api/v1/models/lin/predict?version=9", #"{"inputs": [\#(Self.row)]}"#, Self.json, .notFound),
                ("/api/v1/models/lin/predict?version=x", #"{"inputs": [\#(Self.row)]}"#, Self.json, .badRequest),
                ("/api/v1/models/nope/predict", #"{"inputs": [\#(Self.row)]}"#, Self.json, .notFound),
                ("/api/v1/models/lin/predict?alias=staging", #"{"inputs": [\#(Self.row)]}"#, Self.json, .notFound),
                ("/api/v1/models/lin/predict", "inputs=1", [.contentType: "application/x-www-form-urlencoded"], .unsupportedMediaType),
                ("/api/v1/models/lin/predict", #"{"inputs": ["# + String(repeating: "1,", count: 3000) + "1]}", Self.json, .contentTooLarge),
                ("/v2/models/lin/infer", #"{"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "data": [4]}]}"#, Self.json, .badRequest),
                ("/v1/models/lin:predict", #"{"instances": [{"a": 1}], "inputs": {}}"#, Self.json, .badRequest),
                ("/invocations", "a,b\n1\n", [.contentType: "text/csv"], .badRequest),
                ("/predict", #"{"text": "fine"}"#, Self.json, .notFound),
            ]
            for (uri, text, headers, status) in cases {
                let response = try await client.execute(uri: uri, method: .post, headers: headers, body: body(text))
                #expect(response.status == status, "\(uri) \(text.prefix(60)): \(response.text)")
            }
            let bad = try await client.execute(uri: "/api/v1/models/lin/predict", method: .post, headers: Self.json,
                                               body: body(#"{"inputs": [{"a": "big", "zzz": 1}]}"#)).json()
            let paths = Set((bad["error"]?["details"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue })
            #expect(paths == ["inputs[0].a", "inputs[0].b", "inputs[0].c", "inputs[0].zzz"])
        }
    }

    @Test func openAPICoversInferenceRoutes() async throws {
        try await withApp { client, _ in
            let document = try await client.execute(uri: "/openapi.json", method: .get).json()
            let paths = document["paths"]?.objectValue ?? [:]
            for path in ["/api/v1/models/{name}/predict", "/v2/models/{name}/infer", "/v1/models/{name}:predict", "/invocations", "/ping",
                         "/predict", "/ner", "/metrics", "/v2/health/ready"] {
                #expect(paths[path] != nil, "\(path) missing from /openapi.json")
            }
        }
    }
}
