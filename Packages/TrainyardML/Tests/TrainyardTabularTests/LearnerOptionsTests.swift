import Foundation
import Testing
import TrainyardML
@testable import TrainyardTabular

/// Options and code paths added for issue 3's targets: per-node feature sampling, the
/// parallel partition / two-histogram paths of big leaves, input and target ranges of the
/// dense models, the penalty units of `linear`, mlp weight averaging.
@Suite struct LearnerOptionsTests {
    func fit(_ algorithm: String, _ task: TabularTask = .regression, csv: [UInt8], target: String = "y",
             params: [String: ParamValue], validation: ValidationSource = .fraction(0.2)) throws -> TabularTrainingResult {
        try TabularLearning.train(TabularTrainingRequest(task: task, algorithm: algorithm, params: params, target: target,
                                                         train: csv, validation: validation), observer: SilentObserver())
    }

    @Test func featureFractionByNodeIsSeededAndChangesTheTrees() throws {
        let csv = TestData.regressionCSV(rows: 1500, seed: 21)
        let base: [String: ParamValue] = ["trees": .int(40), "learning_rate": .double(0.2)]
        var byNode = base
        byNode["feature_fraction_bynode"] = .double(0.5)
        let a = try fit("gbdt", csv: csv, params: byNode), b = try fit("gbdt", csv: csv, params: byNode)
        let plain = try fit("gbdt", csv: csv, params: base)
        #expect(a.model == b.model)
        #expect(a.model != plain.model)
        #expect(a.metrics["r2"]! > 0.9, "\(a.metrics)")
        #expect(a.resolvedParams["feature_fraction_bynode"] == .double(0.5))
        for key in ["min_data_per_group", "cat_smooth", "cat_l2", "max_cat_threshold", "max_cat_to_onehot"] {
            #expect(plain.resolvedParams[key] != nil, "\(key)")
        }
        #expect(throws: ParameterError.self) { try TabularLearning.validate(task: .regression, algorithm: "gbdt", params: ["feature_fraction_bynode": .double(0)]) }
    }

    /// 30,000 rows: the root and big leaves are partitioned on two cores and their
    /// histograms use the even/odd-row pair; the result must not depend on thread timing.
    @Test func bigLeavesTrainDeterministically() throws {
        let csv = TestData.regressionCSV(rows: 30_000, seed: 22)
        let params: [String: ParamValue] = ["trees": .int(30), "learning_rate": .double(0.3), "refit": .bool(false)]
        let a = try fit("gbdt", csv: csv, params: params), b = try fit("gbdt", csv: csv, params: params)
        #expect(a.model == b.model)
        #expect(a.metrics["r2"]! > 0.98, "\(a.metrics)")
        // The stored trees route new rows through the same splits the partition used.
        let test = try TabularPredictor(model: a.model).evaluate(csv: TestData.regressionCSV(rows: 2000, seed: 23))
        #expect(test.metrics["r2"]! > 0.98, "\(test.metrics)")
    }

    @Test func partitionKeepsLeafRowsInOrder() throws {
        // One split on a 20,000-row table through the learner itself: left rows first, both
        // sides ascending (the order the histograms and score updates rely on).
        let n = 20_000
        // 200 distinct values (one bin each); the target is 1 below 100.
        let table = EncodedTable(columns: [(0..<n).map { Double(($0 * 7919) % 200) }], target: (0..<n).map { Double(($0 * 7919) % 200 < 100 ? 1 : 0) },
                                 count: n, categoryCounts: [0])
        let mapper = BinMapper.numeric(table.columns[0], maxBins: 256)
        let rows = BinnedRows(table, mappers: [mapper])
        let config = HistogramTreeLearner.Configuration(try GBDTConfig(params: ["max_leaves": .int(2)], seed: 42), rows: n)
        let learner = HistogramTreeLearner(rows: rows, mappers: [mapper], config: config)
        let grad = table.target.map { Float(0.5 - $0) }, hess = [Float](repeating: 1, count: n)
        let tree = grad.withUnsafeBufferPointer { g in hess.withUnsafeBufferPointer { h in
            learner.grow(grad: g.baseAddress!, hess: h.baseAddress!, allowed: [true], shrinkage: 1)
        }}
        #expect(tree.feature == [0])
        #expect(learner.leafTotal == 2)
        for l in 0..<2 {
            let ids = (learner.leafBegin[l]..<(learner.leafBegin[l] + learner.leafCount[l])).map { Int(learner.indices[$0]) }
            #expect(ids == ids.sorted())
            #expect(Set(ids.map { table.target[$0] }).count == 1)
        }
        #expect(learner.leafCount[0] + learner.leafCount[1] == n)
    }

    @Test func denseModelsDoNotExtrapolateBeyondTheTrainingRange() throws {
        let csv = TestData.regressionCSV(rows: 1200, seed: 24)
        for algorithm in ["mlp", "linear"] {
            let params: [String: ParamValue] = algorithm == "mlp"
                ? ["hidden_layers": .list([.int(16)]), "epochs": .int(20), "batch_size": .int(32)] : [:]
            let r = try fit(algorithm, csv: csv, params: params)
            let predictor = try TabularPredictor(model: r.model)
            // x1 is drawn from [-2, 2]: 2 and 1000 read the same (the largest x1 seen).
            let edge = try predictor.predict(records: [["x1": .number(1.9999), "x2": .number(0), "color": .string("red")]])[0].value!
            let far = try predictor.predict(records: [["x1": .number(1000), "x2": .number(0), "color": .string("red")]])[0].value!
            #expect(abs(edge - far) < 0.05, "\(algorithm): \(edge) vs \(far)")
        }
        // mlp predictions stay within the training targets' range.
        let r = try fit("mlp", csv: csv, params: ["hidden_layers": .list([.int(16)]), "epochs": .int(5)])
        let model = try TabularModel(bytes: r.model)
        guard case .mlp(let m) = model.payload else { Issue.record("not an mlp"); return }
        #expect(m.targetMin < m.targetMax && m.targetMin > -20 && m.targetMax < 20)
        let p = try TabularPredictor(model: r.model).predict(records: (0..<50).map { i in
            ["x1": .number(Double(i) * 100 - 2500), "x2": .number(Double(i) * -100), "color": .string("red")]
        })
        #expect(p.allSatisfy { $0.value! >= m.targetMin && $0.value! <= m.targetMax })
        // The bounds survive serialisation (model format 2).
        #expect(try TabularModel(bytes: model.serialized()).serialized() == r.model)
    }

    @Test func denseEncodingBoundsWidenOnWarmStart() throws {
        let first = EncodedTable(columns: [[0, 1, 2, 3]], target: [0, 0, 0, 0], count: 4, categoryCounts: [0])
        let e = DenseEncoding(fit: first)
        #expect(abs(e.upper[0] - (3 - 1.5) / e.stds[0]) < 1e-12)
        let wider = e.widened(toCover: EncodedTable(columns: [[-1, 5]], target: [0, 0], count: 2, categoryCounts: [0]))
        #expect(abs(wider.lower[0] - (-1 - 1.5) / e.stds[0]) < 1e-12)
        #expect(abs(wider.upper[0] - (5 - 1.5) / e.stds[0]) < 1e-12)
        #expect(wider.means == e.means && wider.stds == e.stds)
    }

    /// `l2_units: raw` is ridge on the raw column: slope = Sxy / (Sxx + l2).
    @Test func linearPenaltyIsOnRawCoefficients() throws {
        var rng = SeededGenerator(seed: 25)
        var s = "x,y\n"
        var xs: [Double] = [], ys: [Double] = []
        for _ in 0..<40 {
            let x = rng.nextUnit() * 0.2, y = 30 * x + rng.nextGaussian() * 0.5
            xs.append(x); ys.append(y)
            s += "\(x),\(y)\n"
        }
        let mx = xs.reduce(0, +) / 40, my = ys.reduce(0, +) / 40
        let sxx = xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        let sxy = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        func slope(_ units: String) throws -> Double {
            let r = try fit("linear", csv: Array(s.utf8), params: ["l2": .double(0.5), "l2_units": .string(units)], validation: .fraction(0))
            let p = try TabularPredictor(model: r.model)
            let a = try p.predict(records: [["x": .number(0.05)]])[0].value!, b = try p.predict(records: [["x": .number(0.15)]])[0].value!
            return (b - a) / 0.1
        }
        let raw = try slope("raw"), standardized = try slope("standardized")
        #expect(abs(raw - sxy / (sxx + 0.5)) < 1e-6 * abs(raw), "\(raw) vs \(sxy / (sxx + 0.5))")
        // Standardised units: the same l2 on a column with σ ≈ 0.06 is a far weaker penalty.
        let sd = (sxx / 40).squareRoot()
        #expect(abs(standardized - sxy / (sxx + 0.5 * sd * sd)) < 1e-6 * abs(standardized))
        #expect(try TabularLearning.resolvedParams(task: .classification, algorithm: "linear", params: [:])["l2_units"] == .string("raw"))
    }

    @Test func mlpWeightAveragingIsDeterministicAndKeepsTheAverage() throws {
        let csv = TestData.regressionCSV(rows: 800, seed: 26)
        let params: [String: ParamValue] = ["hidden_layers": .list([.int(16)]), "epochs": .int(8), "weight_averaging": .double(0.95)]
        let a = try fit("mlp", csv: csv, params: params), b = try fit("mlp", csv: csv, params: params)
        var off = params
        off["weight_averaging"] = .double(0)
        let plain = try fit("mlp", csv: csv, params: off)
        #expect(a.model == b.model)
        #expect(a.model != plain.model)
        #expect(a.metrics["r2"]! > 0.9, "\(a.metrics)")
    }
}
