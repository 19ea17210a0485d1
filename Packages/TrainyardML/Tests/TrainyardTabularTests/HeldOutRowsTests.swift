import Foundation
import Testing
import TrainyardML
@testable import TrainyardTabular

/// The rows a tabular learner holds out of its training data come back as CSV that scores the
/// model exactly as the learner did: another model (the version an alias points at) can be
/// compared with it on the same rows.
@Suite("Held-out validation rows (tabular)")
struct TabularHeldOutRowsTests {
    static func train(_ csv: [UInt8], algorithm: String, params: [String: ParamValue] = [:], fraction: Double = 0.2,
                      seed: UInt64 = 42, target: String = "y") throws -> TabularTrainingResult {
        try TabularLearning.train(TabularTrainingRequest(task: .regression, algorithm: algorithm, params: params, target: target, train: csv,
                                                         validation: .fraction(fraction), seed: seed), observer: SilentObserver())
    }

    /// Without a refit the returned model is the one validated: scoring it on the held-out
    /// CSV gives its own metrics back, on the same number of rows.
    @Test(arguments: [("gbdt", ["trees": ParamValue.int(30), "refit": .bool(false)]), ("mlp", ["epochs": .int(5)]), ("linear", [:])])
    func theModelScoresItsOwnMetricsOnTheHeldOutRows(_ algorithm: String, _ params: [String: ParamValue]) throws {
        let result = try Self.train(TestData.regressionCSV(rows: 400, seed: 5), algorithm: algorithm, params: params)
        let heldOut = try #require(result.heldOut)
        #expect(heldOut.count == 80 && heldOut.format == "csv")
        let report = try TabularPredictor(model: result.model).evaluate(csv: heldOut.data)
        #expect(report.rows == 80)
        for metric in ["rmse", "mae", "r2"] {
            let own = try #require(result.metrics[metric]), again = try #require(report.metrics[metric])
            #expect(abs(own - again) <= 1e-9 * max(1, abs(own)), "\(algorithm) \(metric): \(own) vs \(again)")
        }
    }

    @Test func theChoiceFollowsTheSeed() throws {
        let csv = TestData.regressionCSV(rows: 300, seed: 9)
        let params: [String: ParamValue] = ["trees": .int(5)]
        let a = try #require(try Self.train(csv, algorithm: "gbdt", params: params, seed: 1).heldOut)
        let b = try #require(try Self.train(csv, algorithm: "gbdt", params: params, seed: 1).heldOut)
        let c = try #require(try Self.train(csv, algorithm: "gbdt", params: params, seed: 2).heldOut)
        #expect(a == b)
        #expect(a.data != c.data && a.count == c.count)
    }

    /// Fields that need quoting come back unchanged, the training file's delimiter is kept,
    /// and a row without a target (never a validation row) is not among them.
    @Test func fieldsRoundTripAndRowsWithoutATargetAreLeftOut() throws {
        var text = "name\tsize\ty\n"
        for i in 0..<60 {
            let name = i % 3 == 0 ? "\"big, \"\"red\"\" \(i % 2)\"" : "plain\(i % 2)"
            text += "\(name)\t\(i)\t\(i % 7 == 0 ? "" : String(2 * i))\n"
        }
        let result = try Self.train(Array(text.utf8), algorithm: "linear", fraction: 0.25)
        let heldOut = try #require(result.heldOut)
        let withTarget = (0..<60).filter { $0 % 7 != 0 }.count
        #expect(heldOut.count == Int((Double(withTarget) * 0.25).rounded()))
        let table = try CSVTable.parse(heldOut.data)
        #expect(table.delimiter == CSVTokenizer.tab)
        #expect(table.header == ["name", "size", "y"])
        #expect(table.rows.count == heldOut.count)
        let source = try CSVTable.parse(Array(text.utf8))
        var sourceRows: [String: [String]] = [:]
        for r in 0..<source.rows.count { sourceRows[source.rows.string(row: r, column: 1)] = (0..<3).map { source.rows.string(row: r, column: $0) } }
        for r in 0..<table.rows.count {
            let fields = (0..<3).map { table.rows.string(row: r, column: $0) }
            #expect(sourceRows[fields[1]] == fields, "row \(r)")
            #expect(!fields[2].isEmpty)
        }
        #expect((0..<table.rows.count).contains { table.rows.string(row: $0, column: 0).contains("\"red\"") })
    }

    @Test func noHeldOutRowsWithoutAFraction() throws {
        let csv = TestData.regressionCSV(rows: 100, seed: 3)
        let separate = try TabularLearning.train(TabularTrainingRequest(task: .regression, algorithm: "linear", target: "y", train: csv,
                                                                        validation: .data(TestData.regressionCSV(rows: 20, seed: 4))),
                                                 observer: SilentObserver())
        #expect(separate.heldOut == nil)
        #expect(try Self.train(csv, algorithm: "linear", fraction: 0).heldOut == nil)
    }
}
