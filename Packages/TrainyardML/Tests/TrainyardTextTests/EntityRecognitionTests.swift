import Testing
@testable import TrainyardText

private struct StopAfter: TrainingObserver {
    let iterations: Int
    func epochFinished(_ report: EpochReport) -> Bool { report.epoch < iterations }
}

/// Small BIO corpus with regular patterns: "<First> <Last> lives in <City> ." etc.
private func toyCoNLL() -> [UInt8] {
    let first = ["John", "Mary", "Ahmed", "Li", "Carlos", "Anna"]
    let last = ["Smith", "Jones", "Khan", "Wei", "Garcia", "Novak"]
    let cities = ["Paris", "Berlin", "Lagos", "Lima", "Osaka", "Oslo"]
    let orgs = ["Acme", "Globex", "Initech"]
    var out = ""
    for i in 0..<36 {
        let f = first[i % 6], l = last[(i / 2) % 6], c = cities[(i / 3) % 6], o = orgs[i % 3]
        if i % 2 == 0 {
            out += "\(f) B-PER\n\(l) I-PER\nlives O\nin O\n\(c) B-LOC\n. O\n\n"
        } else {
            out += "\(o) B-ORG\nhired O\n\(f) B-PER\n\(l) I-PER\nin O\n\(c) B-LOC\n. O\n\n"
        }
    }
    return Array(out.utf8)
}

@Test func nerLearnsToyDataAndReturnsOriginalOffsets() throws {
    let result = try EntityRecognition.train(NERTrainingRequest(train: toyCoNLL(), params: ["iterations": .int(40)]),
                                             observer: SilentObserver())
    #expect(result.labels == ["LOC", "ORG", "PER"])
    #expect(result.history.count >= 5)
    #expect(result.history.allSatisfy { $0.metrics["train_loss"] != nil })
    #expect(result.history.contains { $0.metrics["validation_f1"] != nil })
    let recognizer = try EntityRecognizer(model: result.model)
    #expect(recognizer.entityTypes == ["LOC", "ORG", "PER"])
    let text = "🎉 Héllo!  Mary Khan lives in Lima."
    let entities = try recognizer.recognize(text)
    for e in entities {
        #expect(text.scalarSlice(e.start, e.end) == e.text)
        #expect(e.score > 0 && e.score <= 1)
    }
    #expect(entities.contains { $0.text == "Mary Khan" && $0.tag == "PER" && $0.start == 10 && $0.end == 19 })
    #expect(entities.contains { $0.text == "Lima" && $0.tag == "LOC" && $0.start == 29 && $0.end == 33 })
    let batch = recognizer.recognize(batch: [text, "", "Globex hired Anna Novak."])
    #expect(try batch[0].get() == entities)
    if case .failure(let e) = batch[1] { #expect(e.code == .emptyText) } else { Issue.record("expected failure") }
}

@Test func nerTrainsOnWikigoldIOB1DeterministicallyAndRoundTrips() throws {
    let request = NERTrainingRequest(train: Fixtures.bytes("wikigold-subset.conll"), validation: .fraction(0.2),
                                     params: ["iterations": .int(30), "eval_every": .int(10)], seed: 3)
    let a = try EntityRecognition.train(request, observer: SilentObserver())
    let b = try EntityRecognition.train(request, observer: SilentObserver())
    #expect(a.model == b.model)
    #expect(a.history == b.history)
    #expect(a.labels == ["LOC", "MISC", "ORG", "PER"])
    #expect(a.metrics["f1"]! > 0.3)
    let recognizer = try EntityRecognizer(model: a.model)
    let report = try recognizer.evaluate(conll: Fixtures.bytes("wikigold-subset.conll"))
    #expect(report.metrics["f1"]! > 0.6)  // mostly training data
    #expect(report.perType?["PER"]?["support"] != nil)
    let again = try EntityRecognizer(model: a.model).evaluate(conll: Fixtures.bytes("wikigold-subset.conll"))
    #expect(again == report)
}

@Test func nerTrainsOnTabSeparatedWNUT17() throws {
    let result = try EntityRecognition.train(NERTrainingRequest(train: Fixtures.bytes("wnut17-subset.conll"),
                                                                params: ["iterations": .int(15), "tag_scheme": .string("bio")]),
                                             observer: SilentObserver())
    #expect(result.labels.contains("person"))
    #expect(result.resolvedParams["tag_scheme"] == .string("bio"))
    _ = try EntityRecognizer(model: result.model).recognize("@paulwalk It's the view from where I'm living for two weeks.")
}

@Test func nerRejectsBadInputClearly() throws {
    do {
        _ = try EntityRecognition.train(NERTrainingRequest(train: Array("a O\nb O\n\nc O\n".utf8)), observer: SilentObserver())
        Issue.record("expected an error")
    } catch let e as TextInputError {
        #expect(e.code == .singleClass)
    }
    do {
        _ = try EntityRecognition.train(NERTrainingRequest(train: Array("John B-PER\nsaid\n".utf8)), observer: SilentObserver())
        Issue.record("expected an error")
    } catch let e as TextInputError {
        #expect(e.code == .malformedLine && e.line == 2)
    }
    #expect(throws: ParameterError.self) { try EntityRecognition.validate(params: ["tag_scheme": .string("iob9")]) }
    #expect(throws: ParameterError.self) { try EntityRecognition.validate(params: ["l2": .double(-1)]) }
    let result = try EntityRecognition.train(NERTrainingRequest(train: toyCoNLL(), params: ["iterations": .int(5), "max_text_length": .int(20)]),
                                             observer: SilentObserver())
    let recognizer = try EntityRecognizer(model: result.model)
    #expect(throws: TextInputError.self) { try recognizer.recognize(String(repeating: "x ", count: 11)) }
    #expect(throws: TextInputError.self) { try recognizer.recognize("  ") }
}

@Test func observerCanStopNERTraining() {
    #expect(throws: TrainingStopped.self) {
        try EntityRecognition.train(NERTrainingRequest(train: toyCoNLL(), params: ["iterations": .int(50)]),
                                    observer: StopAfter(iterations: 3))
    }
}
