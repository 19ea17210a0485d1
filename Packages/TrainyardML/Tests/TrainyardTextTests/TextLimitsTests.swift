import Testing
@testable import TrainyardText

/// The text classifier's class weights are buckets × labels floats per copy: labels over
/// `limits.classes`, or weights over `limits.train_memory_bytes`, fail before allocating.
@Suite struct TextLimitsTests {
    private func train(_ corpus: String, params: [String: ParamValue] = [:], limits: TrainingLimits) throws -> TextTrainingResult {
        try TextClassification.train(TextClassificationRequest(train: Array(corpus.utf8), format: .fasttext, params: params,
                                                               limits: limits, trainSource: "data.train"),
                                     observer: SilentObserver())
    }

    @Test func twoHundredThousandLabelsHitTheClassLimit() throws {
        var corpus = ""
        corpus.reserveCapacity(200_000 * 32)
        for i in 0..<200_000 { corpus += "__label__L\(i) some words here\n" }
        do {
            _ = try train(corpus, limits: TrainingLimits())
            Issue.record("expected the class limit")
        } catch let e as TrainingLimitError {
            #expect(e.key == "limits.classes")
            #expect(e.description == "data.train has 200000 distinct labels; limits.classes allows 10000")
        }
    }

    @Test func classWeightsOverTheMemoryLimitFailBeforeAllocating() throws {
        var corpus = ""
        for i in 0..<60 { corpus += "__label__\(["a", "b", "c"][i % 3]) word\(i % 3) text\n" }
        do {
            // 2^26 buckets × 3 classes × 64 SGD runs would be 48 GiB of floats.
            _ = try train(corpus, params: ["buckets": .int(1 << 26), "sgd_runs": .int(64)], limits: TrainingLimits(memoryBytes: 1 << 30))
            Issue.record("expected the memory limit")
        } catch let e as TrainingLimitError {
            #expect(e.key == "limits.train_memory_bytes")
            #expect(e.description.hasPrefix("the text classifier would need about"), "\(e.description)")
            #expect(e.description.contains("limits.train_memory_bytes allows 1.0 GiB; use fewer labels, or lower model.params.buckets or sgd_runs"))
        }
        // The same data with a small table trains.
        let result = try train(corpus, params: ["buckets": .int(1024), "epochs": .int(2)], limits: TrainingLimits(memoryBytes: 1 << 30))
        #expect(result.labels == ["a", "b", "c"])
    }
}
