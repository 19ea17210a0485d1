import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardCore
import TrainyardRuntime
@testable import TrainyardServer

/// `/api/v1/triggers` with `sqs` triggers: created (no call to the queue), shown and listed with
/// their settings; a queue URL at a host the server does not call, settings out of SQS's ranges
/// and templates an sqs trigger cannot fill are 400s naming the problem; with tokens, a
/// transform's output must lie under `server.data_roots`. The OpenAPI document describes them.
@Suite("Control API: sqs triggers")
struct SQSTriggerRoutesTests {
    static let json: HTTPFields = [.contentType: "application/json"]
    static let queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/training-requests"

    static func sqs(_ name: String, queue: String = SQSTriggerRoutesTests.queue, settings: String = "", action: String) -> String {
        #"{"name": "\#(name)", "sqs": {"queue_url": "\#(queue)"\#(settings)}, \#(action)}"#
    }

    static let legacyTrain = #""train": {"spec": "name: ${message.name}\ntask: command\ncommand: [\"true\"]\nmodel: { params: { epochs: ${message.epochs} } }\n"}"#

    @Test func createShowListAndRemoveAnSQSTrigger() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        try await f.application().test(.router) { client in
            let created = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: body(
                Self.sqs("legacy", settings: #", "wait_seconds": 10, "max_messages": 5, "visibility_timeout_seconds": 600"#, action: Self.legacyTrain)))
            #expect(created.status == .created, "\(created.text)")
            let trigger = try created.decode(Trigger.self)
            #expect(trigger.kind == .sqs && trigger.status == TriggerStatus())
            #expect(trigger.source == .sqs(try SQSSource(queueURL: Self.queue, waitSeconds: 10, maxMessages: 5, visibilityTimeoutSeconds: 600)))
            let answer = try created.json()
            #expect(answer["kind"] == .string("sqs"))
            #expect(answer["sqs"]?["queue_url"] == .string(Self.queue) && answer["sqs"]?["wait_seconds"] == .int(10))

            let transform = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: body(
                Self.sqs("events", action: #""transform": {"model": "iris@production", "output": "\#(f.directory.path)/scored"}"#)))
            #expect(transform.status == .created, "\(transform.text)")
            #expect(try transform.decode(Trigger.self).source == .sqs(try SQSSource(queueURL: Self.queue)), "SQS's defaults: 20 s, 10 messages")

            let list = try await client.execute(uri: "/api/v1/triggers", method: .get)
            #expect(try list.json()["triggers"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } == ["sqs", "sqs"])
            let shown = try await client.execute(uri: "/api/v1/triggers/legacy", method: .get)
            #expect(try shown.decode(Trigger.self) == trigger)
            #expect(try await client.execute(uri: "/api/v1/triggers/legacy/pause", method: .post).status == .ok)
            #expect(try await client.execute(uri: "/api/v1/triggers/legacy", method: .delete).status == .noContent)
        }
        #expect(try await f.store.triggers().map(\.name.rawValue) == ["events"])
    }

    @Test func whatAnSQSTriggerCannotBeIsA400NamingIt() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let transform = #""transform": {"model": "iris", "output": "/tmp/trainyard-out"}"#
        let cases: [(String, String)] = [
            (Self.sqs("n", queue: "http://169.254.169.254/latest/meta-data/iam", action: transform), "must have the path /ACCOUNT/QUEUE"),
            (Self.sqs("n", queue: "http://169.254.169.254/latest/meta-data", action: transform), "is not an SQS endpoint this server calls"),
            (Self.sqs("n", queue: "http://169.254.169.254/1/creds", action: transform), "is not an SQS endpoint this server calls"),
            (Self.sqs("n", queue: "https://sqs.eu-west-1.amazonaws.com.evil.example/1/q", action: transform), "is not an SQS endpoint this server calls"),
            (Self.sqs("n", queue: "http://sqs.eu-west-1.amazonaws.com/1/q", action: transform), "is not an SQS endpoint this server calls"),
            (Self.sqs("n", queue: "https://user:pw@sqs.eu-west-1.amazonaws.com/1/q", action: transform), "must not hold credentials"),
            (Self.sqs("n", settings: #", "wait_seconds": 30"#, action: transform), "sqs.wait_seconds must be in 0–20"),
            (Self.sqs("n", settings: #", "max_messages": 11"#, action: transform), "sqs.max_messages"),
            (Self.sqs("n", settings: #", "visibility": 5"#, action: transform), "unknown key(s) visibility in sqs"),
            (Self.sqs("n", action: #""transform": {"model": "iris", "output": "/tmp/${message.name}"}"#), "cannot use ${message.name}"),
            (Self.sqs("n", action: #""train": {"spec": "name: a\ntask: command\nretries: ${trigger.slot}\n"}"#), "${trigger.slot}"),
            (Self.sqs("n", action: #""train": {"spec": "name: a\ntask: nonsense\ntags: { f: ${trigger.file} }\n"}"#), "task"),
            (#"{"name": "n", "sqs": {"queue_url": "\#(Self.queue)"}, "schedule": {"cron": "@daily"}, \#(transform)}"#, "exactly one of watch, schedule and sqs"),
        ]
        try await f.application().test(.router) { client in
            for (request, expected) in cases {
                let response = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: body(request))
                #expect(response.status == .badRequest, "\(request): \(response.text)")
                #expect(response.text.contains(expected), "\(request): \(response.text)")
            }
        }
        #expect(try await f.store.triggers().isEmpty)
    }

    @Test func withTokensATransformOutputMustBeUnderTheDataRoots() async throws {
        let tokens = [AccessToken(name: "ci", secret: "train-secret-sqs-triggers", scopes: [.train, .read])]
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-sqs-roots-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("lake"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let f = try await Fixture.make(tokens: tokens) { $0.dataRoots = [root.appendingPathComponent("lake").path] }
        defer { f.remove() }
        let headers: HTTPFields = [.contentType: "application/json", .authorization: "Bearer train-secret-sqs-triggers"]
        try await f.application().test(.router) { client in
            let outside = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: headers, body: body(
                Self.sqs("events", action: #""transform": {"model": "iris", "output": "/etc/scored"}"#)))
            #expect(outside.status == .forbidden && outside.text.contains("transform.output"), "\(outside.text)")
            let inside = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: headers, body: body(
                Self.sqs("events", action: #""transform": {"model": "iris", "output": "\#(root.path)/lake/scored"}"#)))
            #expect(inside.status == .created, "\(inside.text)")
            #expect(try inside.decode(Trigger.self).dataAccess == .restricted(to: [root.appendingPathComponent("lake").path]))
        }
    }

    @Test func theOpenAPIDocumentDescribesSQSTriggers() throws {
        let schemas = OpenAPIDocument.triggerSchemas
        let definition = try #require(schemas["TriggerDefinition"])
        let sqs = try #require(definition["properties"]?["sqs"])
        #expect(sqs["required"] == .array([.string("queue_url")]))
        #expect(sqs["properties"]?["wait_seconds"]?["maximum"] == .int(20))
        #expect(sqs["properties"]?["max_messages"]?["maximum"] == .int(10))
        #expect(schemas["Trigger"]?["properties"]?["sqs"] == sqs)
        #expect(schemas["Trigger"]?["properties"]?["kind"]?["enum"] == .array([.string("watch"), .string("schedule"), .string("sqs")]))
    }
}
