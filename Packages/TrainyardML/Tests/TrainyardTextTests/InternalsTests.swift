import Testing
@testable import TrainyardText

@Test func countTermsMergesRepeatsInFirstOccurrenceOrderAcrossTexts() {
    var scratch = TextFeaturizer.Scratch()
    // Many texts through one scratch: stale slots of earlier texts must never match.
    for round in 0..<300 {
        let base = UInt32(round % 7)
        let ids: [UInt32] = [base + 5, base + 3, base + 5, 1 << 20 | base, base + 3, base + 5, base + 9]
        var indices: [Int32] = [42]
        var counts: [Float] = [7]
        TextFeaturizer.countTerms(ids, scratch: &scratch, indices: &indices, counts: &counts)
        #expect(indices == [42, Int32(base + 5), Int32(base + 3), Int32(1 << 20 | base), Int32(base + 9)])
        #expect(counts == [7, 3, 2, 1, 1])
    }
    // A long text (table regrown) after short ones.
    let long = (0..<5000).map { UInt32($0 % 1000) }
    var indices: [Int32] = []
    var counts: [Float] = []
    TextFeaturizer.countTerms(long, scratch: &scratch, indices: &indices, counts: &counts)
    #expect(indices == (0..<1000).map { Int32($0) })
    #expect(counts.allSatisfy { $0 == 5 })
}

@Test func lbfgsMinimisesAnIllConditionedQuadraticPastItsMemory() {
    // f(x) = Σ c_i (x_i − i)², condition number 1000: needs many more iterations than `memory`.
    let n = 50
    let c = (0..<n).map { 1 + 999 * Double($0) / Double(n - 1) }
    var x = [Double](repeating: 0, count: n)
    var lbfgs = LBFGS()
    lbfgs.maxIterations = 200
    lbfgs.delta = 0
    var iterations = 0
    lbfgs.minimize(&x, evaluate: { x, g in
        var f = 0.0
        for i in 0..<n {
            let d = x[i] - Double(i)
            f += c[i] * d * d
            g[i] = 2 * c[i] * d
        }
        return f
    }, iterationFinished: { k, f, _ in
        iterations = k
        return f > 1e-12
    })
    #expect(iterations > lbfgs.memory)
    for i in 0..<n { #expect(abs(x[i] - Double(i)) < 1e-4) }
}
