import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import TrainyardCore
import TrainyardRuntime
import TrainyardServing
import TrainyardTestSupport
import TrainyardTestServices
@testable import TrainyardServer

/// The serving contract beyond the happy path: each protocol's own error shape, 504 on a slow
/// prediction, CORS, readiness while models load, and a bring-your-own model behind every protocol.
@Suite(.serialized) struct ServingContractTests {
    static let json: HTTPFields = [.contentType: "application/json"]

    @Test func errorsComeInEachProtocolsOwnShape() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        try await fixture.withInference(options: ServingOptions(defaultModel: "lin")) { client, _ in
            // KServe V2 and TF Serving: {"error": "message"}, field problems inside the message.
            for (method, uri, text) in [(HTTPRequest.Method.post, "/v2/models/nope/infer", #"{"inputs": []}"#),
                                        (.get, "/v2/models/nope", ""),
                                        (.post, "/v1/models/nope:predict", #"{"instances": [{"a": 1}]}"#)] {
                let response = try await client.execute(uri: uri, method: method, headers: Self.json, body: body(text))
                #expect(response.status == .notFound, "\(uri)")
                #expect(try response.json()["error"]?.stringValue?.contains("nope") == true, "\(uri): \(response.text)")
            }
            let tf = try await client.execute(uri: "/v1/models/lin:predict", method: .post, headers: Self.json,
                                              body: body(#"{"instances": [{"a": "big", "b": 1, "c": "u"}]}"#))
            #expect(tf.status == .badRequest)
            let tfError = try tf.json()
            #expect(tfError["error"]?.stringValue?.contains("[0].a: field \"a\" must be a number") == true, "\(tf.text)")
            #expect(tfError["details"]?.arrayValue?.isEmpty == false)
            let v2 = try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: Self.json,
                                              body: body(#"{"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "data": [4]}]}"#))
            #expect(v2.status == .badRequest)
            #expect(try v2.json()["error"]?.stringValue != nil, "\(v2.text)")
            // MLflow / SageMaker: {"error_code", "message"}.
            let mlflow = try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "text/csv"], body: body("a,b\n1\n"))
            #expect(mlflow.status == .badRequest)
            #expect(try mlflow.json()["error_code"]?.stringValue == "BAD_REQUEST", "\(mlflow.text)")
            #expect(try mlflow.json()["message"]?.stringValue?.isEmpty == false)
            let unsupported = try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "application/xml"], body: body("<a/>"))
            #expect(unsupported.status == .unsupportedMediaType)
            #expect(try unsupported.json()["error_code"]?.stringValue == "BAD_REQUEST")
            // The native routes keep the control API's envelope.
            let native = try await client.execute(uri: "/api/v1/models/nope/predict", method: .post, headers: Self.json, body: body(#"{"inputs": []}"#))
            #expect(native.status == .notFound)
            #expect(try native.json()["error"]?["code"]?.stringValue == "not_found")
        }
    }

    @Test func plainTextForTextModels() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        try await RegisteredVersions.registerText("senti", services: fixture.services)
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        try await fixture.withInference(options: ServingOptions()) { client, _ in
            let plain: HTTPFields = [.contentType: "text/plain"]
            let response = try await client.execute(uri: "/api/v1/models/senti/predict", method: .post, headers: plain,
                                                    body: body("a great and wonderful film\r\n\nan awful and boring film\n"))
            #expect(response.status == .ok, "\(response.text)")
            let labels = try response.json()["predictions"]?.arrayValue?.compactMap { $0["label"]?.stringValue }
            #expect(labels == ["pos", "neg"])
            let empty = try await client.execute(uri: "/api/v1/models/senti/predict", method: .post, headers: plain, body: body("\n \n"))
            #expect(empty.status == .badRequest)
            let tabular = try await client.execute(uri: "/api/v1/models/lin/predict", method: .post, headers: plain, body: body("4,1,u"))
            #expect(tabular.status == .unsupportedMediaType)
        }
    }

    @Test func aSlowPredictionAnswers504() async throws {
        let fixture = try await Fixture.make(maxBodyBytes: 4 << 20)
        defer { fixture.remove() }
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        let reference = try ModelReference(parsing: "lin")
        try await fixture.withInference(options: ServingOptions(requestTimeout: .milliseconds(1), defaultModel: "lin")) { client, inference in
            // Loading is raced by the same 1 ms deadline; it carries on in the background and is cached.
            _ = try? await inference.server.model(for: reference)
            for _ in 0..<3000 where !inference.server.isLoaded(reference) { try await Task.sleep(for: .milliseconds(10)) }
            #expect(inference.server.isLoaded(reference))
            let small = try await client.execute(uri: "/api/v1/models/lin/predict", method: .post, headers: Self.json,
                                                 body: body(#"{"inputs": [{"a": 4, "b": 1, "c": "u"}]}"#))
            #expect(small.status == .ok, "one row is scored without a deadline race: \(small.text)")
            let csv = "a,b,c\n" + String(repeating: "4,1,u\n3,2,v\n", count: 10_000)
            let native = try await client.execute(uri: "/api/v1/models/lin/predict", method: .post, headers: [.contentType: "text/csv"], body: body(csv))
            #expect(native.status == .gatewayTimeout, "\(native.text.prefix(200))")
            #expect(try native.json()["error"]?["code"]?.stringValue == "timeout")
            let mlflow = try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "text/csv"], body: body(csv))
            #expect(mlflow.status == .gatewayTimeout)
            #expect(try mlflow.json()["error_code"]?.stringValue == "DEADLINE_EXCEEDED")
        }
    }

    @Test func corsAnswersConfiguredOriginsOnly() async throws {
        let fixture = try await Fixture.make(tokens: [try AccessToken(parsing: "web:s3cret-token:predict+read")]) {
            $0.corsOrigins = ["https://app.example"]
        }
        defer { fixture.remove() }
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        try await fixture.withInference(options: ServingOptions()) { client, _ in
            // A preflight carries no token: it is answered before authentication.
            let preflight = try await client.execute(uri: "/api/v1/models/lin/predict", method: .options,
                                                     headers: [.origin: "https://app.example", .accessControlRequestMethod: "POST"])
            #expect(preflight.status.code < 300, "\(preflight.status)")
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://app.example")
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
            #expect(preflight.headers[.accessControlAllowHeaders]?.lowercased().contains("authorization") == true)
            // Real requests, successful or not, carry the header for an allowed origin only.
            let authorized: HTTPFields = [.origin: "https://app.example", .authorization: "Bearer s3cret-token", .contentType: "application/json"]
            let ok = try await client.execute(uri: "/api/v1/models/lin/predict", method: .post, headers: authorized,
                                              body: body(#"{"inputs": [{"a": 4, "b": 1, "c": "u"}]}"#))
            #expect(ok.status == .ok)
            #expect(ok.headers[.accessControlAllowOrigin] == "https://app.example")
            #expect(ok.headers[.accessControlExposeHeaders]?.contains("X-Trainyard-Model-Version") == true)
            let denied = try await client.execute(uri: "/api/v1/models", method: .get, headers: [.origin: "https://app.example"])
            #expect(denied.status == .unauthorized)
            #expect(denied.headers[.accessControlAllowOrigin] == "https://app.example", "the page may read the 401")
            let foreign = try await client.execute(uri: "/api/v1/models", method: .get,
                                                   headers: [.origin: "https://evil.example", .authorization: "Bearer s3cret-token"])
            #expect(foreign.status == .ok)
            #expect(foreign.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func readinessWaitsForPreloadedModels() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        try await RegisteredVersions.registerCommand("slow", constant: 1, startDelay: 1.5, services: fixture.services)
        let readiness = Readiness()
        try await fixture.withInference(options: ServingOptions(preload: ["slow"]), readiness: readiness) { client, inference in
            let watcher = Task { try await inference.server.run() }
            defer { watcher.cancel() }
            let loading = try await client.execute(uri: "/readyz", method: .get)
            #expect(loading.status == .serviceUnavailable)
            #expect(loading.headers[.retryAfter] != nil)
            let v2Loading = try await client.execute(uri: "/v2/health/ready", method: .get)
            #expect(v2Loading.status == .serviceUnavailable)
            #expect(v2Loading.headers[.retryAfter] != nil)
            #expect(try await client.execute(uri: "/ping", method: .get).status == .serviceUnavailable)
            var ready = false
            for _ in 0..<600 {
                if try await client.execute(uri: "/readyz", method: .get).status == .ok { ready = true; break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(ready, "ready once the preloaded model answers /ping")
            #expect(try await client.execute(uri: "/v2/health/ready", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/models/slow/ready", method: .get).status == .ok)
        }
    }

    /// The issue's swap test over HTTP: the alias moves 20 times while four clients keep
    /// predicting through the routes; every response is a 200 from the version it names.
    @Test func aliasMovesTwentyTimesWithoutANon2xx() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        let v1 = try await RegisteredVersions.registerTabular("swap", offset: 0, services: fixture.services)
        let v2 = try await RegisteredVersions.registerTabular("swap", offset: 1000, services: fixture.services)
        let name = try ModelName("swap"), production = try AliasName("production")
        try await fixture.store.setAlias(production, of: name, to: v1, actor: "test", reason: nil)
        try await fixture.withInference(options: ServingOptions(aliasPollInterval: .milliseconds(20))) { client, inference in
            let watcher = Task { try await inference.server.run() }
            defer { watcher.cancel() }
            let uris = ["/api/v1/models/swap/predict?alias=production", "/v1/models/swap/labels/production:predict"]
            let row = #"{"instances": [{"a": 1, "b": 1, "c": "v"}]}"#
            let problems = Shared<[String]>([]), seen = Shared<Set<String>>([]), calls = Shared(0), stop = Shared(false)
            let lastSeen = Shared("")
            let clients = (0..<4).map { c in
                Task {
                    var i = c
                    while !stop.withLock({ $0 }) {
                        do {
                            let response = try await client.execute(uri: uris[i % 2], method: .post, headers: Self.json, body: body(row))
                            let version = response.headers[.modelVersion] ?? "?"
                            let answer = try response.json()["predictions"]?.arrayValue?.first
                            let value = answer?.doubleValue ?? answer?["prediction"]?.doubleValue ?? 0
                            // The answer must come from the version that says it answered.
                            if response.status != .ok || (version == String(v2)) != (value > 500) {
                                problems.withLock { $0.append("\(response.status) v\(version) \(value)") }
                            }
                            seen.withLock { _ = $0.insert(version) }
                            lastSeen.withLock { $0 = version }
                        } catch {
                            problems.withLock { $0.append("\(error)") }
                        }
                        calls.withLock { $0 += 1 }
                        i += 1
                    }
                }
            }
            // Each move is waited for as an event (the clients are answered by the new version),
            // bounded generously, so a loaded machine whose alias watcher polls late cannot
            // make the clients skip a version; the last move goes back to v1.
            for i in 0..<20 {
                let target = i % 2 == 0 ? v2 : v1
                try await fixture.store.setAlias(production, of: name, to: target, actor: "test", reason: nil)
                let moved = await Polling.until(timeout: .seconds(60), every: .milliseconds(10)) {
                    lastSeen.withLock { $0 } == String(target)
                }
                #expect(moved, "move \(i + 1) to v\(target) is served")
                if !moved { break }
            }
            // Enough traffic crossed the swaps however slow the machine is (an event, not a time).
            for _ in 0..<3000 where calls.withLock({ $0 }) <= 40 { try await Task.sleep(for: .milliseconds(20)) }
            stop.withLock { $0 = true }
            for client in clients { await client.value }
            #expect(problems.withLock { $0 }.isEmpty, "\(problems.withLock { $0 }.prefix(5))")
            #expect(calls.withLock { $0 } > 40)
            #expect(seen.withLock { $0 } == [String(v1), String(v2)])
        }
    }

    /// A bring-your-own model answers through every protocol; its process is killed mid-traffic
    /// and restarted without a failed request; a call past the deadline answers 504.
    @Test func bringYourOwnModelThroughEveryProtocol() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        try await RegisteredVersions.registerCommand("byom", constant: 100, services: fixture.services)
        // The deadline leaves a loaded machine time for the restart (a python start) yet keeps the 504 check short.
        let options = ServingOptions(requestTimeout: .seconds(4), defaultModel: "byom")
        try await fixture.withInference(options: options) { client, inference in
            let requests: [(String, String, String)] = [
                ("/api/v1/models/byom/predict", #"{"inputs": [{"a": 1}]}"#, "predictions"),
                ("/api/v1/models/byom/predict?version=1", #"{"instances": [{"a": 1}]}"#, "predictions"),
                ("/v1/models/byom:predict", #"{"instances": [{"a": 1}]}"#, "predictions"),
                ("/v1/models/byom/versions/1:predict", #"{"instances": [{"a": 1}]}"#, "predictions"),
                ("/v2/models/byom/infer", #"{"inputs": [{"name": "a", "shape": [1], "datatype": "INT64", "data": [1]}, {"name": "b", "shape": [1], "datatype": "FP32", "data": [0.5]}]}"#, "outputs"),
                ("/invocations", #"{"instances": [{"a": 1}]}"#, "predictions"),
                ("/invocations", #"{"dataframe_records": [{"a": 1}]}"#, "predictions"),
            ]
            @Sendable func call(_ i: Int) async throws -> (HTTPResponse.Status, Double?) {
                let (uri, text, key) = requests[i % requests.count]
                let response = try await client.execute(uri: uri, method: .post, headers: Self.json, body: body(text))
                guard response.status == .ok else { return (response.status, nil) }
                let answer = try response.json()[key]?.arrayValue?.first
                let value = key == "outputs" ? answer?["data"]?.arrayValue?.first?.doubleValue : (answer?.doubleValue ?? answer?["prediction"]?.doubleValue)
                return (response.status, value)
            }
            for i in requests.indices {
                let (status, value) = try await call(i)
                #expect(status == .ok && value == 101, "\(requests[i].0) \(requests[i].1): \(status) \(String(describing: value))")
            }
            #expect(try await client.execute(uri: "/ping", method: .get).status == .ok)

            // Kill the serve process while four clients keep calling.
            let model = try await inference.server.model(for: try ModelReference(parsing: "byom"))
            guard case .command(let process) = model.backend, let pid = process.processID else { Issue.record("not a command model"); return }
            let failures = Shared<[String]>([]), calls = Shared(0), stop = Shared(false)
            let clients = (0..<4).map { c in
                Task {
                    var i = c
                    while !stop.withLock({ $0 }) {
                        let (status, value) = (try? await call(i)) ?? (.internalServerError, nil)
                        calls.withLock { $0 += 1 }
                        if status != .ok || value != 101 { failures.withLock { $0.append("\(requests[i % requests.count].0): \(status)") } }
                        i += 1
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            kill(pid, SIGKILL)
            for _ in 0..<1500 where process.restartCount == 0 || !process.isReady { try await Task.sleep(for: .milliseconds(20)) }
            let afterRestart = calls.withLock { $0 }
            for _ in 0..<3000 where calls.withLock({ $0 }) <= max(20, afterRestart + 8) { try await Task.sleep(for: .milliseconds(20)) }
            stop.withLock { $0 = true }
            for client in clients { await client.value }
            #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(5))")
            #expect(calls.withLock { $0 } > 20)
            #expect(process.restartCount == 1 && process.processID != pid)

            // Past the request deadline: 504 in each protocol's shape.
            let slow = #"{"instances": [{"a": 1, "sleep": 6}]}"#
            async let nativeCall = client.execute(uri: "/api/v1/models/byom/predict", method: .post, headers: Self.json, body: body(slow))
            async let mlflowCall = client.execute(uri: "/invocations", method: .post, headers: Self.json, body: body(slow))
            let (native, mlflow) = try await (nativeCall, mlflowCall)
            #expect(native.status == .gatewayTimeout)
            #expect(mlflow.status == .gatewayTimeout)
            #expect(try mlflow.json()["error_code"]?.stringValue == "DEADLINE_EXCEEDED")
            let metrics = try await client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains(#"trainyard_inference_requests_total{protocol="tfserving",model="byom",version="1",status="200"}"#))
        }
    }
}

