import Foundation
import Testing
@testable import TrainyardText

/// Texts and sentences a text learner holds out of its training data come back in a format
/// its `evaluate` reads, and score the model as the learner did.
@Suite("Held-out validation rows (text)")
struct HeldOutTextTests {
    @Test func classifierScoresItsOwnMetricsOnTheHeldOutTexts() throws {
        let request = TextClassificationRequest(train: Fixtures.bytes("uci-yelp.tsv"), validation: .fraction(0.2), seed: 7)
        let result = try TextClassification.train(request, observer: SilentObserver())
        let again = try TextClassification.train(request, observer: SilentObserver())
        let heldOut = try #require(result.heldOut)
        #expect(heldOut == again.heldOut)
        #expect(heldOut.count == 200 && heldOut.format == "jsonl")
        let report = try TextClassifier(model: result.model).evaluate(data: heldOut.data, format: .jsonl)
        #expect(report.rows == 200)
        for metric in ["accuracy", "macro_f1"] {
            #expect(report.metrics[metric] == result.metrics[metric], "\(metric)")
        }
    }

    /// Custom column names become the JSONL keys, so the spec's `text_column` / `label_column`
    /// read the held-out file too; tabs, quotes and newlines survive.
    @Test func heldOutTextsRoundTripUnderTheRequestsColumnNames() throws {
        var lines: [String] = []
        for i in 0..<40 {
            let text = i % 2 == 0 ? "good \\\"film\\\"\\twith a tab \(i)" : "bad\\nfilm \(i)"
            lines.append("{\"review\": \"\(text)\", \"stars\": \"\(i % 2 == 0 ? "pos" : "neg")\"}")
        }
        let data = Array(lines.joined(separator: "\n").utf8)
        let result = try TextClassification.train(TextClassificationRequest(train: data, format: .jsonl, textColumn: "review", labelColumn: "stars",
                                                                            validation: .fraction(0.25)), observer: SilentObserver())
        let heldOut = try #require(result.heldOut)
        let records = try TextDatasetReader.read(heldOut.data, format: .jsonl, textColumn: "review", labelColumn: "stars")
        let all = try TextDatasetReader.read(data, format: .jsonl, textColumn: "review", labelColumn: "stars")
        #expect(records.count == 10)
        for record in records {
            #expect(all.contains { $0.text == record.text && $0.label == record.label }, "\(record.text)")
        }
        #expect(records.contains { $0.text.contains("\t") && $0.text.contains("\"") } || records.contains { $0.text.contains("\n") })
    }

    @Test func recognizerScoresItsOwnMetricsOnTheHeldOutSentences() throws {
        let request = NERTrainingRequest(train: Fixtures.bytes("wikigold-subset.conll"), validation: .fraction(0.2),
                                         params: ["iterations": .int(20), "eval_every": .int(10)], seed: 3)
        let result = try EntityRecognition.train(request, observer: SilentObserver())
        let heldOut = try #require(result.heldOut)
        #expect(heldOut.format == "conll")
        let sentences = try CoNLLReader.read(Fixtures.bytes("wikigold-subset.conll"))
        #expect(heldOut.count == Int((Double(sentences.count) * 0.2).rounded()))
        let report = try EntityRecognizer(model: result.model).evaluate(conll: heldOut.data)
        #expect(report.rows == heldOut.count)
        for metric in ["precision", "recall", "f1"] {
            let own = try #require(result.metrics[metric]), again = try #require(report.metrics[metric])
            #expect(abs(own - again) < 1e-12, "\(metric): \(own) vs \(again)")
        }
    }

    @Test func noHeldOutTextsWithSeparateValidationData() throws {
        let data = Fixtures.bytes("uci-yelp.tsv")
        let result = try TextClassification.train(TextClassificationRequest(train: data, validation: .data(data)), observer: SilentObserver())
        #expect(result.heldOut == nil)
    }
}
