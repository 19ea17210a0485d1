import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardCore
@testable import TrainyardServer

/// Why a version was promoted or not, over the control API: the versions routes carry the
/// decision kept with each version, in the shape the OpenAPI document declares.
@Suite("Control API: promotion decisions")
struct PromotionRoutesTests {
    /// Registers a version of `model` the way a train job with `promote` completes.
    @discardableResult
    static func complete(_ f: Fixture, _ model: String, rmse: Double, incumbent: IncumbentScore? = nil) async throws -> CompletionOutcome {
        let promote = Promotion(alias: .production, metric: "rmse")
        _ = try await f.services.submitter.submit(Specs.command(model) + "\npromote: { alias: production, metric: rmse }\n")
        let lease = try #require(try await f.store.dequeue(workerID: "test", kinds: [.train], leaseDuration: .seconds(60)))
        let version = try await f.store.reserveVersion(lease.token)
        let manifest = Manifest(model: try ModelName(model), version: version, task: .command, algorithm: "fake", metrics: ["rmse": rmse],
                                lineage: Lineage(jobID: lease.job.id, attempt: lease.token.attempt, data: [], createdAt: Date()))
        return try await f.store.complete(lease.token, registration: VersionRegistration(manifest: manifest, promote: promote, incumbent: incumbent))
    }

    @Test func versionsCarryTheDecisionAndItsReason() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        try await Self.complete(f, "gems", rmse: 700)
        let second = try await Self.complete(f, "gems", rmse: 812.3,
                                             incumbent: IncumbentScore(version: 1, metric: "rmse", value: 640.1, comparedOn: .heldOutRows, rows: 1200))
        #expect(!second.promoted)
        let reason = "not promoted: rmse 812.3 is not better than production (v1) 640.1 on the same 1,200 held-out rows"

        try await f.application().test(.router) { client in
            let one = try await client.execute(uri: "/api/v1/models/gems/versions/2", method: .get)
            #expect(one.status == .ok)
            let promotion = try #require(try one.json()["promotion"])
            #expect(promotion == .object(["alias": .string("production"), "metric": .string("rmse"), "promoted": .bool(false),
                                          "reason": .string(reason), "value": .double(812.3), "incumbent_version": .int(1),
                                          "incumbent_value": .double(640.1), "compared_on": .string("held_out_rows"), "rows": .int(1200)]))
            let listed = try await client.execute(uri: "/api/v1/models/gems/versions", method: .get).json()["versions"]?.arrayValue ?? []
            #expect(listed.compactMap { $0["promotion"]?["reason"]?.stringValue } == [reason, "promoted to production: production was unset"])
            #expect(try await client.execute(uri: "/api/v1/models/gems/aliases", method: .get).json()["aliases"]?.arrayValue?.first?["version"]?.intValue == 1)

            // Every key the API sends is a property the OpenAPI document declares.
            let document = try await client.execute(uri: "/openapi.json", method: .get).json()
            let schemas = try #require(document["components"]?["schemas"])
            #expect(schemas["ModelVersion"]?["properties"]?["promotion"]?["$ref"]?.stringValue == "#/components/schemas/PromotionRecord")
            let declared: Set<String> = Set((schemas["PromotionRecord"]?["properties"]?.objectValue ?? [:]).keys)
            let sent: Set<String> = Set((promotion.objectValue ?? [:]).keys)
            #expect(sent.isSubset(of: declared), "\(sent) vs \(declared)")
            let required = schemas["PromotionRecord"]?["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(Set(required) == ["alias", "metric", "promoted", "reason"])
        }
    }
}
