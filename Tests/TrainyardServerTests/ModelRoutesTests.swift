import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TrainyardCore
@testable import TrainyardServer

@Suite("Control API: models, versions, aliases")
struct ModelRoutesTests {
    @Test func modelsVersionsAliasesAndAudit() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let v1 = try await f.registerVersion("iris", metrics: ["accuracy": 0.9])
        let v2 = try await f.registerVersion("iris", metrics: ["accuracy": 0.95])
        #expect((v1, v2) == (1, 2))

        try await f.application().test(.router) { client in
            struct Models: Decodable { var models: [ModelSummary] }
            let models = try await client.execute(uri: "/api/v1/models", method: .get).decode(Models.self).models
            #expect(models.map(\.name.rawValue) == ["iris"])
            let model = try await client.execute(uri: "/api/v1/models/iris", method: .get).decode(ModelSummary.self)
            #expect(model.latestVersion == 2)
            #expect(try await client.execute(uri: "/api/v1/models/nope", method: .get).status == .notFound)
            let badName = try await client.execute(uri: "/api/v1/models/Not_Valid", method: .get)
            #expect(badName.status == .badRequest)
            #expect(try badName.json()["error"]?["message"]?.stringValue?.contains("invalid model name") == true)

            struct Versions: Decodable { var versions: [ModelVersion] }
            let versions = try await client.execute(uri: "/api/v1/models/iris/versions", method: .get).decode(Versions.self).versions
            #expect(Set(versions.map(\.version)) == [1, 2])
            #expect(try await client.execute(uri: "/api/v1/models/nope/versions", method: .get).status == .notFound)
            let one = try await client.execute(uri: "/api/v1/models/iris/versions/1", method: .get).decode(ModelVersion.self)
            #expect(one.metrics["accuracy"] == 0.9)
            #expect(try await client.execute(uri: "/api/v1/models/iris/versions/7", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/models/iris/versions/x", method: .get).status == .badRequest)

            let metrics = try await client.execute(uri: "/api/v1/models/iris/versions/2/metrics", method: .get).json()
            #expect(metrics["metrics"]?["accuracy"]?.doubleValue == 0.95)
            #expect(metrics["history"]?.arrayValue?.count == 2)

            // Aliases: set, move, audit.
            let set = try await client.execute(uri: "/api/v1/models/iris/aliases/production", method: .put,
                                               headers: [.contentType: "application/json"], body: body(#"{"version": 1}"#))
            #expect(set.status == .ok)
            let alias = try set.decode(Alias.self)
            #expect(alias.version == 1)
            #expect(alias.updatedBy == "anonymous")
            _ = try await client.execute(uri: "/api/v1/models/iris/aliases/production", method: .put,
                                         body: body(#"{"version": 2, "reason": "better accuracy"}"#))
            struct Aliases: Decodable { var aliases: [Alias] }
            let aliases = try await client.execute(uri: "/api/v1/models/iris/aliases", method: .get).decode(Aliases.self).aliases
            #expect(aliases.map(\.version) == [2])

            #expect(try await client.execute(uri: "/api/v1/models/iris/aliases/production", method: .put, body: body(#"{"version": 9}"#)).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/models/iris/aliases/production", method: .put, body: body(#"{"version": "two"}"#)).status == .badRequest)
            #expect(try await client.execute(uri: "/api/v1/models/iris/aliases/production", method: .put, body: body(#"{"version": 1, "extra": 1}"#)).status == .badRequest)
            #expect(try await client.execute(uri: "/api/v1/models/iris/aliases/123", method: .put, body: body(#"{"version": 1}"#)).status == .badRequest)

            // Archive and delete are refused while aliased.
            let archive = try await client.execute(uri: "/api/v1/models/iris/versions/2", method: .patch, body: body(#"{"status": "archived"}"#))
            #expect(archive.status == .conflict)
            #expect(archive.errorCode == "conflict")
            #expect(try await client.execute(uri: "/api/v1/models/iris/versions/2", method: .delete).status == .conflict)

            // Version 1 is free: tag it, archive it, restore it, delete it.
            let tagged = try await client.execute(uri: "/api/v1/models/iris/versions/1", method: .patch,
                                                  body: body(#"{"status": "archived", "tags": {"owner": "ml"}}"#)).decode(ModelVersion.self)
            #expect(tagged.status == .archived)
            #expect(tagged.tags["owner"] == "ml")
            #expect(try await client.execute(uri: "/api/v1/models/iris/versions/1", method: .patch, body: body(#"{"status": "gone"}"#)).status == .badRequest)
            #expect(try await client.execute(uri: "/api/v1/models/iris/versions/1", method: .patch, body: body("{}")).status == .badRequest)
            #expect(try await client.execute(uri: "/api/v1/models/iris/versions/1", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/api/v1/models/iris/versions/1", method: .get).status == .notFound)

            #expect(try await client.execute(uri: "/api/v1/models/iris/aliases/production", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/api/v1/models/iris/aliases/production", method: .delete).status == .notFound)

            struct History: Decodable { var events: [AliasEvent] }
            let events = try await client.execute(uri: "/api/v1/models/iris/aliases/history", method: .get).decode(History.self).events
            #expect(events.map(\.fromVersion) == [nil, 1, 2])
            #expect(events.map(\.toVersion) == [1, 2, nil])
            #expect(events.allSatisfy { $0.actor == "anonymous" })
            #expect(events[1].reason == "better accuracy")
        }
    }
}
