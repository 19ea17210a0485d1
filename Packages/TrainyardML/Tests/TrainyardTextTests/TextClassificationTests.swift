import Testing
@testable import TrainyardText

private struct StopAfter: TrainingObserver {
    let epochs: Int
    func epochFinished(_ report: EpochReport) -> Bool { report.epoch < epochs }
}

/// Linearly separable toy data: positive and negative vocabularies.
private func toyData(_ n: Int = 60) -> [UInt8] {
    let good = ["great", "wonderful", "superb", "lovely", "excellent"]
    let bad = ["awful", "terrible", "boring", "dreadful", "bad"]
    var lines = ["text\tlabel"]
    for i in 0..<n {
        let positive = i % 2 == 0
        let words = positive ? good : bad
        lines.append("the film was \(words[i % 5]) and \(words[(i / 2) % 5])\t\(positive ? "pos" : "neg")")
    }
    return Array(lines.joined(separator: "\n").utf8)
}

@Test func classifierLearnsSeparableDataWithBinaryScores() throws {
    let result = try TextClassification.train(TextClassificationRequest(train: toyData(), params: ["char_ngrams": .list([.int(0), .int(0)])]),
                                              observer: SilentObserver())
    #expect(result.labels == ["neg", "pos"])
    #expect(result.metrics["accuracy"] == 1)
    #expect(!result.history.isEmpty)
    #expect(result.history.allSatisfy { $0.metrics["train_loss"] != nil && $0.metrics["validation_accuracy"] != nil })
    #expect(result.resolvedParams["word_ngrams"] == .int(2))
    let classifier = try TextClassifier(model: result.model)
    #expect(classifier.positiveLabel == "pos")
    let predictions = try classifier.predict(["a superb and lovely film", "boring, dreadful"])
    #expect(predictions.map(\.label) == ["pos", "neg"])
    for p in predictions {
        let score = try #require(p.score)
        #expect(score >= 0 && score <= 1)
        #expect(abs(score - p.probabilities["pos"]!) < 1e-12)
        #expect(abs(p.probabilities.values.reduce(0, +) - 1) < 1e-9)
    }
    #expect(predictions[0].score! > 0.5 && predictions[1].score! < 0.5)
}

@Test func classifierOnUCIYelpIsAccurateDeterministicAndRoundTrips() throws {
    let request = TextClassificationRequest(train: Fixtures.bytes("uci-yelp.tsv"), validation: .fraction(0.2), seed: 7)
    let a = try TextClassification.train(request, observer: SilentObserver())
    let b = try TextClassification.train(request, observer: SilentObserver())
    #expect(a.model == b.model)
    #expect(a.history == b.history)
    #expect(a.metrics["accuracy"]! > 0.7)
    #expect(a.metrics["macro_f1"] != nil && a.metrics["auc"] != nil)
    let texts = ["The food was amazing.", "Worst service ever.", "ok I guess"]
    let one = try TextClassifier(model: a.model).predict(texts)
    let two = try TextClassifier(model: a.model).predict(texts)
    #expect(one == two)
    #expect(one[0].label == "1" && one[1].label == "0")
    let report = try TextClassifier(model: a.model).evaluate(data: Fixtures.bytes("uci-yelp.tsv"), format: .auto, textColumn: nil, labelColumn: nil)
    #expect(report.rows == 1000)
    #expect(report.metrics["accuracy"]! > 0.85)
    let other = try TextClassification.train(TextClassificationRequest(train: Fixtures.bytes("uci-yelp.tsv"), validation: .fraction(0.2), seed: 8),
                                             observer: SilentObserver())
    #expect(other.model != a.model)
}

@Test func multiclassPredictionsHaveNoScore() throws {
    var lines: [String] = []
    for i in 0..<45 {
        let (label, word) = [("sport", "football"), ("tech", "software"), ("food", "pasta")][i % 3]
        lines.append("{\"text\": \"news about \(word) number \(i)\", \"label\": \"\(label)\"}")
    }
    let result = try TextClassification.train(TextClassificationRequest(train: Array(lines.joined(separator: "\n").utf8)),
                                              observer: SilentObserver())
    #expect(result.labels == ["food", "sport", "tech"])
    let p = try TextClassifier(model: result.model).predict(["more software news"])[0]
    #expect(p.label == "tech")
    #expect(p.score == nil)
    #expect(p.probabilities.count == 3)
}

@Test func positiveClassChoice() {
    #expect(TextClassification.positiveIndex(["neg", "pos"]) == 1)
    #expect(TextClassification.positiveIndex(["1", "2"]) == 0)
    #expect(TextClassification.positiveIndex(["a", "b"]) == 1)
    #expect(TextClassification.positiveIndex(["False", "True"]) == 1)
    #expect(TextClassification.positiveIndex(["a", "b", "c"]) == nil)
}

@Test func badTrainingInputIsRejectedClearly() {
    do {
        _ = try TextClassification.train(TextClassificationRequest(train: Array("text\tlabel\na\tx\nb\tx\n".utf8)), observer: SilentObserver())
        Issue.record("expected an error")
    } catch let e as TextInputError {
        #expect(e.code == .singleClass)
    } catch { Issue.record("unexpected \(error)") }
    do {
        _ = try TextClassification.train(TextClassificationRequest(train: Array("text\tlabel\na\tx\n \ty\n".utf8)), observer: SilentObserver())
        Issue.record("expected an error")
    } catch let e as TextInputError {
        #expect(e.code == .emptyText && e.line == 3)
    } catch { Issue.record("unexpected \(error)") }
    #expect(throws: ParameterError(key: "epochs", message: "must be an integer in [1, 1000]; got 0")) {
        try TextClassification.validate(params: ["epochs": .int(0)])
    }
    #expect(throws: ParameterError.self) { try TextClassification.validate(params: ["char_ngrams": .list([.int(5), .int(2)])]) }
    #expect(throws: ParameterError.self) { try TextClassification.validate(params: ["colour": .string("blue")]) }
}

@Test func predictionRejectsEmptyAndTooLongTextsByIndex() throws {
    let result = try TextClassification.train(TextClassificationRequest(train: toyData(), params: ["max_text_length": .int(50)]),
                                              observer: SilentObserver())
    let classifier = try TextClassifier(model: result.model)
    do {
        _ = try classifier.predict(["fine", "   "])
        Issue.record("expected an error")
    } catch let e as TextInputError {
        #expect(e.code == .emptyText)
        #expect(e.description.contains("text 1"))
    }
    do {
        _ = try classifier.predict([String(repeating: "long ", count: 20)])
        Issue.record("expected an error")
    } catch let e as TextInputError {
        #expect(e.code == .textTooLong)
        #expect(e.description.contains("text 0"))
    }
    #expect(try classifier.predict([]).isEmpty)
}

@Test func observerCanStopClassificationTraining() {
    #expect(throws: TrainingStopped.self) {
        try TextClassification.train(TextClassificationRequest(train: toyData(), params: ["early_stopping_rounds": .int(0)]),
                                     observer: StopAfter(epochs: 2))
    }
}

@Test func corruptModelsAreRejected() {
    #expect(throws: ModelFormatError.self) { try TextClassifier(model: [1, 2, 3]) }
    #expect(throws: ModelFormatError.self) { try EntityRecognizer(model: Array("TXCL".utf8) + [1, 0, 0, 0]) }
}

@Test func averagedSGDRunsAreDeterministicAndDifferFromOneRun() throws {
    func train(_ params: [String: ParamValue]) throws -> TextTrainingResult {
        try TextClassification.train(TextClassificationRequest(train: Fixtures.bytes("uci-yelp.tsv"), validation: .fraction(0.2),
                                                               params: params, seed: 3), observer: SilentObserver())
    }
    let a = try train(["sgd_runs": .int(3)])
    let b = try train(["sgd_runs": .int(3)])
    let one = try train(["sgd_runs": .int(1)])
    #expect(a.model == b.model)
    #expect(a.history == b.history)
    #expect(a.model != one.model)
    #expect(a.resolvedParams["sgd_runs"] == .int(3))
    #expect(try train([:]).resolvedParams["sgd_runs"] == .int(1))
    // The average of runs is as good a classifier as a single run here.
    #expect(a.metrics["accuracy"]! > 0.7 && one.metrics["accuracy"]! > 0.7)
    let texts = ["The food was amazing.", "Worst service ever."]
    #expect(try TextClassifier(model: a.model).predict(texts).map(\.label) == ["1", "0"])
    #expect(throws: ParameterError.self) { try TextClassification.validate(params: ["sgd_runs": .int(0)]) }
}

@Test func binaryFastPathMatchesTheSoftmaxUpdate() {
    // One positive row with one feature; K = 2 keeps one vector u with class weights (−u, u).
    var rows = SparseRows()
    rows.indices = [3]
    rows.values = [1]
    rows.offsets = [0, 1]
    var run = SGDRun(K: 2, buckets: 4, n: 1, seed: 1)
    let settings = SGDRun.Settings(K: 2, lambda: 0, eta0: 0.5)
    // Two-class softmax from zero: p = 1/2, loss log 2; the step moves the true class weight by
    // +η/2 and the other by −η/2, the biases by ±0.1·η/2.
    let first = run.epoch(rows: rows, y: [1], weight: [1], settings)
    #expect(abs(first - 0.693_147_180_559_945_3) < 1e-6)
    var w = [Float](repeating: 0, count: 8)
    var b: [Float] = [0, 0]
    run.accumulate(into: &w, bias: &b, weight: 1)
    #expect(w == [0, 0, 0, 0, 0, 0, -0.25, 0.25])
    #expect(abs(b[0] + 0.025) < 1e-7 && abs(b[1] - 0.025) < 1e-7)
    // Second pass: z1 − z0 = 0.5 + 0.05, loss = log(1 + e^−0.55).
    let second = run.epoch(rows: rows, y: [1], weight: [1], settings)
    #expect(abs(second - 0.455_492_481_463_337_6) < 1e-5)
}

@Test func charWeightIsAppliedAndKeptInTheModel() throws {
    let data = Fixtures.bytes("uci-yelp.tsv")
    func train(_ weight: Double) throws -> TextTrainingResult {
        try TextClassification.train(TextClassificationRequest(train: data, validation: .fraction(0.2),
                                                               params: ["char_weight": .double(weight), "sgd_runs": .int(1)], seed: 5),
                                     observer: SilentObserver())
    }
    let weighted = try train(0.5)
    let plain = try train(1)
    #expect(weighted.model != plain.model)
    #expect(weighted.resolvedParams["char_weight"] == .double(0.5))
    // The loaded model applies the same weight as training did: its metrics on the validation
    // split equal the trainer's (which scored featurized rows directly).
    var rng = SeededGenerator(seed: 5 ^ 0x5EED)
    let records = try TextDatasetReader.read(data, format: .auto)
    var order = Array(records.indices)
    order.shuffle(using: &rng)
    let held = Set(order.prefix(Int((Double(records.count) * 0.2).rounded())))
    let validation = held.sorted().map { records[$0] }
    let tsv = Array(validation.map { "\($0.text)\t\($0.label)" }.joined(separator: "\n").utf8)
    for result in [weighted, plain] {
        let report = try TextClassifier(model: result.model).evaluate(data: tsv)
        #expect(abs(report.metrics["accuracy"]! - result.metrics["accuracy"]!) < 1e-12)
        // Batch prediction (fused path with tagged character ids) agrees with evaluate().
        let predictions = try TextClassifier(model: result.model).predict(validation.map(\.text))
        let correct = zip(predictions, validation).filter { $0.label == $1.label }.count
        #expect(abs(Double(correct) / Double(validation.count) - report.metrics["accuracy"]!) < 1e-12)
    }
    #expect(throws: ParameterError.self) { try TextClassification.validate(params: ["char_weight": .double(0)]) }
}

@Test func versionOneModelsLoadWithCharWeightOne() throws {
    let result = try TextClassification.train(TextClassificationRequest(train: toyData(), params: ["char_weight": .double(1)]),
                                              observer: SilentObserver())
    // A version-1 file is the same fields without the trailing character weight.
    var v1 = Array(result.model.dropLast(4))
    v1[4] = 1; v1[5] = 0; v1[6] = 0; v1[7] = 0
    let texts = ["a superb and lovely film", "boring, dreadful"]
    #expect(try TextClassifier(model: v1).predict(texts) == TextClassifier(model: result.model).predict(texts))
}
