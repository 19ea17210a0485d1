#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One text's prediction.
public struct TextPrediction: Sendable, Equatable {
    /// The most probable label.
    public var label: String
    /// Label → probability (sums to 1).
    public var probabilities: [String: Double]
    /// Binary models only: P(positive class), in [0, 1].
    public var score: Double?

    public init(label: String, probabilities: [String: Double], score: Double?) {
        self.label = label
        self.probabilities = probabilities
        self.score = score
    }
}

/// The learned state of a text classifier: featurizer weights, class weights, labels.
struct TextClassifierModel: Sendable {
    static let magic = "TXCL"
    /// 2 adds the character n-gram weight (version 1 models load with 1).
    static let version: UInt32 = 2

    var featurizer: TextFeaturizer
    var labels: [String]
    /// buckets × K, row-major by bucket.
    var weights: [Float]
    var bias: [Float]
    var maxTextLength: Int
    /// Prediction layout: per bucket `[featureWeight, classWeight_0, …, classWeight_K-1]`, so
    /// one feature costs one cache line.
    let packed: [Float]

    var classCount: Int { labels.count }

    static func pack(_ featureWeights: [Float], _ classWeights: [Float], K: Int) -> [Float] {
        if K == 2 {
            // Binary: only the class-weight difference matters, p1 = σ(Δz); 8 bytes a bucket.
            var packed = [Float](repeating: 0, count: featureWeights.count * 2)
            for f in 0..<featureWeights.count where featureWeights[f] != 0 {
                packed[f * 2] = featureWeights[f]
                packed[f * 2 + 1] = classWeights[f * 2 + 1] - classWeights[f * 2]
            }
            return packed
        }
        var packed = [Float](repeating: 0, count: featureWeights.count * (K + 1))
        for f in 0..<featureWeights.count where featureWeights[f] != 0 {
            packed[f * (K + 1)] = featureWeights[f]
            for k in 0..<K { packed[f * (K + 1) + 1 + k] = classWeights[f * K + k] }
        }
        return packed
    }

    /// Class probabilities from term counts (unweighted), fused tf-idf, norm and dot product.
    @inline(__always)
    func probabilities(terms indices: UnsafeBufferPointer<Int32>, counts: UnsafeBufferPointer<Float>, sublinear: Bool,
                       into out: inout [Double]) {
        let K = classCount
        let stride = K + 1
        let tagged = featurizer.tagged
        let charWeight = featurizer.charWeight
        packed.withUnsafeBufferPointer { w in
            var norm: Float = 0
            if K == 2 {
                var dz: Float = 0
                if tagged {
                    // Character ids carry the tag bit: strip it and apply the character weight.
                    for e in 0..<indices.count {
                        let id = indices[e]
                        let base = Int(id & TextFeaturizer.idMask) &* 2
                        let tf = counts[e]
                        let v = (tf == 1 || !sublinear ? tf : 1 + logf(tf)) * w[base] * (id < 0 ? charWeight : 1)
                        norm += v * v
                        dz += v * w[base + 1]
                    }
                } else {
                    for e in 0..<indices.count {
                        let base = Int(indices[e]) &* 2
                        let tf = counts[e]
                        let v = (tf == 1 || !sublinear ? tf : 1 + logf(tf)) * w[base]
                        norm += v * v
                        dz += v * w[base + 1]
                    }
                }
                let scale: Float = norm > 0 ? 1 / norm.squareRoot() : 0
                let z = Double(dz * scale + (bias[1] - bias[0]))
                let p1 = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
                out[0] = 1 - p1
                out[1] = p1
            } else {
                for k in 0..<K { out[k] = 0 }
                for e in 0..<indices.count {
                    let id = indices[e]
                    let base = Int(id & TextFeaturizer.idMask) &* stride
                    let tf = counts[e]
                    let v = (tf == 1 || !sublinear ? tf : 1 + logf(tf)) * w[base] * (id < 0 ? charWeight : 1)
                    norm += v * v
                    for k in 0..<K { out[k] += Double(v * w[base + 1 + k]) }
                }
                let scale = norm > 0 ? 1 / Double(norm).squareRoot() : 0
                for k in 0..<K { out[k] = out[k] * scale + Double(bias[k]) }
            }
        }
        if K == 2 { return }
        var maxZ = -Double.infinity
        for k in 0..<K { maxZ = max(maxZ, out[k]) }
        var sum = 0.0
        for k in 0..<K { out[k] = exp(out[k] - maxZ); sum += out[k] }
        for k in 0..<K { out[k] /= sum }
    }

    /// Class probabilities of one weighted sparse row into `out` (count K).
    @inline(__always)
    func probabilities(indices: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Float>, into out: inout [Double]) {
        let K = classCount
        weights.withUnsafeBufferPointer { w in
            var maxZ = -Double.infinity
            for k in 0..<K {
                var z: Float = bias[k]
                for e in 0..<indices.count { z += w[Int(indices[e]) &* K &+ k] * values[e] }
                out[k] = Double(z)
                maxZ = max(maxZ, Double(z))
            }
            var sum = 0.0
            for k in 0..<K { out[k] = exp(out[k] - maxZ); sum += out[k] }
            for k in 0..<K { out[k] /= sum }
        }
    }

    /// Metrics on weighted rows; rows whose truth is -1 (a label unseen in training) count as errors.
    func metrics(rows: SparseRows, truth: [Int32]) -> [String: Double] {
        let K = classCount
        var probs = [Double](repeating: 0, count: rows.count * K)
        var predicted = [Int](repeating: 0, count: rows.count)
        var out = [Double](repeating: 0, count: K)
        rows.indices.withUnsafeBufferPointer { ind in
            rows.values.withUnsafeBufferPointer { val in
                for r in 0..<rows.count {
                    let lo = rows.offsets[r], hi = rows.offsets[r + 1]
                    probabilities(indices: UnsafeBufferPointer(rebasing: ind[lo..<hi]),
                                  values: UnsafeBufferPointer(rebasing: val[lo..<hi]), into: &out)
                    var arg = 0
                    for k in 0..<K {
                        probs[r * K + k] = out[k]
                        if out[k] > out[arg] { arg = k }
                    }
                    predicted[r] = arg
                }
            }
        }
        let known = truth.indices.filter { truth[$0] >= 0 }
        guard !known.isEmpty else { return [:] }
        var knownProbs: [Double] = []
        knownProbs.reserveCapacity(known.count * K)
        for r in known { knownProbs.append(contentsOf: probs[(r * K)..<(r * K + K)]) }
        let m = ClassificationMetrics(truth: known.map { Int(truth[$0]) }, predicted: known.map { predicted[$0] },
                                      classCount: K, probabilities: knownProbs)
        var d = m.asDictionary
        if known.count < truth.count {
            d["accuracy"] = m.accuracy * Double(known.count) / Double(truth.count)
        }
        if K == 2, let positive = TextClassification.positiveIndex(labels), positive == 0 {
            // ClassificationMetrics scores class 1; our positive class is 0 here.
            d["auc"] = m.auc.map { 1 - $0 }
        }
        return d
    }

    func serialized() -> [UInt8] {
        var w = BinaryWriter(magic: Self.magic, version: Self.version)
        w.write(featurizer.wordNgrams)
        w.write(featurizer.charMin)
        w.write(featurizer.charMax)
        w.write(featurizer.bucketBits)
        w.write(featurizer.sublinearTF)
        w.write(featurizer.negation)
        w.write(maxTextLength)
        w.write(labels)
        w.write(bias)
        // Only buckets seen in training carry weight: store them sparsely.
        let K = classCount
        var used: [Int32] = []
        var featureWeights: [Float] = []
        var classWeights: [Float] = []
        for f in 0..<featurizer.weights.count where featurizer.weights[f] != 0 {
            used.append(Int32(f))
            featureWeights.append(featurizer.weights[f])
            classWeights.append(contentsOf: weights[(f * K)..<(f * K + K)])
        }
        w.write(used)
        w.write(featureWeights)
        w.write(classWeights)
        w.write(featurizer.charWeight)
        return w.bytes
    }

    /// `packed: false` leaves out the prediction layout: such a model can only score weighted rows
    /// (`metrics(rows:truth:)`), as the trainer does after every epoch.
    init(featurizer: TextFeaturizer, labels: [String], weights: [Float], bias: [Float], maxTextLength: Int, packed: Bool = true) {
        self.featurizer = featurizer
        self.labels = labels
        self.weights = weights
        self.bias = bias
        self.maxTextLength = maxTextLength
        self.packed = packed ? Self.pack(featurizer.weights, weights, K: labels.count) : []
    }

    init(bytes: [UInt8]) throws {
        var r = try BinaryReader(bytes, magic: Self.magic, maxVersion: Self.version)
        let wordNgrams = try r.readInt()
        let charMin = try r.readInt()
        let charMax = try r.readInt()
        let bits = try r.readInt()
        let sublinear = try r.readBool()
        let negation = try r.readBool()
        maxTextLength = try r.readInt()
        labels = try r.readStrings()
        bias = try r.readFloats()
        let used = try r.readInt32s()
        let featureWeights = try r.readFloats()
        let classWeights = try r.readFloats()
        let charWeight = r.version >= 2 ? try r.readFloat() : 1
        let K = labels.count
        guard (1...5).contains(wordNgrams), (0...10).contains(charMin), (charMin...10).contains(charMax), (10...26).contains(bits),
              K >= 2, bias.count == K, featureWeights.count == used.count, classWeights.count == used.count * K,
              charWeight.isFinite, charWeight > 0 else {
            throw ModelFormatError("inconsistent text classifier model")
        }
        var fw = [Float](repeating: 0, count: 1 << bits)
        var cw = [Float](repeating: 0, count: (1 << bits) * K)
        for (i, f) in used.enumerated() {
            guard f >= 0, Int(f) < fw.count else { throw ModelFormatError("feature bucket \(f) out of range") }
            fw[Int(f)] = featureWeights[i]
            for k in 0..<K { cw[Int(f) * K + k] = classWeights[i * K + k] }
        }
        featurizer = TextFeaturizer(wordNgrams: wordNgrams, charMin: charMin, charMax: charMax, bucketBits: bits,
                                    sublinearTF: sublinear, negation: negation, charWeight: charWeight, weights: fw)
        weights = cw
        packed = Self.pack(fw, cw, K: K)
    }
}

/// A loaded text classifier. Immutable and thread-safe: share one instance across requests.
public final class TextClassifier: Sendable {
    let model: TextClassifierModel
    /// Class labels in model order (sorted).
    public let labels: [String]
    /// Index into `labels` of the positive class (binary models only).
    public let positiveLabel: String?
    private let positiveIndex: Int?

    /// Loads a model written by `TextClassification.train`.
    /// - Throws: `ModelFormatError` for a corrupt or foreign file.
    public init(model: [UInt8]) throws {
        let loaded = try TextClassifierModel(bytes: model)
        let positive = TextClassification.positiveIndex(loaded.labels)
        self.model = loaded
        labels = loaded.labels
        positiveIndex = positive
        positiveLabel = positive.map { loaded.labels[$0] }
    }

    /// Predicts every text; batches are split across cores.
    /// - Throws: `TextInputError` naming the index of the first empty or over-long text.
    public func predict(_ texts: [String]) throws -> [TextPrediction] {
        for (i, text) in texts.enumerated() {
            try TextClassification.checkText(text, maxLength: model.maxTextLength, index: i)
        }
        let K = model.classCount
        let labels = self.labels
        let positiveIndex = self.positiveIndex
        return [TextPrediction](unsafeUninitializedCapacity: texts.count) { buffer, initialized in
            let out = UnsafeSendable(buffer)
            Parallel.forEachChunk(count: texts.count, workers: TextFeaturizer.chunkCount, minimumPerWorker: 64) { _, range in
                var scratch = TextFeaturizer.Scratch()
                var indices: [Int32] = []
                var values: [Float] = []
                var p = [Double](repeating: 0, count: K)
                for r in range {
                    model.featurizer.hashedIDs(texts[r], &scratch)
                    indices.removeAll(keepingCapacity: true)
                    values.removeAll(keepingCapacity: true)
                    TextFeaturizer.countTerms(scratch.ids, scratch: &scratch, indices: &indices, counts: &values)
                    indices.withUnsafeBufferPointer { ind in
                        values.withUnsafeBufferPointer { val in
                            model.probabilities(terms: ind, counts: val, sublinear: model.featurizer.sublinearTF, into: &p)
                        }
                    }
                    var arg = 0
                    var dict: [String: Double] = [:]
                    dict.reserveCapacity(K)
                    for k in 0..<K {
                        dict[labels[k]] = p[k]
                        if p[k] > p[arg] { arg = k }
                    }
                    (out.value.baseAddress! + r).initialize(to: TextPrediction(
                        label: labels[arg], probabilities: dict, score: positiveIndex.map { p[$0] }))
                }
            }
            initialized = texts.count
        }
    }

    /// Metrics (`accuracy`, `macro_f1`, `logloss`, `auc` for binary) on labelled data.
    public func evaluate(data: [UInt8], format: TextFormat = .auto, textColumn: String? = nil,
                         labelColumn: String? = nil) throws -> EvaluationReport {
        let records = try TextDatasetReader.read(data, format: format, textColumn: textColumn, labelColumn: labelColumn)
        for record in records { try TextClassification.checkText(record.text, maxLength: model.maxTextLength, line: record.line) }
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        var rows = model.featurizer.termCounts(records.map(\.text))
        model.featurizer.weightRows(&rows)
        let metrics = model.metrics(rows: rows, truth: records.map { Int32(index[$0.label] ?? -1) })
        return EvaluationReport(metrics: metrics, rows: records.count)
    }
}
