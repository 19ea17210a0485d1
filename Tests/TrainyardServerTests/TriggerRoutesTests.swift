import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardCore
import TrainyardRuntime
@testable import TrainyardServer

/// `/api/v1/triggers`: create, list, show, pause, resume, remove; bad input is a 400 naming it;
/// with tokens, the folders a trigger names must lie under `server.data_roots`.
@Suite("Control API: triggers")
struct TriggerRoutesTests {
    static let json: HTTPFields = [.contentType: "application/json"]

    static func headers(_ secret: String?) -> HTTPFields {
        var fields = json
        if let secret { fields[.authorization] = "Bearer \(secret)" }
        return fields
    }

    static func watch(_ name: String, path: String, glob: String = "*.csv", output: String = "/tmp/trainyard-out") -> String {
        """
        {"name": "\(name)", "watch": {"path": "\(path)", "glob": "\(glob)", "settle_seconds": 3},
         "transform": {"model": "iris@production", "output": "\(output)", "keep": ["id"], "max_error_rate": 0.05}}
        """
    }

    @Test func createListShowPauseResumeAndRemove() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let inbox = f.directory.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        try await f.application().test(.router) { client in
            let created = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: body(Self.watch("inbox", path: inbox.path)))
            #expect(created.status == .created, "\(created.text)")
            #expect(created.headers[.location] == "/api/v1/triggers/inbox")
            let trigger = try created.decode(Trigger.self)
            #expect(trigger.kind == .watch && !trigger.paused && !trigger.createdBy.isEmpty)
            #expect(trigger.definition.dataRoots == nil, "a loopback server without tokens is not restricted")
            guard case .transform(let request) = trigger.action else { Issue.record("expected a transform action"); return }
            #expect(request["keep"] == .array([.string("id")]))

            let schedule = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: body("""
                {"name": "nightly", "schedule": {"cron": "0 3 * * *", "time_zone": "Europe/Berlin"},
                 "train": {"spec": "name: demo\\ntask: command\\ncommand: [\\"true\\"]\\ntags: { slot: \\"${trigger.slot}\\" }\\n"}}
                """))
            #expect(schedule.status == .created, "\(schedule.text)")
            #expect(try schedule.decode(Trigger.self).nextSlot != nil)

            let again = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: body(Self.watch("inbox", path: inbox.path)))
            #expect(again.status == .conflict && again.errorCode == "conflict")

            let list = try await client.execute(uri: "/api/v1/triggers", method: .get)
            #expect(list.status == .ok)
            #expect(try list.json()["triggers"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["inbox", "nightly"])

            let shown = try await client.execute(uri: "/api/v1/triggers/inbox", method: .get)
            #expect(shown.status == .ok)
            #expect(try shown.decode(Trigger.self) == trigger)

            let paused = try await client.execute(uri: "/api/v1/triggers/inbox/pause", method: .post)
            #expect(paused.status == .ok)
            #expect(try paused.decode(Trigger.self).paused)
            let resumed = try await client.execute(uri: "/api/v1/triggers/nightly/resume", method: .post)
            #expect(resumed.status == .ok)
            #expect(try !resumed.decode(Trigger.self).paused)

            #expect(try await client.execute(uri: "/api/v1/triggers/inbox", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/api/v1/triggers/inbox", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/triggers/inbox", method: .delete).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/triggers/inbox/pause", method: .post).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/triggers/Not_A_Name", method: .get).status == .badRequest)
        }
        #expect(try await f.store.triggers().map(\.name.rawValue) == ["nightly"])
    }

    @Test func badDefinitionsAreA400NamingTheProblem() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let inbox = f.directory.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let cases: [(String, String)] = [
            (#"{"name": "n", "schedule": {"cron": "0 25 * * *"}, "train": {"spec": "name: a\ntask: command\ncommand: [\"true\"]\n"}}"#,
             "field 2 (hour) '25' is out of range 0–23"),
            (#"{"name": "n", "schedule": {"cron": "0 3 * * *", "time_zone": "Mars/Olympus"}, "train": {"spec": "name: a\ntask: command\ncommand: [\"true\"]\n"}}"#,
             "unknown time zone"),
            (Self.watch("n", path: inbox.path + "/missing"), "does not exist"),
            (Self.watch("n", path: inbox.path, glob: "[abc"), "is not closed"),
            (Self.watch("n", path: "relative/folder"), "must be an absolute path"),
            (#"{"name": "n", "transform": {"model": "m", "output": "/tmp/o"}}"#, "exactly one of watch, schedule and sqs"),
            (#"{"name": "n", "watch": {"path": "/tmp"}}"#, "exactly one of transform and train"),
            (#"{"name": "N!", "watch": {"path": "/tmp"}, "transform": {"model": "m", "output": "/tmp/o"}}"#, "invalid trigger name"),
            (#"{"name": "n", "watch": {"path": "/tmp", "setle_seconds": 1}, "transform": {"model": "m", "output": "/tmp/o"}}"#, "setle_seconds"),
            (#"{"name": "n", "watch": {"path": "/tmp"}, "transform": {"model": "m", "output": "/tmp/o", "max_eror_rate": 0.1}}"#, "max_eror_rate"),
            (#"{"name": "n", "watch": {"path": "/tmp"}, "transform": {"model": "not a model", "output": "/tmp/o"}}"#, "invalid model name"),
            (#"{"name": "n", "watch": {"path": "/tmp"}, "train": {"spec": "name: a\ntask: command\ncommand: [\"true\"]\nretries: ${trigger.slot}\n"}}"#,
             "${trigger.slot}"),
            (#"{"name": "n", "schedule": {"cron": "@daily"}, "train": {"spec": "name: a\ntask: nonsense\n"}}"#, "task"),
            (#"{"name": "n", "schedule": {"cron": "@daily"}, "transform": {"model": "m", "output": "/tmp/o"}}"#, "transform.input is required"),
            ("not json", "not valid JSON"),
        ]
        try await f.application().test(.router) { client in
            for (request, expected) in cases {
                let response = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: body(request))
                #expect(response.status == .badRequest, "\(request): \(response.text)")
                #expect(response.text.contains(expected), "\(request): \(response.text)")
            }
            let yaml = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: [.contentType: "application/yaml"], body: body("name: n"))
            #expect(yaml.status == .unsupportedMediaType)
        }
        #expect(try await f.store.triggers().isEmpty)
    }

    @Test func withTokensFoldersMustBeUnderTheDataRoots() async throws {
        let tokens = [AccessToken(name: "ci", secret: "train-secret-triggers", scopes: [.train, .read]),
                      AccessToken(name: "viewer", secret: "read-secret-triggers", scopes: [.read])]
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-trigger-roots-\(UUID().uuidString)")
        let lake = root.appendingPathComponent("lake"), outside = root.appendingPathComponent("private")
        for folder in [lake.appendingPathComponent("in"), outside] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createSymbolicLink(atPath: lake.appendingPathComponent("escape").path, withDestinationPath: outside.path)
        let f = try await Fixture.make(tokens: tokens) { $0.dataRoots = [lake.path] }
        defer { f.remove() }
        let train = Self.headers("train-secret-triggers")
        try await f.application().test(.router) { client in
            var messages: Set<String> = []
            for path in [outside.path, "/etc", lake.path + "/../private", lake.path + "/escape", "/nonexistent-\(UUID().uuidString)"] {
                let response = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: train,
                                                        body: body(Self.watch("probe", path: path, output: lake.path + "/out")))
                #expect(response.status == .forbidden, "\(path): \(response.text)")
                messages.insert(try #require(try response.json()["error"]?["message"]?.stringValue))
            }
            #expect(messages.count == 1, "one answer whether the folder exists or not")
            let output = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: train,
                                                  body: body(Self.watch("probe", path: lake.path + "/in", output: outside.path)))
            #expect(output.status == .forbidden && output.text.contains("transform.output"))
            let viewer = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.headers("read-secret-triggers"),
                                                  body: body(Self.watch("probe", path: lake.path + "/in", output: lake.path + "/out")))
            #expect(viewer.status == .forbidden)
            #expect(try await client.execute(uri: "/api/v1/triggers", method: .get, headers: Self.headers(nil)).status == .unauthorized)

            let created = try await client.execute(uri: "/api/v1/triggers", method: .post, headers: train,
                                                   body: body(Self.watch("probe", path: lake.path + "/in", output: lake.path + "/out")))
            #expect(created.status == .created, "\(created.text)")
            let trigger = try created.decode(Trigger.self)
            #expect(trigger.createdBy == "ci")
            // Every job it makes is held to the same roots.
            #expect(trigger.dataAccess == .restricted(to: [lake.path]))
            #expect(try await client.execute(uri: "/api/v1/triggers/probe", method: .get, headers: Self.headers("read-secret-triggers")).status == .ok)
        }
    }
}
