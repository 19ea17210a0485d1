import Foundation
import Testing
import TrainyardCore
import TrainyardTabular
import TrainyardTestSupport
@testable import TrainyardServing

/// Batch transform's tabular scorer behind the `RecordBlockScorer` port, on really trained
/// models: layouts the model cannot read are `.invalidInput` before any row; refused rows are
/// `RowError`s with their lines; predictions are the predictor's.
@Suite struct TabularRecordScorerTests {
    /// y = 3a + 2b over a, b and a category c ∈ {u, v} (`RegisteredVersions.tabularCSV`).
    static let regression: TabularPredictor = {
        let result = try! TabularLearning.train(TabularTrainingRequest(task: .regression, params: ["trees": .int(10)], target: "y",
                                                                       train: RegisteredVersions.tabularCSV(offset: 0)), observer: SilentObserver())
        return try! TabularPredictor(model: result.model)
    }()

    /// "hi" when a ≥ 8, else "lo", from a and b.
    static let classification: TabularPredictor = {
        var csv = "a,b,level\n"
        for i in 0..<200 { csv += "\(i % 17),\(i % 5),\(i % 17 >= 8 ? "hi" : "lo")\n" }
        let result = try! TabularLearning.train(TabularTrainingRequest(task: .classification, params: ["trees": .int(10)], target: "level",
                                                                       train: Array(csv.utf8)), observer: SilentObserver())
        return try! TabularPredictor(model: result.model)
    }()

    static func text(_ bytes: [UInt8]?) -> String { bytes.map { String(decoding: $0, as: UTF8.self) } ?? "nil" }

    @Test func scoresAHeaderedCSVBlockKeepingTheIdAndReportingBadRows() async throws {
        let scorer = try TabularRecordScorer.open(predictor: Self.regression,
                                                  layout: TransformLayout(format: .csv, firstRecord: ["id", "a", "b", "c", "y"], keep: ["id"]))
        #expect(scorer.inputHasHeader)
        #expect(Self.text(scorer.outputHeader) == "id,prediction\n")
        let block = RecordBlock(bytes: Array("r1,4,1,u,14\nr2,4,x,u,0\n\nr3,4,1,w,0\n\"r4\nnext\",2,,v,\n".utf8), firstLine: 2)
        let scored = try await scorer.score(block)
        #expect(scored.rowsIn == 4 && scored.rowsOut == 2)
        let expected = try Self.regression.predict(records: [["a": .number(4), "b": .number(1), "c": .string("u")],
                                                             ["a": .number(2), "b": .missing, "c": .string("v")]])
        #expect(Self.text(scored.output) == "r1,\(expected[0].value!)\n\"r4\nnext\",\(expected[1].value!)\n")
        #expect(scored.errors == [
            RowError(line: 3, reason: #"column "b" is numeric; got "x""#, row: "r2,4,x,u,0"),
            RowError(line: 5, reason: #"column "c": unknown category "w"; the model knows "u", "v""#, row: "r3,4,1,w,0"),
        ])
        await scorer.close()
    }

    @Test func aHeaderlessFileIsInTheModelsOrder() async throws {
        let scorer = try TabularRecordScorer.open(predictor: Self.regression, layout: TransformLayout(format: .tsv, firstRecord: ["4", "1", "u"]))
        #expect(!scorer.inputHasHeader)
        let scored = try await scorer.score(RecordBlock(bytes: Array("4\t1\tu\n".utf8), firstLine: 1))
        let expected = try Self.regression.predict(records: [["a": .number(4), "b": .number(1), "c": .string("u")]])
        #expect(Self.text(scored.output) == "\(expected[0].value!)\n")
    }

    @Test func layoutsTheModelCannotReadAreInvalidInputNamingTheColumns() {
        func failure(_ layout: TransformLayout) -> TrainyardError? {
            do throws(TrainyardError) {
                _ = try TabularRecordScorer.open(predictor: Self.regression, layout: layout)
                return nil
            } catch { return error }
        }
        let missing = failure(TransformLayout(format: .csv, firstRecord: ["id", "a", "y"]))
        #expect(missing?.code == .invalidInput && missing?.code.httpStatus == 400)
        #expect(missing?.message == "the first line is a header without 'b' and 'c', which the model reads (it reads a, b, c)")
        let keep = failure(TransformLayout(format: .csv, firstRecord: ["a", "b", "c"], keep: ["id"]))
        #expect(keep?.message == "keep: the input has no column 'id'; its columns are a, b, c")
        let probabilities = failure(TransformLayout(format: .jsonl, firstRecord: nil, probabilities: true))
        #expect(probabilities?.code == .invalidInput)
    }

    @Test func jsonlWithProbabilitiesFromAClassifier() async throws {
        let predictor = Self.classification
        let scorer = try TabularRecordScorer.open(predictor: predictor,
                                                  layout: TransformLayout(format: .jsonl, firstRecord: nil, keep: ["id"], probabilities: true))
        #expect(scorer.outputHeader == nil && !scorer.inputHasHeader)
        let scored = try await scorer.score(RecordBlock(bytes: Array(#"{"id": 7, "a": 12, "b": 3}"#.utf8) + [10] + Array("not json\n".utf8),
                                                        firstLine: 1))
        let p = try predictor.predict(records: [["a": .number(12), "b": .number(3)]])[0]
        #expect(Self.text(scored.output)
            == #"{"id":7,"label":""# + p.label! + #"","probabilities":{"hi":\#(p.probabilities!["hi"]!),"lo":\#(p.probabilities!["lo"]!)}}"# + "\n")
        #expect(scored.errors.map(\.line) == [2])
        #expect(scored.errors.first?.reason.hasPrefix("invalid JSON") == true)
        #expect(scored.errors.first?.row == "not json")
    }
}
