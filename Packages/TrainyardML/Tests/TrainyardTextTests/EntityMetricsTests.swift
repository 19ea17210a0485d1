import Testing
@testable import TrainyardText

@Test func chunksFollowConllevalRules() {
    // IOB1: I- after O starts an entity, B- separates adjacent entities of one type.
    #expect(EntityMetrics.chunks(["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]) == [
        EntityChunk(start: 0, end: 2, type: "PER"), EntityChunk(start: 3, end: 4, type: "LOC"),
        EntityChunk(start: 4, end: 5, type: "LOC"),
    ])
    // IOB2 with an I- after O (invalid, but conlleval starts an entity there).
    #expect(EntityMetrics.chunks(["O", "I-PER", "I-PER", "B-ORG"]) == [
        EntityChunk(start: 1, end: 3, type: "PER"), EntityChunk(start: 3, end: 4, type: "ORG"),
    ])
    // A type change inside I- tags splits the entity.
    #expect(EntityMetrics.chunks(["B-PER", "I-LOC"]) == [
        EntityChunk(start: 0, end: 1, type: "PER"), EntityChunk(start: 1, end: 2, type: "LOC"),
    ])
    // BIOES.
    #expect(EntityMetrics.chunks(["S-PER", "B-ORG", "I-ORG", "E-ORG", "O", "S-LOC"]) == [
        EntityChunk(start: 0, end: 1, type: "PER"), EntityChunk(start: 1, end: 4, type: "ORG"),
        EntityChunk(start: 5, end: 6, type: "LOC"),
    ])
}

@Test func entityMetricsMatchHandComputedCounts() {
    let truth = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-PER"]]
    let predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG", "B-PER"]]
    // gold: PER(0,2) LOC(3) | ORG(0) PER(2)  → 4; predicted: PER(0,2) ORG(3) | ORG(0,2) PER(2) → 4
    // correct: PER(0,2), PER(2) → 2 (ORG(0,2) has the wrong span).
    let m = EntityMetrics(truth: truth, predicted: predicted)
    #expect(m.goldCount == 4 && m.predictedCount == 4 && m.correctCount == 2)
    #expect(abs(m.precision - 0.5) < 1e-12)
    #expect(abs(m.recall - 0.5) < 1e-12)
    #expect(abs(m.f1 - 0.5) < 1e-12)
    #expect(m.perType["PER"]!.f1 == 1)
    #expect(m.perType["PER"]!.support == 2)
    #expect(m.perType["LOC"]!.recall == 0 && m.perType["LOC"]!.support == 1)
    #expect(m.perType["ORG"]!.precision == 0 && m.perType["ORG"]!.predicted == 2)
    #expect(m.perTypeDictionary["PER"]!["support"] == 2)
}

@Test func iob1GoldScoredAgainstBioPredictionsLikeConlleval() {
    // Same entities written in IOB1 (gold) and IOB2 (predicted) are all correct.
    let m = EntityMetrics(truth: [["I-PER", "I-PER", "B-PER", "O", "I-LOC"]],
                          predicted: [["B-PER", "I-PER", "B-PER", "O", "B-LOC"]])
    #expect(m.correctCount == 3 && m.f1 == 1)
    let none = EntityMetrics(truth: [["O", "O"]], predicted: [["O", "O"]])
    #expect(none.f1 == 0 && none.precision == 0)
}

@Test func tagSchemesNormalise() {
    #expect(TagScheme.bio.normalise(["I-PER", "I-PER", "B-PER", "O", "I-LOC"]) == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"])
    #expect(TagScheme.bioes.normalise(["B-PER", "I-PER", "O", "B-LOC", "I-ORG"]) == ["B-PER", "E-PER", "O", "S-LOC", "S-ORG"])
    #expect(TagScheme.bio.normalise(["S-MISC", "B-ORG", "E-ORG"]) == ["B-MISC", "B-ORG", "I-ORG"])
}
