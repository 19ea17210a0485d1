/// A trained boosted ensemble with its bin mappers: raw feature values in, scores out.
struct GBDTModel: Sendable {
    var mappers: [BinMapper]
    var forest: Forest
    var objective: Objective
    /// The table scorer for prediction; nil when a tree has more than 64 leaves.
    let scorer: ForestScorer?

    init(mappers: [BinMapper], forest: Forest, objective: Objective) {
        self.mappers = mappers
        self.forest = forest
        self.objective = objective
        scorer = ForestScorer(forest: forest, mappers: mappers)
    }

    /// Class-major raw scores (scoreCount × n) for encoded rows; both cores for big batches
    /// unless `parallel` is false.
    func rawScores(_ table: EncodedTable, parallel: Bool = true) -> [Double] {
        let n = table.count, f = mappers.count, k = forest.scoreCount
        var scores = [Double](repeating: 0, count: n * k)
        scores.withUnsafeMutableBufferPointer { buf in
            for c in 0..<k { (buf.baseAddress! + c * n).update(repeating: forest.initialScores[c], count: n) }
            let out = SharedBuffer(base: buf.baseAddress!, count: buf.count)
            // Linear leaves: smaller blocks keep the rows' 8-lane inputs in L1.
            let block = forest.hasLinearLeaves ? 512 : 2048
            let chunks = parallel ? Parallel.chunks(for: n * max(forest.treeCount, 1), threshold: 200_000) : 1
            let linear = forest.hasLinearLeaves
            Parallel.forEachChunk(count: n, chunks: chunks) { _, range in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: block * max(f, 1)) { bins in
                withUnsafeTemporaryAllocation(of: UInt64.self, capacity: block) { acc in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: linear ? block * max(f, 1) : 1) { raw in
                    var start = range.lowerBound
                    while start < range.upperBound {
                        let end = min(start + block, range.upperBound)
                        let m = end - start
                        if linear {
                            // Raw values column-major (stride `block`) for the linear leaves.
                            for j in 0..<f {
                                table.columns[j].withUnsafeBufferPointer { src in
                                    (raw.baseAddress! + j * block).update(from: src.baseAddress! + start, count: m)
                                }
                            }
                        }
                        let rawBlock: UnsafePointer<Double>? = linear ? UnsafePointer(raw.baseAddress!) : nil
                        if let scorer {
                            // Column-major bins for the table scorer.
                            for j in 0..<f {
                                let mapper = mappers[j]
                                let col = bins.baseAddress! + j * block
                                table.columns[j].withUnsafeBufferPointer { src in
                                    mapper.bin(src.baseAddress! + start, count: m, into: col)
                                }
                            }
                            scorer.addScores(columns: UnsafePointer(bins.baseAddress!), stride: block, m: m, rowStart: start, n: n,
                                             scores: out.base, acc: acc.baseAddress!, raw: rawBlock)
                        } else {
                            for j in 0..<f {
                                let mapper = mappers[j]
                                table.columns[j].withUnsafeBufferPointer { src in
                                    mapper.bin(src.baseAddress! + start, count: m, into: bins.baseAddress! + j, stride: f)
                                }
                            }
                            forest.addScores(trees: 0..<forest.treeCount, rows: UnsafePointer(bins.baseAddress!), featureCount: f,
                                             rowRange: start..<end, n: n, scores: out.base, raw: rawBlock, rawStride: block)
                        }
                        start = end
                    }
                }}}
            }
        }
        return scores
    }

    /// Row-major predictions: values (regression) or class probabilities.
    func predict(_ table: EncodedTable, parallel: Bool = true) -> [Double] {
        objective.transform(scores: rawScores(table, parallel: parallel), n: table.count)
    }

    func write(to w: inout BinaryWriter) {
        switch objective {
        case .l2: w.write(0)
        case .binary: w.write(1)
        case .multiclass(let k): w.write(k)
        }
        w.write(mappers.count)
        for m in mappers { m.write(to: &w) }
        forest.write(to: &w)
    }

    static func read(from r: inout BinaryReader) throws -> GBDTModel {
        let o = try r.readInt()
        let objective: Objective = o == 0 ? .l2 : o == 1 ? .binary : .multiclass(o)
        guard o >= 0 else { throw ModelFormatError("bad objective \(o)") }
        let count = try r.readInt()
        guard count >= 0, count < 1_000_000 else { throw ModelFormatError("bad feature count \(count)") }
        let mappers = try (0..<count).map { _ in try BinMapper.read(from: &r) }
        let forest = try Forest.read(from: &r, featureCount: count)
        guard forest.scoreCount == objective.scoreCount else { throw ModelFormatError("gbdt score count does not match its objective") }
        return GBDTModel(mappers: mappers, forest: forest, objective: objective)
    }
}

/// The boosting driver (LightGBM's `GBDT::Train`): gradients → one tree per score →
/// score updates → metrics, early stopping and the observer, round after round.
enum GBDTTrainer {
    struct Outcome {
        var model: GBDTModel
        var history: [EpochReport]
    }

    /// - Parameter refitRounds: the refit pass: exactly this many rounds, no validation, no
    ///   per-round metrics and no observer reports (the history is the first pass's).
    static func train(config: GBDTConfig, task: TabularTask, classCount: Int, train: EncodedTable, validation: EncodedTable?,
                      warmStart: GBDTModel?, observer: any TrainingObserver, refitRounds: Int? = nil) throws -> Outcome {
        let objective = warmStart?.objective ?? Objective.forTask(task, classCount: classCount)
        let k = objective.scoreCount
        let n = train.count
        let mappers: [BinMapper] = warmStart?.mappers ?? train.columns.indices.map { j in
            let col = train.columns[j]
            if j < train.categoryCounts.count, train.categoryCounts[j] > 0 {
                return BinMapper.categorical(col, categoryCount: train.categoryCounts[j], maxBins: config.maxBins + 1)
            }
            return BinMapper.numeric(sampleForBinning(col, seed: config.seed), maxBins: config.maxBins + 1, minDataInBin: config.minDataInBin)
        }
        let f = mappers.count
        let trainRows = BinnedRows(train, mappers: mappers)
        let validRows = validation.map { BinnedRows($0, mappers: mappers) }
        var forest = warmStart?.forest ?? Forest(scoreCount: k, initialScores: objective.initialScores(labels: train.target))
        let existingTrees = forest.treeCount
        // Raw feature values column-major (stride = rows), for linear leaves only.
        let needsRaw = config.linearTree || forest.hasLinearLeaves
        let trainRaw: [Double] = needsRaw ? train.columns.flatMap { $0 } : []
        let validRaw: [Double] = needsRaw ? (validation?.columns.flatMap { $0 } ?? []) : []
        let isCategorical = mappers.map(\.isCategorical)
        // The numeric training values row-major (numeric feature j at `slot[j]` of a row), for
        // fitting the leaves and updating the scores: a leaf's rows are scattered, and this
        // keeps each row's values together (one cache miss per row instead of one per feature).
        var slot = [Int](repeating: -1, count: f)
        var width = 0
        for j in 0..<f where !isCategorical[j] { slot[j] = width; width += 1 }
        var trainRowMajor: [Double] = []
        if config.linearTree {
            trainRowMajor = [Double](repeating: 0, count: n * width)
            for j in 0..<f where slot[j] >= 0 {
                let col = train.columns[j], s = slot[j]
                for i in 0..<n { trainRowMajor[i * width + s] = col[i] }
            }
        }

        // Scores start from the existing model's predictions (warm start) or the initial score.
        func startScores(_ rows: BinnedRows, _ raw: [Double]) -> [Double] {
            var s = [Double](repeating: 0, count: rows.count * k)
            s.withUnsafeMutableBufferPointer { buf in
                for c in 0..<k { (buf.baseAddress! + c * rows.count).update(repeating: forest.initialScores[c], count: rows.count) }
                rows.bins.withUnsafeBufferPointer { b in
                    raw.withUnsafeBufferPointer { rw in
                        forest.addScores(trees: 0..<existingTrees, rows: b.baseAddress!, featureCount: f, rowRange: 0..<rows.count, n: rows.count,
                                         scores: buf.baseAddress!, raw: rw.baseAddress, rawStride: rows.count)
                    }
                }
            }
            return s
        }
        var scores = startScores(trainRows, trainRaw)
        var validScores = validRows.map { startScores($0, validRaw) } ?? []

        let learnerConfig = HistogramTreeLearner.Configuration(config, rows: n)
        let minDataInLeaf = learnerConfig.minDataInLeaf
        let learner = HistogramTreeLearner(rows: trainRows, mappers: mappers, config: learnerConfig)
        var grad = [Float](repeating: 0, count: n * k)
        var hess = [Float](repeating: 0, count: n * k)
        var rng = SeededGenerator(seed: config.seed)
        var history: [EpochReport] = []
        var bestLoss = Double.infinity
        var bestIteration = 0
        var iterationsDone = 0

        let rounds = refitRounds ?? config.trees
        for iteration in 1...max(rounds, 1) {
            train.target.withUnsafeBufferPointer { y in
                scores.withUnsafeBufferPointer { s in
                    grad.withUnsafeMutableBufferPointer { g in
                        hess.withUnsafeMutableBufferPointer { h in
                            objective.gradients(scores: s.baseAddress!, labels: y.baseAddress!, n: n, grad: g.baseAddress!, hess: h.baseAddress!)
                        }
                    }
                }
            }
            // Row subsampling (bagging) and feature subsampling, from the seeded generator.
            var bagged = false
            if config.baggingFraction < 1 {
                var rows: [Int32] = []
                rows.reserveCapacity(Int(Double(n) * config.baggingFraction) + 16)
                for i in 0..<n where rng.nextUnit() < config.baggingFraction { rows.append(Int32(i)) }
                if rows.count >= 2 * minDataInLeaf { learner.setRows(rows); bagged = true } else { learner.setAllRows() }
            }
            var allowed = [Bool](repeating: true, count: f)
            if config.featureFraction < 1 {
                let keep = max(1, Int((Double(f) * config.featureFraction).rounded()))
                var order = Array(0..<f)
                for i in stride(from: f - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                allowed = [Bool](repeating: false, count: f)
                for j in order.prefix(keep) { allowed[j] = true }
            }
            var anySplit = false
            for c in 0..<k {
                var tree = grad.withUnsafeBufferPointer { g in
                    hess.withUnsafeBufferPointer { h in
                        learner.grow(grad: g.baseAddress! + c * n, hess: h.baseAddress! + c * n, allowed: allowed, shrinkage: config.learningRate,
                                     nodeSeed: config.seed &+ UInt64(iteration &* k &+ c) &* 0x9E37_79B9_7F4A_7C15)
                    }
                }
                if !tree.feature.isEmpty { anySplit = true }
                if config.linearTree {
                    // Without bagging every row is in a leaf: the fit adds the leaves' outputs
                    // to the training scores as it goes, on both cores.
                    tree.linear = scores.withUnsafeMutableBufferPointer { s in
                        fitLinearLeaves(tree, learner: learner, raw: trainRowMajor, width: width, slot: slot, grad: grad, hess: hess, classOffset: c * n,
                                        isCategorical: isCategorical, config: config, scores: bagged ? nil : s.baseAddress! + c * n)
                    }
                }
                forest.append(tree)
                let t = forest.treeCount - 1
                scores.withUnsafeMutableBufferPointer { s in
                    if bagged {
                        trainRows.bins.withUnsafeBufferPointer { b in
                            trainRaw.withUnsafeBufferPointer { rw in
                                forest.addScores(trees: t..<(t + 1), rows: b.baseAddress!, featureCount: f, rowRange: 0..<n, n: n, scores: s.baseAddress!,
                                                 raw: rw.baseAddress, rawStride: n)
                            }
                        }
                    } else if tree.linear != nil {
                        // Already added by `fitLinearLeaves`.
                    } else {
                        for l in 0..<learner.leafTotal {
                            let v = tree.leafValues[l]
                            let b = learner.leafBegin[l]
                            let out = s.baseAddress! + c * n
                            for j in b..<(b + learner.leafCount[l]) { out[Int(learner.indices[j])] += v }
                        }
                    }
                }
                if let validRows {
                    let m = validRows.count
                    validScores.withUnsafeMutableBufferPointer { s in
                        validRows.bins.withUnsafeBufferPointer { b in
                            validRaw.withUnsafeBufferPointer { rw in
                                forest.addScores(trees: t..<(t + 1), rows: b.baseAddress!, featureCount: f, rowRange: 0..<m, n: m, scores: s.baseAddress!,
                                                 raw: rw.baseAddress, rawStride: m)
                            }
                        }
                    }
                }
            }
            iterationsDone = iteration
            if refitRounds != nil {
                if !anySplit { break }
                continue
            }
            var metrics: [String: Double] = [:]
            // With a validation set only the training loss is needed: for L2 straight from
            // the scores (no copy), otherwise through the metrics.
            var trainMetrics: [String: Double] = [:]
            if validation != nil, case .l2 = objective {
                var sq = 0.0
                for i in 0..<n { let e = scores[i] - train.target[i]; sq += e * e }
                metrics["train_loss"] = (sq / Double(max(n, 1))).squareRoot()
            } else {
                trainMetrics = TabularMetrics.evaluate(task: task, truth: train.target, predictions: objective.transform(scores: scores, n: n), classCount: classCount, full: false)
                metrics["train_loss"] = TabularMetrics.loss(task: task, trainMetrics)
            }
            var lossForStopping = metrics["train_loss"]!
            if let validation {
                let vm = TabularMetrics.evaluate(task: task, truth: validation.target, predictions: objective.transform(scores: validScores, n: validation.count), classCount: classCount, full: false)
                for (key, v) in vm { metrics[key] = v }
                metrics["validation_loss"] = TabularMetrics.loss(task: task, vm)
                lossForStopping = metrics["validation_loss"]!
            } else {
                for (key, v) in trainMetrics { metrics[key] = v }
            }
            let report = EpochReport(epoch: iteration, totalEpochs: config.trees, metrics: metrics)
            history.append(report)
            if lossForStopping < bestLoss - 1e-12 {
                bestLoss = lossForStopping
                bestIteration = iteration
            }
            guard observer.epochFinished(report) else { throw TrainingStopped() }
            if !anySplit { break }
            if validation != nil, config.earlyStoppingRounds > 0, iteration - bestIteration >= config.earlyStoppingRounds { break }
        }
        if validation != nil && bestIteration > 0 && bestIteration < iterationsDone {
            forest.truncate(toTrees: existingTrees + bestIteration * k)
        }
        return Outcome(model: GBDTModel(mappers: mappers, forest: forest, objective: objective), history: history)
    }

    /// Linear models for the leaves of `tree`, just grown by `learner` (its leaf row ranges).
    private static func fitLinearLeaves(_ tree: Tree, learner: HistogramTreeLearner, raw: [Double], width: Int, slot: [Int], grad: [Float], hess: [Float],
                                        classOffset: Int, isCategorical: [Bool], config: GBDTConfig,
                                        scores: UnsafeMutablePointer<Double>?) -> [LinearLeaf] {
        let leaves = learner.leafTotal
        let paths = LinearLeafFitter.pathFeatures(tree, leafCount: leaves, isCategorical: isCategorical)
        // Up to 8 groups of consecutive leaves with about equal rows, taken by whichever core
        // is free (a core slowed by other work hands its share over); each leaf's fit does not
        // depend on the grouping, so results do not either.
        let total = (0..<leaves).reduce(0) { $0 + learner.leafCount[$1] }
        let groups = total >= 4096 ? min(8, leaves) : 1
        var bounds = [0]
        var seen = 0
        for l in 0..<leaves {
            seen += learner.leafCount[l]
            if bounds.count < groups && seen * groups >= total * bounds.count && l + 1 < leaves { bounds.append(l + 1) }
        }
        bounds.append(leaves)
        let fitted = UnsafeMutablePointer<LinearLeaf>.allocate(capacity: leaves)
        defer { fitted.deinitialize(count: leaves); fitted.deallocate() }
        let indices = learner.indices, begins = learner.leafBegin, counts = learner.leafCount
        let out = scores.map { SharedBuffer(base: $0, count: learner.n) }
        raw.withUnsafeBufferPointer { rw in
            grad.withUnsafeBufferPointer { g in
                hess.withUnsafeBufferPointer { h in
                    let chunks = bounds.count - 1
                    Parallel.forEachChunk(count: chunks, chunks: chunks) { c, _ in
                        for l in bounds[c]..<bounds[c + 1] {
                            let rows = UnsafeBufferPointer(start: indices.base + begins[l], count: counts[l])
                            let leaf = LinearLeafFitter.fit(
                                features: paths[l], rows: rows, raw: rw.baseAddress!, width: width, slot: slot,
                                grad: g.baseAddress! + classOffset, hess: h.baseAddress! + classOffset,
                                lambda: config.linearLambda, shrinkage: config.learningRate, constant: tree.leafValues[l])
                            (fitted + l).initialize(to: leaf)
                            // Leaves' rows are disjoint: each core writes its own rows' scores.
                            if let out {
                                LinearLeafFitter.addOutputs(leaf, constant: tree.leafValues[l], rows: rows, raw: rw.baseAddress!, width: width, slot: slot, out: out.base)
                            }
                        }
                    }
                }
            }
        }
        return Array(UnsafeBufferPointer(start: fitted, count: leaves))
    }

    /// Bin boundaries come from at most 200,000 values (a seeded sample), like LightGBM's
    /// `bin_construct_sample_cnt`.
    private static func sampleForBinning(_ col: [Double], seed: UInt64) -> [Double] {
        let cap = 200_000
        guard col.count > cap else { return col }
        var rng = SeededGenerator(seed: seed ^ 0xB1)
        return (0..<cap).map { _ in col[Int(rng.next() % UInt64(col.count))] }
    }
}
