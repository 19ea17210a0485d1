#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What to train a text classifier on.
public struct TextClassificationRequest: Sendable {
    public var train: [UInt8]
    public var format: TextFormat
    public var textColumn: String?
    public var labelColumn: String?
    public var validation: ValidationSource
    public var params: [String: ParamValue]
    public var seed: UInt64
    /// Most labels (`limits.classes`) and memory (`limits.train_memory_bytes`) the data may
    /// drive the run to.
    public var limits: TrainingLimits
    /// What the training data is, for limit messages (`data.train`).
    public var trainSource: String

    public init(train: [UInt8], format: TextFormat = .auto, textColumn: String? = nil, labelColumn: String? = nil,
                validation: ValidationSource = TextClassification.defaultValidation, params: [String: ParamValue] = [:], seed: UInt64 = 42,
                limits: TrainingLimits = TrainingLimits(), trainSource: String = "the training data") {
        self.train = train
        self.format = format
        self.textColumn = textColumn
        self.labelColumn = labelColumn
        self.validation = validation
        self.params = params
        self.seed = seed
        self.limits = limits
        self.trainSource = trainSource
    }
}

/// A trained model and how it got there.
public struct TextTrainingResult: Sendable {
    /// The serialized model; load it with `TextClassifier(model:)` or `EntityRecognizer(model:)`.
    public var model: [UInt8]
    /// Validation metrics of the returned model (`accuracy`, `macro_f1`, … or `precision`, `recall`, `f1`).
    public var metrics: [String: Double]
    /// One report per epoch, as sent to the observer.
    public var history: [EpochReport]
    /// Class labels (classification) or entity types (NER).
    public var labels: [String]
    public var resolvedParams: [String: ParamValue]
    /// The texts (sentences) held out of `train` for validation when a fraction was carved
    /// out: `metrics` were measured on exactly these. nil with separate validation data.
    public var heldOut: HeldOutRows?

    public init(model: [UInt8], metrics: [String: Double], history: [EpochReport], labels: [String], resolvedParams: [String: ParamValue],
                heldOut: HeldOutRows? = nil) {
        self.model = model
        self.metrics = metrics
        self.history = history
        self.labels = labels
        self.resolvedParams = resolvedParams
        self.heldOut = heldOut
    }
}

/// Text classification (binary or multiclass): hashed word/char n-grams, TF-IDF (+ Naive-Bayes
/// scaling), L2-normalised, multinomial logistic regression trained by SGD.
///
/// ```swift
/// let result = try TextClassification.train(TextClassificationRequest(train: bytes), observer: SilentObserver())
/// let classifier = try TextClassifier(model: result.model)
/// let p = try classifier.predict(["a gorgeous, witty film"])[0].score   // P(positive)
/// ```
public enum TextClassification {
    /// The algorithm's public name (recorded with every model it trains).
    public static let algorithm = "logistic-regression"

    /// Validation texts when a request names none: 10 % of the training texts, held out.
    public static let defaultValidation = ValidationSource.fraction(0.1)

    /// Checks hyper-parameters without training.
    public static func validate(params: [String: ParamValue]) throws(ParameterError) {
        _ = try TextClassificationConfig(params)
    }

    /// Trains a classifier. Deterministic for a given seed.
    ///
    /// - Throws: `ParameterError`, `TextInputError` (bad data, one class, empty text),
    ///   `TrainingLimitError` (more labels or memory than `request.limits` allow), or
    ///   `TrainingStopped` when the observer returns false.
    public static func train(_ request: TextClassificationRequest, observer: any TrainingObserver) throws -> TextTrainingResult {
        let config = try TextClassificationConfig(request.params)
        let seed = config.seed ?? request.seed
        var trainRecords = try TextDatasetReader.read(request.train, format: request.format,
                                                      textColumn: request.textColumn, labelColumn: request.labelColumn)
        // Counted on the whole file, before validation texts are held out: the file's labels.
        try request.limits.checkClasses(Set(trainRecords.map(\.label)).count, in: request.trainSource)
        var validationRecords: [LabeledText]
        var heldOut: HeldOutRows?
        switch request.validation {
        case .fraction(let f):
            guard f > 0, f < 1 else { throw ParameterError(key: "validation", message: "fraction must be in (0, 1); got \(f)") }
            var rng = SeededGenerator(seed: seed ^ 0x5EED)
            var order = Array(trainRecords.indices)
            order.shuffle(using: &rng)
            let n = trainRecords.count
            let held = n >= 10 ? max(1, Int((Double(n) * f).rounded())) : 0
            let heldSet = Set(order.prefix(held))
            validationRecords = heldSet.sorted().map { trainRecords[$0] }
            trainRecords = trainRecords.indices.filter { !heldSet.contains($0) }.map { trainRecords[$0] }
            if !validationRecords.isEmpty {
                heldOut = HeldOutRows(data: TextDatasetWriter.jsonl(validationRecords, textKey: request.textColumn ?? "text",
                                                                    labelKey: request.labelColumn ?? "label"),
                                      count: validationRecords.count, format: TextFormat.jsonl.rawValue)
            }
        case .data(let bytes):
            validationRecords = try TextDatasetReader.read(bytes, format: request.format,
                                                           textColumn: request.textColumn, labelColumn: request.labelColumn)
        }
        for record in trainRecords + validationRecords {
            try checkText(record.text, maxLength: config.maxTextLength, line: record.line)
        }
        let labels = Array(Set(trainRecords.map(\.label))).sorted()
        try memoryPlan(config, classes: labels.count)
            .check(request.limits, advice: "use fewer labels, or lower model.params.buckets\(config.sgdRuns > 1 ? " or sgd_runs" : "")")
        guard labels.count >= 2 else {
            throw TextInputError(.singleClass, "the training data has only one label (\(labels.first ?? "")); a classifier needs at least two")
        }
        let labelIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        // Validation texts with labels unseen in training cannot be scored as correct; keep them
        // (they count as errors) unless they would be the only ones.
        let trainY = trainRecords.map { Int32(labelIndex[$0.label]!) }
        let validationY = validationRecords.map { Int32(labelIndex[$0.label] ?? -1) }

        var trainer = TextClassifierTrainer(config: config, labels: labels, seed: seed)
        let outcome = try trainer.fit(trainTexts: trainRecords.map(\.text), trainY: trainY,
                                      validationTexts: validationRecords.map(\.text), validationY: validationY,
                                      observer: observer)
        return TextTrainingResult(model: outcome.model.serialized(), metrics: outcome.metrics, history: outcome.history,
                                  labels: labels, resolvedParams: config.resolved(seed: seed), heldOut: heldOut)
    }

    /// The class-weight arrays of a run (buckets × classes floats each): the SGD runs' own,
    /// the epoch snapshot, the best epoch, the tail-averaging window and its mean, the
    /// Naive-Bayes counts, and the packed model. They dwarf everything else: 2^20 buckets ×
    /// 10 000 classes is 40 GiB per copy.
    static func memoryPlan(_ config: TextClassificationConfig, classes: Int) -> MemoryPlan {
        let b = config.buckets, k = max(classes, 2)
        var plan = MemoryPlan("the text classifier")
        plan.add("SGD weights (\(config.sgdRuns) runs × \(b) buckets × \(k == 2 ? 1 : k) classes)", config.sgdRuns, b, k == 2 ? 1 : k, 4)
        plan.add("epoch snapshots (\(config.averageEpochs + 3) × \(b) buckets × \(k) classes)", config.averageEpochs + 3, b, k, 4)
        if config.nbWeighting { plan.add("Naive-Bayes counts (\(b) buckets × \(k) classes)", b, k, 4) }
        plan.add("packed model (\(b) buckets × \(k + 1))", b, k + 1, 4)
        return plan
    }

    static func checkText(_ text: String, maxLength: Int, line: Int? = nil, index: Int? = nil) throws(TextInputError) {
        let place = line.map { _ in "" } ?? index.map { "text \($0): " } ?? ""
        if text.unicodeScalars.allSatisfy({ Tokenizer.isSpace($0.value) }) {
            throw TextInputError(.emptyText, line: line, "\(place)empty text")
        }
        if text.utf8.count > maxLength {
            let length = text.unicodeScalars.count
            if length > maxLength {
                throw TextInputError(.textTooLong, line: line, "\(place)text of \(length) characters is longer than max_text_length \(maxLength)")
            }
        }
    }

    /// The positive class of a binary problem: "1"/"pos"/"positive"/"true" if present, else the
    /// second label in sorted order.
    static func positiveIndex(_ labels: [String]) -> Int? {
        guard labels.count == 2 else { return nil }
        for (i, l) in labels.enumerated() where ["1", "pos", "positive", "true", "yes"].contains(l.lowercased()) { return i }
        return 1
    }
}

/// SGD training of the multinomial logistic regression on featurized texts.
struct TextClassifierTrainer {
    let config: TextClassificationConfig
    let labels: [String]
    let seed: UInt64

    struct Outcome {
        var model: TextClassifierModel
        var metrics: [String: Double]
        var history: [EpochReport]
    }

    mutating func fit(trainTexts: [String], trainY: [Int32], validationTexts: [String], validationY: [Int32],
                      observer: any TrainingObserver) throws -> Outcome {
        let K = labels.count
        let bits = config.buckets.trailingZeroBitCount
        var featurizer = TextFeaturizer(wordNgrams: config.wordNgrams, charMin: config.charNgrams[0],
                                        charMax: config.charNgrams[1], bucketBits: bits, sublinearTF: config.sublinearTF,
                                        negation: config.negation, charWeight: Float(config.charWeight))
        var rows = featurizer.termCounts(trainTexts)
        let n = rows.count
        let buckets = config.buckets
        // Document frequencies (overall and per class) → idf and Naive-Bayes ratios.
        var df = [Float](repeating: 0, count: buckets)
        var classDF = config.nbWeighting ? [Float](repeating: 0, count: buckets * K) : []
        var classCount = [Float](repeating: 0, count: K)
        for r in 0..<n {
            let y = Int(trainY[r])
            classCount[y] += 1
            for k in rows.offsets[r]..<rows.offsets[r + 1] {
                let f = Int(rows.indices[k] & TextFeaturizer.idMask)
                df[f] += 1
                if config.nbWeighting { classDF[f * K + y] += 1 }
            }
        }
        var weights = [Float](repeating: 0, count: buckets)
        let docs = Float(n)
        for f in 0..<buckets where df[f] >= Float(config.minCount) {
            var w = logf((1 + docs) / (1 + df[f])) + 1
            if config.nbWeighting {
                // max over classes of |log(P(f|c) / P(f|not c))|, add-one smoothed presence rates.
                var best: Float = 0
                for c in 0..<K {
                    let inC = (classDF[f * K + c] + 1) / (classCount[c] + 2)
                    let outC = (df[f] - classDF[f * K + c] + 1) / (docs - classCount[c] + 2)
                    best = max(best, abs(logf(inC / outC)))
                }
                w *= 0.5 + best
            }
            weights[f] = w
        }
        featurizer.weights = weights
        featurizer.weightRows(&rows)
        var validationRows = featurizer.termCounts(validationTexts)
        featurizer.weightRows(&validationRows)

        // Bottou-style SGD with the weight-scale trick for exact sparse L2 steps; `sgd_runs`
        // independent runs (own shuffles) on separate cores, averaged after every epoch.
        var history: [EpochReport] = []
        var best: (score: Double, loss: Double, v: [Float], bias: [Float], epoch: Int)? = nil
        var sinceBest = 0
        var recent: [([Float], [Float])] = []
        // Optional per-example weights ∝ tokens^α (mean 1): SST-2 trains on phrases, tests on sentences.
        var exampleWeight = [Float](repeating: 1, count: n)
        if config.lengthWeighting > 0 {
            var total: Float = 0
            for r in 0..<n {
                exampleWeight[r] = powf(Float(Tokenizer.tokenize(trainTexts[r]).count), Float(config.lengthWeighting))
                total += exampleWeight[r]
            }
            for r in 0..<n { exampleWeight[r] *= Float(n) / total }
        }
        let runCount = config.sgdRuns
        var runs = (0..<runCount).map { i in
            SGDRun(K: K, buckets: buckets, n: n, seed: i == 0 ? seed : mixHash(seed, UInt64(i)))
        }
        let settings = SGDRun.Settings(K: K, lambda: Float(config.l2), eta0: Float(config.learningRate))
        for epoch in 1...config.epochs {
            var lossSum: Double = 0
            if runCount == 1 {
                lossSum = runs[0].epoch(rows: rows, y: trainY, weight: exampleWeight, settings)
            } else {
                let losses = UnsafeSendable(UnsafeMutablePointer<Double>.allocate(capacity: runCount))
                defer { losses.value.deallocate() }
                runs.withUnsafeMutableBufferPointer { rb in
                    let r = UnsafeSendable(rb)
                    let rowsCopy = rows, y = trainY, w = exampleWeight
                    Parallel.forEachChunk(count: runCount, workers: min(runCount, Parallel.processorCount), minimumPerWorker: 1) { _, range in
                        for i in range { (losses.value + i).initialize(to: r.value[i].epoch(rows: rowsCopy, y: y, weight: w, settings)) }
                    }
                }
                for i in 0..<runCount { lossSum += losses.value[i] / Double(runCount) }
            }
            // The averaged model (class weights are linear in the runs' weights).
            var snapshotV = [Float](repeating: 0, count: buckets * K)
            var bias = [Float](repeating: 0, count: K)
            for run in runs { run.accumulate(into: &snapshotV, bias: &bias, weight: 1 / Float(runCount)) }
            var epochBias = bias
            if config.averageEpochs > 0 {
                // Running mean of the last `averageEpochs` end-of-epoch weights.
                recent.append((snapshotV, bias))
                if recent.count > config.averageEpochs { recent.removeFirst() }
                if recent.count > 1 {
                    let inv = 1 / Float(recent.count)
                    var meanV = [Float](repeating: 0, count: snapshotV.count)
                    var meanB = [Float](repeating: 0, count: K)
                    for (rv, rb) in recent {
                        for i in 0..<meanV.count { meanV[i] += rv[i] * inv }
                        for k in 0..<K { meanB[k] += rb[k] * inv }
                    }
                    snapshotV = meanV
                    epochBias = meanB
                }
            }
            let model = TextClassifierModel(featurizer: featurizer, labels: labels, weights: snapshotV, bias: epochBias,
                                            maxTextLength: config.maxTextLength, packed: false)
            var metrics: [String: Double] = ["train_loss": lossSum / Double(max(n, 1))]
            var score = -lossSum
            var loss = lossSum
            if !validationRows.offsets.isEmpty, validationRows.count > 0 {
                let m = model.metrics(rows: validationRows, truth: validationY)
                metrics["validation_loss"] = m["logloss"]
                metrics["validation_accuracy"] = m["accuracy"]
                metrics["validation_macro_f1"] = m["macro_f1"]
                score = m["accuracy"] ?? 0
                loss = m["logloss"] ?? 0
            }
            let report = EpochReport(epoch: epoch, totalEpochs: config.epochs, metrics: metrics)
            history.append(report)
            if best == nil || !config.selectBest || score > best!.score || (score == best!.score && loss < best!.loss) {
                best = (score, loss, snapshotV, epochBias, epoch)
                sinceBest = 0
            } else {
                sinceBest += 1
            }
            guard observer.epochFinished(report) else { throw TrainingStopped() }
            if config.earlyStoppingRounds > 0, sinceBest >= config.earlyStoppingRounds { break }
        }
        let chosen = best!
        let model = TextClassifierModel(featurizer: featurizer, labels: labels, weights: chosen.v, bias: chosen.bias,
                                        maxTextLength: config.maxTextLength)
        var metrics: [String: Double] = ["best_epoch": Double(chosen.epoch)]
        if validationRows.count > 0 {
            for (k, value) in model.metrics(rows: validationRows, truth: validationY) { metrics[k] = value }
        }
        return Outcome(model: model, metrics: metrics, history: history)
    }
}

/// One SGD run of the multinomial logistic regression over weighted rows (Bottou's schedule
/// η = η₀ / (1 + λ η₀ t), weights kept as `v · scale` so the L2 shrink is one multiply a step).
///
/// Binary problems keep a single vector u with class weights (−u, u) and biases (−c, c): the
/// same model and the same updates as the two-class softmax, at half the work and memory.
struct SGDRun {
    struct Settings {
        var K: Int
        var lambda: Float
        var eta0: Float
    }
    var v: [Float]
    var bias: [Float]
    var scale: Float = 1
    var t: Float = 0
    var rng: SeededGenerator
    var order: [Int]
    var p: [Float]
    let K: Int

    init(K: Int, buckets: Int, n: Int, seed: UInt64) {
        self.K = K
        v = [Float](repeating: 0, count: K == 2 ? buckets : buckets * K)
        bias = [Float](repeating: 0, count: K == 2 ? 1 : K)
        rng = SeededGenerator(seed: seed)
        order = Array(0..<n)
        p = [Float](repeating: 0, count: K)
    }

    /// Adds `weight ×` this iterate's class weights (buckets × K, row-major by bucket) and biases.
    func accumulate(into weights: inout [Float], bias out: inout [Float], weight: Float) {
        let a = scale * weight
        weights.withUnsafeMutableBufferPointer { w in
            v.withUnsafeBufferPointer { v in
                if K == 2 {
                    for f in 0..<v.count where v[f] != 0 {
                        w[2 * f] -= v[f] * a
                        w[2 * f + 1] += v[f] * a
                    }
                } else {
                    for i in 0..<v.count { w[i] += v[i] * a }
                }
            }
        }
        if K == 2 {
            out[0] -= bias[0] * weight
            out[1] += bias[0] * weight
        } else {
            for k in 0..<K { out[k] += bias[k] * weight }
        }
    }

    /// One shuffled pass; returns the summed training loss.
    mutating func epoch(rows: SparseRows, y trainY: [Int32], weight exampleWeight: [Float], _ s: Settings) -> Double {
        order.shuffle(using: &rng)
        let K = s.K, lambda = s.lambda, eta0 = s.eta0
        var lossSum: Double = 0
        var scale = self.scale, t = self.t
        let order = self.order
        v.withUnsafeMutableBufferPointer { w in
        bias.withUnsafeMutableBufferPointer { bias in
        p.withUnsafeMutableBufferPointer { p in
        rows.indices.withUnsafeBufferPointer { ind in
        rows.values.withUnsafeBufferPointer { val in
        rows.offsets.withUnsafeBufferPointer { offsets in
        trainY.withUnsafeBufferPointer { trainY in
        exampleWeight.withUnsafeBufferPointer { exampleWeight in
        order.withUnsafeBufferPointer { order in
            // The step size of update t (Bottou's 1/(1 + λη₀t) schedule); L2 decay is applied
            // lazily through `scale`, folded into the weights before it underflows.
            @inline(__always) func nextStep() -> Float {
                let eta = eta0 / (1 + lambda * eta0 * t)
                t += 1
                scale *= 1 - eta * lambda
                if scale < 1e-5 {
                    for i in 0..<w.count { w[i] *= scale }
                    scale = 1
                }
                return eta
            }
            for r in order {
                let lo = offsets[r], hi = offsets[r + 1]
                let y = Int(trainY[r])
                if K == 2 {
                    var z: Float = 0
                    for e in lo..<hi { z += w[Int(ind[e])] * val[e] }
                    z = z * scale + bias[0]
                    // p1 = σ(z1 − z0) = σ(2z); g = p1 − y.
                    let margin = y == 1 ? 2 * z : -2 * z
                    lossSum += Double(margin > 0 ? log1pf(expf(-margin)) : -margin + log1pf(expf(margin)))
                    let p1: Float = z >= 0 ? 1 / (1 + expf(-2 * z)) : expf(2 * z) / (1 + expf(2 * z))
                    let g = p1 - Float(y)
                    let eta = nextStep()
                    if abs(g) < 1e-7 { continue }
                    let sg = eta / scale * exampleWeight[r] * g
                    for e in lo..<hi { w[Int(ind[e])] -= sg * val[e] }
                    bias[0] -= eta * g * 0.1
                    continue
                }
                var maxZ: Float = -.infinity
                for k in 0..<K {
                    var z: Float = 0
                    for e in lo..<hi { z += w[Int(ind[e]) &* K &+ k] * val[e] }
                    z = z * scale + bias[k]
                    p[k] = z
                    maxZ = max(maxZ, z)
                }
                var sum: Float = 0
                for k in 0..<K { p[k] = expf(p[k] - maxZ); sum += p[k] }
                lossSum -= Double(logf(max(p[y] / sum, 1e-30)))
                let eta = nextStep()
                let step = eta / scale * exampleWeight[r]
                for k in 0..<K {
                    let g = p[k] / sum - (k == y ? 1 : 0)
                    if abs(g) < 1e-7 { continue }
                    let sg = step * g
                    for e in lo..<hi { w[Int(ind[e]) &* K &+ k] -= sg * val[e] }
                    bias[k] -= eta * g * 0.1
                }
            }
        }
        }
        }
        }
        }
        }
        }
        }
        }
        self.scale = scale
        self.t = t
        return lossSum
    }
}
