import Foundation
import Testing
import TrainyardML
@testable import TrainyardTabular

/// gbdt linear leaves (`linear_tree`, `linear_lambda`): fit, prediction paths, model format 3
/// (format 2 still read), determinism and warm start.
@Suite struct LinearTreeTests {
    /// y = piecewise linear in x1 (kink at 0.5) + 2·x2 + noise; x2 missing in every 40th row
    /// unless `missing` is false.
    static func piecewiseCSV(rows: Int, seed: UInt64, missing: Bool = true) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        var s = "x1,x2,kind,y\n"
        for i in 0..<rows {
            let x1 = rng.nextUnit() * 4 - 2, x2 = rng.nextUnit() * 2 - 1
            let kind = ["a", "b"][Int(rng.next() % 2)]
            let base = x1 < 0.5 ? 3 * x1 : 1.5 - 2 * (x1 - 0.5)
            let y = base + 2 * x2 + (kind == "a" ? 0.5 : 0) + rng.nextGaussian() * 0.05
            let x2s = missing && i % 40 == 3 ? "NA" : String(format: "%.5f", x2)
            s += String(format: "%.5f", x1) + ",\(x2s),\(kind)," + String(format: "%.5f", y) + "\n"
        }
        return Array(s.utf8)
    }

    func fit(_ csv: [UInt8], _ params: [String: ParamValue], warmStart: [UInt8]? = nil, task: TabularTask = .regression,
             target: String = "y") throws -> TabularTrainingResult {
        try TabularLearning.train(TabularTrainingRequest(task: task, algorithm: "gbdt", params: params, target: target, train: csv,
                                                         validation: .fraction(0.2), warmStart: warmStart), observer: SilentObserver())
    }

    func forest(_ model: [UInt8]) throws -> GBDTModel {
        guard case .gbdt(let m) = try TabularModel(bytes: model).payload else { throw ModelFormatError("not gbdt") }
        return m
    }

    /// Constant leaves (explicitly: regression defaults to linear leaves).
    static let small: [String: ParamValue] = ["trees": .int(30), "learning_rate": .double(0.3), "max_leaves": .int(4), "linear_tree": .bool(false)]

    @Test func linearLeavesFitAPiecewiseLinearTargetBetter() throws {
        let train = Self.piecewiseCSV(rows: 3000, seed: 1, missing: false), test = Self.piecewiseCSV(rows: 2000, seed: 2, missing: false)
        var linear = Self.small
        linear["linear_tree"] = .bool(true)
        let c = try fit(train, Self.small), l = try fit(train, linear)
        let rc = try TabularPredictor(model: c.model).evaluate(csv: test).metrics["rmse"]!
        let rl = try TabularPredictor(model: l.model).evaluate(csv: test).metrics["rmse"]!
        // Four constant leaves per tree need many steps for the slopes; linear leaves fit
        // them directly (noise 0.05; a slope in a feature a leaf's path does not split on
        // is still learnt in steps, as in LightGBM).
        #expect(rl < 0.6 * rc, "linear \(rl) constant \(rc)")
        #expect(rl < 0.11, "linear \(rl)")
        #expect(l.resolvedParams["linear_tree"] == .bool(true))
        #expect(c.resolvedParams["linear_tree"] == .bool(false))
        #expect(c.resolvedParams["linear_lambda"] == .double(0))
        // Defaults: linear leaves for regression, constant leaves for classification.
        #expect(try TabularLearning.resolvedParams(task: .regression, algorithm: "gbdt", params: [:])["linear_tree"] == .bool(true))
        #expect(try TabularLearning.resolvedParams(task: .classification, algorithm: "gbdt", params: [:])["linear_tree"] == .bool(false))
        let m = try forest(l.model)
        #expect(m.forest.hasLinearLeaves && !m.forest.coefWeight.isEmpty)
        #expect(try !forest(c.model).forest.hasLinearLeaves)
        // Only numeric features get coefficients (x1 = 0, x2 = 1; `kind` is categorical).
        #expect(Set(m.forest.coefFeature).isSubset(of: [0, 1]))
        #expect(throws: ParameterError.self) {
            try TabularLearning.validate(task: .regression, algorithm: "gbdt", params: ["linear_lambda": .double(-1)])
        }
    }

    /// 9 numeric features, y = Σ (j+1)·xⱼ + noise, x₀ missing in every 30th row: more than 7
    /// distinct linear features, so the scorer takes its sparse path.
    static func wideCSV(rows: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        var s = (0..<9).map { "x\($0)" }.joined(separator: ",") + ",y\n"
        for i in 0..<rows {
            let x = (0..<9).map { _ in rng.nextUnit() * 2 - 1 }
            let y = x.enumerated().reduce(0) { $0 + Double($1.offset + 1) * $1.element } + rng.nextGaussian() * 0.05
            let fields = x.enumerated().map { j, v in j == 0 && i % 30 == 5 ? "NA" : String(format: "%.5f", v) }
            s += fields.joined(separator: ",") + "," + String(format: "%.5f", y) + "\n"
        }
        return Array(s.utf8)
    }

    /// The scorer (dense 8-lane path for ≤ 7 features, sparse path otherwise) against a plain
    /// walk of every tree, with rows missing a leaf feature scored by the constant value.
    @Test(arguments: [false, true])
    func rowsMissingALeafFeatureGetTheConstantValue(wide: Bool) throws {
        var params = Self.small
        params["linear_tree"] = .bool(true)
        if wide { params["max_leaves"] = .int(16) }
        let r = try fit(wide ? Self.wideCSV(rows: 3000, seed: 3) : Self.piecewiseCSV(rows: 2000, seed: 3), params)
        let m = try forest(r.model)
        #expect(Set(m.forest.coefFeature).count > 7 || !wide, "\(Set(m.forest.coefFeature))")
        #expect(m.scorer != nil && (m.scorer!.denseWeight.isEmpty == wide))
        let table = try TabularPredictor(model: r.model).encode(csv: wide ? Self.wideCSV(rows: 500, seed: 4) : Self.piecewiseCSV(rows: 500, seed: 4)).data
        // The table scorer (dense 8-lane path) against a plain walk of every tree.
        let fast = m.rawScores(table)
        var walk = [Double](repeating: m.forest.initialScores[0], count: table.count)
        for i in 0..<table.count {
            for t in 0..<m.forest.treeCount {
                var node = Int(m.forest.roots[t])
                while node >= 0 {
                    let f = Int(m.forest.nodeFeature[node])
                    let b = Int(m.mappers[f].bin(table.columns[f][i]))
                    let left = (m.forest.nodeBits[node * 4 + b / 64] >> UInt64(b % 64)) & 1 == 1
                    node = Int(m.forest.nodeChildren[2 * node + (left ? 0 : 1)])
                }
                let leaf = ~node
                let range = m.forest.coefRange(leaf)
                let usesMissing = range.contains { table.columns[Int(m.forest.coefFeature[$0])][i].isNaN }
                var v = m.forest.leafValues[leaf]
                if !range.isEmpty && !usesMissing {
                    v = m.forest.leafConst[leaf]
                    for c in range {
                        let x = table.columns[Int(m.forest.coefFeature[c])][i]
                        v += m.forest.coefWeight[c] * min(max(x, m.forest.coefLower[c]), m.forest.coefUpper[c])
                    }
                }
                walk[i] += v
            }
        }
        #expect(zip(fast, walk).allSatisfy { abs($0 - $1) < 1e-9 * max(1, abs($1)) })
        #expect((0..<table.count).contains { table.columns[wide ? 0 : 1][$0].isNaN })
        #expect(fast.allSatisfy { $0.isFinite })
    }

    @Test func modelRoundTripsAndFormat2StillLoads() throws {
        var params = Self.small
        params["linear_tree"] = .bool(true)
        let test = Self.piecewiseCSV(rows: 300, seed: 6)
        let l = try fit(Self.piecewiseCSV(rows: 1500, seed: 5), params)
        let model = try TabularModel(bytes: l.model)
        #expect(model.serialized() == l.model)
        #expect(try forest(model.serialized()).forest == forest(l.model).forest)
        // Checkpoint → predictor gives the same predictions as the serving model.
        #expect(try TabularPredictor(model: l.checkpoint).predictMatrix(csv: test) == TabularPredictor(model: l.model).predictMatrix(csv: test))

        // A format-2 file is a format-3 constant-leaf file without the six (empty) linear
        // arrays at its end: it still loads and predicts the same.
        let c = try fit(Self.piecewiseCSV(rows: 1500, seed: 5), Self.small)
        #expect(c.model[4..<8] == [3, 0, 0, 0])
        var v2 = Array(c.model.dropLast(6 * 8))
        v2.replaceSubrange(4..<8, with: [2, 0, 0, 0])
        let old = try TabularModel(bytes: v2)
        #expect(try forest(v2).forest == forest(c.model).forest)
        #expect(try TabularPredictor(model: v2).predictMatrix(csv: test) == TabularPredictor(model: c.model).predictMatrix(csv: test))
        // Written again, it is format 3.
        #expect(old.serialized() == c.model)
        // A newer format is refused.
        var bad = l.model
        bad.replaceSubrange(4..<8, with: [9, 0, 0, 0])
        #expect(throws: ModelFormatError.self) { try TabularModel(bytes: bad) }
    }

    @Test func trainingIsDeterministicGivenTheSeed() throws {
        var params = Self.small
        params["linear_tree"] = .bool(true)
        params["bagging_fraction"] = .double(0.8)  // the bagged score-update path
        let csv = Self.piecewiseCSV(rows: 6000, seed: 7)
        let a = try fit(csv, params), b = try fit(csv, params)
        #expect(a.model == b.model)
        params["seed"] = .int(7)
        let c = try fit(csv, params)
        #expect(c.model != a.model)
        #expect(c.metrics["r2"]! > 0.99, "\(c.metrics)")
    }

    @Test func warmStartAppendsTrees() throws {
        var linear = Self.small
        linear["linear_tree"] = .bool(true)
        let test = Self.piecewiseCSV(rows: 1000, seed: 10)
        // Constant v1, linear v2; and linear v1, linear v2.
        for v1Params in [Self.small, linear] {
            let v1 = try fit(Self.piecewiseCSV(rows: 1500, seed: 8), v1Params)
            let v2 = try fit(Self.piecewiseCSV(rows: 1500, seed: 9), linear, warmStart: v1.checkpoint)
            let f1 = try forest(v1.model).forest, f2 = try forest(v2.model).forest
            #expect(f2.treeCount > f1.treeCount)
            #expect(Array(f2.roots.prefix(f1.treeCount)) == f1.roots)
            #expect(Array(f2.leafValues.prefix(f1.leafValues.count)) == f1.leafValues)
            #expect(f2.hasLinearLeaves)
            let r1 = try TabularPredictor(model: v1.model).evaluate(csv: test).metrics["rmse"]!
            let r2 = try TabularPredictor(model: v2.model).evaluate(csv: test).metrics["rmse"]!
            #expect(r2 <= r1 * 1.05, "v1 \(r1) v2 \(r2)")
        }
    }

    @Test func classificationWithLinearLeaves() throws {
        let csv = TestData.classificationCSV(rows: 900, seed: 11)
        let r = try fit(csv, ["trees": .int(40), "linear_tree": .bool(true), "linear_lambda": .double(1)], task: .classification, target: "label")
        #expect(r.metrics["accuracy"]! > 0.9, "\(r.metrics)")
        #expect(try forest(r.model).forest.hasLinearLeaves)
    }
}
