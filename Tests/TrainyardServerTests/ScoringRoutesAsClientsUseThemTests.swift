import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardCore
import TrainyardServing
import TrainyardTestSupport
@testable import TrainyardServer

/// `/invocations`, `/ping`, `/predict` and `/ner` as SageMaker and the replaced services' clients
/// use them (issue 11 item 4): header-less CSV, answers per Accept, defaults loaded at start,
/// `?model=` and the only model of a task.
@Suite(.serialized) struct ScoringRoutesAsClientsUseThemTests {
    static let json: HTTPFields = [.contentType: "application/json"]

    /// What /invocations answers for rows (4, 1, u) and (16, 3, v) in JSON.
    static func jsonPredictions(_ client: any TestClientProtocol) async throws -> [Double] {
        let answer = try await client.execute(uri: "/invocations", method: .post, headers: json,
                                              body: body(#"{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[4, 1, "u"], [16, 3, "v"]]}}"#)).json()
        return (answer["predictions"]?.arrayValue ?? []).compactMap(\.doubleValue)
    }

    @Test func invocationsTakesHeaderlessCSVInTheModelsColumnOrder() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        try await fixture.withInference(options: ServingOptions()) { client, _ in
            let expected = try await Self.jsonPredictions(client)
            #expect(expected.count == 2)
            for csv in ["4,1,u\n16,3,v\n", "a,b,c\n4,1,u\n16,3,v\n", "c,a,b\nu,4,1\nv,16,3\n", "4,1,u\r\n16,3,v"] {
                let response = try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "text/csv"], body: body(csv))
                #expect(response.status == .ok, "\(csv.debugDescription): \(response.text)")
                #expect((try response.json()["predictions"]?.arrayValue ?? []).compactMap(\.doubleValue) == expected, "\(csv.debugDescription)")
            }
            // A wrong field count names the model's columns in order.
            let short = try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "text/csv"], body: body("4,1\n"))
            #expect(short.status == .badRequest)
            #expect(short.text.contains("line 1 has 2 fields") && short.text.contains("a, b, c"), "\(short.text)")
            // A first line that is not exactly the columns is data: a stray word is a clear 400.
            let wrongHeader = try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "text/csv"], body: body("a,b,z\n4,1,u\n"))
            #expect(wrongHeader.status == .badRequest, "\(wrongHeader.text)")
        }
    }

    @Test func invocationsAnswersInTheAcceptedFormat() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        try await fixture.withInference(options: ServingOptions()) { client, _ in
            let expected = try await Self.jsonPredictions(client)
            let csvBody = body("4,1,u\n16,3,v\n")
            let csv = try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "text/csv", .accept: "text/csv"], body: csvBody)
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(csv.text.split(separator: "\n").compactMap { Double($0) } == expected, "\(csv.text)")
            #expect(csv.headers[.modelVersion] == "1")
            let lines = try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "text/csv", .accept: "application/jsonlines"], body: csvBody)
            #expect(lines.headers[.contentType] == "application/jsonlines")
            #expect(lines.text.split(separator: "\n").compactMap { Double($0) } == expected, "\(lines.text)")
            // Preference by q; JSON by default and for a type the route does not produce.
            let preferred = try await client.execute(uri: "/invocations", method: .post,
                                                     headers: [.contentType: "text/csv", .accept: "application/json;q=0.5, text/csv"], body: csvBody)
            #expect(preferred.headers[.contentType]?.hasPrefix("text/csv") == true)
            for accept in [nil, "application/json", "application/xml", "*/*"] {
                var headers: HTTPFields = [.contentType: "text/csv"]
                if let accept { headers[.accept] = accept }
                let response = try await client.execute(uri: "/invocations", method: .post, headers: headers, body: csvBody)
                #expect((try response.json()["predictions"]?.arrayValue ?? []).compactMap(\.doubleValue) == expected, "Accept \(accept ?? "none")")
            }
        }
    }

    @Test func csvAnswerLinesForEveryShapeOfPrediction() {
        #expect(ScoringAnswerFormat.csvLine(.double(2.5)) == "2.5")
        #expect(ScoringAnswerFormat.csvLine(.string("setosa")) == "setosa")
        #expect(ScoringAnswerFormat.csvLine(.string("a,b")) == "\"a,b\"")
        #expect(ScoringAnswerFormat.csvLine(.object(["label": .string("pos"), "score": .double(0.75), "probabilities": .object([:])])) == "pos,0.75")
        #expect(ScoringAnswerFormat.csvLine(.array([.object(["tag": .string("PER")])])) == #""[{""tag"":""PER""}]""#)
        #expect(ScoringAnswerFormat.negotiate("application/x-ndjson") == .jsonLines)
        #expect(ScoringAnswerFormat.negotiate("text/csv;q=0") == .json)
    }

    /// /ping is 200 only when /invocations can serve: 404 with nothing to serve, 503 while the
    /// default model is not loaded, 200 once it is.
    @Test func pingIsOKOnlyWhenInvocationsCanServe() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        try await fixture.withInference(options: ServingOptions()) { client, inference in
            let nothing = try await client.execute(uri: "/ping", method: .get)
            #expect(nothing.status == .notFound)
            #expect(try nothing.json()["status"]?.stringValue == "no_model")
            #expect(try await client.execute(uri: "/invocations", method: .post, headers: Self.json, body: body(#"{"instances": [{"a": 1}]}"#)).status == .notFound)
            try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        }
        try await fixture.withInference(options: ServingOptions(defaultModel: "lin")) { client, inference in
            #expect(inference.server.loadedVersions.isEmpty)
            #expect(try await client.execute(uri: "/ping", method: .get).status == .serviceUnavailable, "not loaded yet")
            _ = try await inference.server.model(for: ModelReference(parsing: "lin"))
            #expect(try await client.execute(uri: "/ping", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }

    /// The default, text and NER models load when the model server starts, before any request;
    /// a model registered later is loaded by the next poll, without a restart.
    @Test func defaultModelsLoadAtStartBeforeAnyRequest() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        try await RegisteredVersions.registerText("reviews", services: fixture.services)
        let options = ServingOptions(aliasPollInterval: .milliseconds(50), defaultModel: "lin")
        try await fixture.withInference(options: options) { client, inference in
            let watcher = Task { try await inference.server.run() }
            defer { watcher.cancel() }
            // No request is sent until both are resident (an event, bounded generously).
            let deadline = ContinuousClock.now + .seconds(60)
            func resident() -> Set<String> { Set(inference.server.loadedVersions.map { "\($0.model):\($0.version)" }) }
            while !resident().isSuperset(of: ["lin:1", "reviews:1"]) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(resident().isSuperset(of: ["lin:1", "reviews:1"]), "loaded: \(resident())")
            let ping = try await client.execute(uri: "/ping", method: .get)
            #expect(ping.status == .ok, "\(ping.text)")
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            // The only text model answers /predict without any setting.
            let predict = try await client.execute(uri: "/predict", method: .post, headers: Self.json, body: body(#"{"text": "a great and wonderful film"}"#))
            #expect(predict.status == .ok && predict.headers[.modelName] == "reviews", "\(predict.text)")

            // An NER model registered now is picked up by the next poll.
            try await RegisteredVersions.register("entities", task: .ner, files: ["model.bin": Data([1, 2, 3])], inputSchema: .object(["type": .string("text")]),
                                                  services: fixture.services)
            let seen = ContinuousClock.now + .seconds(60)
            while !fixture.logs.all.contains(where: { $0.message.contains("model load") && $0.metadata["trainyard.model"] == "entities:1" })
                    && ContinuousClock.now < seen {
                try await Task.sleep(for: .milliseconds(20))
            }
            // Its bytes are not a model, so the load fails, but it was attempted with no request.
            #expect(fixture.logs.all.contains { $0.message.contains("model load") && $0.metadata["trainyard.model"] == "entities:1" })
        }
    }

    @Test func predictServesTheNamedConfiguredOrOnlyTextModel() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        let text = #"{"text": "a great and wonderful film"}"#
        try await fixture.withInference(options: ServingOptions()) { client, _ in
            let none = try await client.execute(uri: "/predict", method: .post, headers: Self.json, body: body(text))
            #expect(none.status == .notFound && none.text.contains("no text-classification model"), "\(none.text)")
        }
        try await RegisteredVersions.registerText("first", services: fixture.services)
        try await RegisteredVersions.registerText("second", services: fixture.services)
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        try await fixture.withInference(options: ServingOptions()) { client, _ in
            let several = try await client.execute(uri: "/predict", method: .post, headers: Self.json, body: body(text))
            #expect(several.status == .conflict, "\(several.text)")
            #expect(several.text.contains("first, second") && several.text.contains("?model="), "\(several.text)")
            for reference in ["second", "second:1", "first"] {
                let named = try await client.execute(uri: "/predict?model=\(reference)", method: .post, headers: Self.json, body: body(text))
                #expect(named.status == .ok && named.headers[.modelName] == reference.split(separator: ":")[0].description, "\(reference): \(named.text)")
                #expect(try named.json()["score"]?.doubleValue != nil)
            }
            let unknown = try await client.execute(uri: "/predict?model=nope", method: .post, headers: Self.json, body: body(text))
            #expect(unknown.status == .notFound)
            let badReference = try await client.execute(uri: "/predict?model=Bad%20Name", method: .post, headers: Self.json, body: body(text))
            #expect(badReference.status == .badRequest)
            let otherTask = try await client.execute(uri: "/predict?model=lin", method: .post, headers: Self.json, body: body(text))
            #expect(otherTask.status == .badRequest && otherTask.text.contains("tabular-regression"), "\(otherTask.text)")
            let ner = try await client.execute(uri: "/ner?model=lin", method: .post, headers: [.contentType: "text/plain"], body: body("Ada"))
            #expect(ner.status == .badRequest && ner.text.contains("/ner serves ner models"), "\(ner.text)")
        }
        // A configured name wins; one that does not exist is a 404 naming it (no silent fallback).
        try await fixture.withInference(options: ServingOptions(textModel: "second")) { client, _ in
            let configured = try await client.execute(uri: "/predict", method: .post, headers: Self.json, body: body(text))
            #expect(configured.status == .ok && configured.headers[.modelName] == "second", "\(configured.text)")
        }
        try await fixture.withInference(options: ServingOptions(textModel: "missing")) { client, _ in
            let missing = try await client.execute(uri: "/predict", method: .post, headers: Self.json, body: body(text))
            #expect(missing.status == .notFound && missing.text.contains("missing"), "\(missing.text)")
        }
    }

    @Test func nerResolvesTheSameWay() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        let defaults = ServingDefaults(store: fixture.store, options: ServingOptions())
        await #expect(throws: TrainyardError.self) { _ = try await defaults.reference(for: .ner) }
        let schema: JSONValue = .object(["type": .string("text")])
        try await RegisteredVersions.register("people", task: .ner, files: ["model.bin": Data([0])], inputSchema: schema, services: fixture.services)
        #expect(try await defaults.reference(for: .ner) == ModelReference(parsing: "people"))
        try await RegisteredVersions.register("places", task: .ner, files: ["model.bin": Data([0])], inputSchema: schema, services: fixture.services)
        // Remembered for a few seconds; a fresh resolver sees both and refuses to guess.
        let fresh = ServingDefaults(store: fixture.store, options: ServingOptions())
        do {
            _ = try await fresh.reference(for: .ner)
            Issue.record("two NER models: expected a conflict")
        } catch let error as TrainyardError {
            #expect(error.code == .conflict && error.message.contains("people, places"), "\(error.message)")
        }
        #expect(try await fresh.reference(for: .ner, requested: "places@production") == ModelReference(parsing: "places@production"))
        // The built-in name, when it exists, is served as the configured default.
        try await RegisteredVersions.register("ner-wikigold", task: .ner, files: ["model.bin": Data([0])], inputSchema: schema, services: fixture.services)
        let withBuiltIn = ServingDefaults(store: fixture.store, options: ServingOptions())
        #expect(try await withBuiltIn.reference(for: .ner) == ModelReference(parsing: "ner-wikigold"))
    }
}
