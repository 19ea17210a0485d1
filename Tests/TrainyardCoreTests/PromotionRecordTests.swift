import Foundation
import Testing
@testable import TrainyardCore

/// The decision `promote:` keeps with a version: what was compared, on which rows, and the
/// sentence `models show`, the API and the job's log print.
@Suite("PromotionRecord")
struct PromotionRecordTests {
    let rmse = PromotionPolicy(Promotion(alias: .production, metric: "rmse", max: 1000))
    let incumbent = PromotionPolicy.Incumbent(version: 3, storedMetrics: ["rmse": 700])

    @Test func onTheSameHeldOutRows() {
        let score = IncumbentScore(version: 3, metric: "rmse", value: 640.1, comparedOn: .heldOutRows, rows: 1200)
        let worse = rmse.decide(newMetrics: ["rmse": 812.3], incumbent: incumbent, sameDataScore: score)
        #expect(rmse.record(worse) == PromotionRecord(
            alias: .production, metric: "rmse", promoted: false,
            reason: "not promoted: rmse 812.3 is not better than production (v3) 640.1 on the same 1,200 held-out rows",
            value: 812.3, incumbentVersion: 3, incumbentValue: 640.1, comparedOn: .heldOutRows, rows: 1200))
        let better = rmse.decide(newMetrics: ["rmse": 600], incumbent: incumbent, sameDataScore: score)
        #expect(rmse.record(better).reason == "promoted to production: rmse 600 is better than production (v3) 640.1 on the same 1,200 held-out rows")
        #expect(rmse.record(better).promoted)
    }

    @Test func onTheValidationFileOrStoredMetrics() {
        let file = IncumbentScore(version: 3, metric: "rmse", value: 650, comparedOn: .validationFile, rows: 1500)
        #expect(rmse.decide(newMetrics: ["rmse": 640], incumbent: incumbent, sameDataScore: file).reason
                == "rmse 640 is better than production (v3) 650 on the same 1,500 rows of the validation file")
        let stored = rmse.record(rmse.decide(newMetrics: ["rmse": 640], incumbent: incumbent, sameDataScore: nil))
        #expect(stored.reason == "promoted to production: rmse 640 is better than production (v3) 700 (each on its own validation data)")
        #expect(stored.comparedOn == .storedMetrics && stored.incumbentValue == 700 && stored.rows == nil)
    }

    @Test func boundsAndAnUnsetAliasCompareNothing() {
        let high = rmse.record(rmse.decide(newMetrics: ["rmse": 5000], incumbent: incumbent, sameDataScore: nil))
        #expect(high == PromotionRecord(alias: .production, metric: "rmse", promoted: false,
                                        reason: "not promoted: rmse 5000 is above promote.max 1000", value: 5000))
        let first = rmse.record(rmse.decide(newMetrics: ["rmse": 900], incumbent: nil, sameDataScore: nil))
        #expect(first == PromotionRecord(alias: .production, metric: "rmse", promoted: true,
                                         reason: "promoted to production: production was unset", value: 900))
        let none = rmse.record(rmse.decide(newMetrics: ["mae": 1], incumbent: incumbent, sameDataScore: nil))
        #expect(!none.promoted && none.value == nil && none.reason == "not promoted: the new version has no metric rmse")
    }

    @Test func rowCountsAreGroupedWhateverTheLocale() {
        #expect([0, 7, 999, 1000, 1200, 65_536, 1_234_567, -1200].map(PromotionPolicy.groupedThousands)
                == ["0", "7", "999", "1,000", "1,200", "65,536", "1,234,567", "-1,200"])
    }

    @Test func jsonUsesSnakeCaseAndLeavesOutWhatIsUnknown() throws {
        let record = PromotionRecord(alias: .production, metric: "rmse", promoted: false, reason: "r", value: 2,
                                     incumbentVersion: 1, incumbentValue: 1, comparedOn: .heldOutRows, rows: 10)
        let object = try JSON.decode(JSONValue.self, from: try JSON.encode(record))
        #expect(object == .object(["alias": .string("production"), "metric": .string("rmse"), "promoted": .bool(false), "reason": .string("r"),
                                   "value": .int(2), "incumbent_version": .int(1), "incumbent_value": .int(1),
                                   "compared_on": .string("held_out_rows"), "rows": .int(10)]))
        #expect(try JSON.decode(PromotionRecord.self, from: try JSON.encode(record)) == record)
        let bare = PromotionRecord(alias: .production, metric: "rmse", promoted: true, reason: "r")
        let keys = try JSON.decode([String: JSONValue].self, from: try JSON.encode(bare)).keys.sorted()
        #expect(keys == ["alias", "metric", "promoted", "reason"])
    }
}
