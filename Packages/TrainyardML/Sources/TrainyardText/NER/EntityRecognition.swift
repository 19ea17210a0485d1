#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What to train an entity recognizer on: CoNLL bytes (token … tag per line).
public struct NERTrainingRequest: Sendable {
    public var train: [UInt8]
    public var validation: ValidationSource
    public var params: [String: ParamValue]
    public var seed: UInt64

    public init(train: [UInt8], validation: ValidationSource = EntityRecognition.defaultValidation, params: [String: ParamValue] = [:], seed: UInt64 = 42) {
        self.train = train
        self.validation = validation
        self.params = params
        self.seed = seed
    }
}

/// Featurized sentences: attribute ids per token (flat), token and sentence boundaries, labels.
struct NERCorpus {
    var attrs: [Int32] = []
    /// Token t's attributes are `attrs[tokenStarts[t]..<tokenStarts[t+1]]`.
    var tokenStarts: [Int] = [0]
    /// Sentence s is tokens `sentenceStarts[s]..<sentenceStarts[s+1]`.
    var sentenceStarts: [Int] = [0]
    var gold: [Int32] = []

    var sentenceCount: Int { sentenceStarts.count - 1 }
    var tokenCount: Int { tokenStarts.count - 1 }
}

/// Attribute hashes of many sentences, extracted in parallel, in sentence order.
struct HashedCorpus {
    var hashes: [UInt64] = []
    var tokenStarts: [Int] = [0]
    var sentenceStarts: [Int] = [0]

    init() {}

    /// Extracts features of `sentences`, grouped into `documents` (ranges of sentence indices,
    /// in order, covering all sentences) for the document-level features.
    init(_ sentences: [TokenizedSentence], documents: [Range<Int>], useContext: Bool) {
        let workers = Parallel.processorCount
        let parts = UnsafeSendable(UnsafeMutablePointer<HashedCorpus>.allocate(capacity: workers))
        parts.value.initialize(repeating: HashedCorpus(), count: workers)
        defer { parts.value.deinitialize(count: workers); parts.value.deallocate() }
        Parallel.forEachChunk(count: documents.count, workers: workers, minimumPerWorker: 4) { chunk, range in
            var part = HashedCorpus()
            var ends: [Int] = []
            for d in range {
                ends.removeAll(keepingCapacity: true)
                NERFeatures.extractDocument(sentences[documents[d]], useContext: useContext, attrs: &part.hashes, ends: &ends)
                var k = 0
                for s in documents[d] {
                    part.tokenStarts.append(contentsOf: ends[k..<(k + sentences[s].count)])
                    k += sentences[s].count
                    part.sentenceStarts.append(part.tokenStarts.count - 1)
                }
            }
            parts.value[chunk] = part
        }
        for c in 0..<workers {
            let part = parts.value[c]
            let hashBase = hashes.count, tokenBase = tokenStarts.count - 1
            hashes.append(contentsOf: part.hashes)
            for t in part.tokenStarts.dropFirst() { tokenStarts.append(hashBase + t) }
            for s in part.sentenceStarts.dropFirst() { sentenceStarts.append(tokenBase + s) }
        }
    }

    /// Document ranges: split at `-DOCSTART-` when the data has any, else blocks of
    /// `blockSize` consecutive sentences (0: every sentence alone).
    static func documents(starts: [Bool], blockSize: Int) -> [Range<Int>] {
        let n = starts.count
        var out: [Range<Int>] = []
        if starts.contains(true) {
            var lo = 0
            for i in 1..<max(n, 1) where starts[i] { out.append(lo..<i); lo = i }
            if lo < n { out.append(lo..<n) }
            return out
        }
        let size = max(blockSize, 1)
        var lo = 0
        while lo < n { out.append(lo..<min(n, lo + size)); lo += size }
        return out
    }

    /// Maps hashes to ids through `table`, dropping unknown attributes.
    func corpus(_ table: AttributeTable, gold: [Int32]) -> NERCorpus {
        var c = NERCorpus()
        c.attrs.reserveCapacity(hashes.count)
        c.tokenStarts.reserveCapacity(tokenStarts.count)
        for t in 0..<(tokenStarts.count - 1) {
            for k in tokenStarts[t]..<tokenStarts[t + 1] {
                let id = table.find(hashes[k])
                if id >= 0 { c.attrs.append(id) }
            }
            c.tokenStarts.append(c.attrs.count)
        }
        c.sentenceStarts = sentenceStarts
        c.gold = gold
        return c
    }
}

/// Named-entity recognition with a linear-chain CRF over rich lexical features, trained by
/// L-BFGS with L2 regularisation; gradients are computed in parallel over sentence shards.
///
/// ```swift
/// let result = try EntityRecognition.train(NERTrainingRequest(train: conllBytes), observer: SilentObserver())
/// let recognizer = try EntityRecognizer(model: result.model)
/// let entities = try recognizer.recognize("Angela Merkel visited Paris.")
/// ```
public enum EntityRecognition {
    /// The algorithm's public name (recorded with every model it trains).
    public static let algorithm = "crf"

    /// Validation sentences when a request names none: 10 % of the training sentences, held out.
    public static let defaultValidation = ValidationSource.fraction(0.1)

    public static func validate(params: [String: ParamValue]) throws(ParameterError) {
        _ = try NERConfig(params)
    }

    /// Trains a recognizer. Deterministic for a given seed (gradient shards are fixed, not per core).
    /// `labels` of the result are the entity types.
    public static func train(_ request: NERTrainingRequest, observer: any TrainingObserver) throws -> TextTrainingResult {
        let config = try NERConfig(request.params)
        let seed = config.seed ?? request.seed
        var trainSentences = try CoNLLReader.read(request.train)
        var validationSentences: [CoNLLSentence]
        var heldOut: HeldOutRows?
        switch request.validation {
        case .fraction(let f):
            guard f > 0, f < 1 else { throw ParameterError(key: "validation", message: "fraction must be in (0, 1); got \(f)") }
            var rng = SeededGenerator(seed: seed ^ 0x5EED)
            var order = Array(trainSentences.indices)
            order.shuffle(using: &rng)
            let held = trainSentences.count >= 10 ? max(1, Int((Double(trainSentences.count) * f).rounded())) : 0
            let heldSet = Set(order.prefix(held))
            validationSentences = heldSet.sorted().map { trainSentences[$0] }
            trainSentences = trainSentences.indices.filter { !heldSet.contains($0) }.map { trainSentences[$0] }
            if !validationSentences.isEmpty {
                heldOut = HeldOutRows(data: TextDatasetWriter.conll(validationSentences), count: validationSentences.count, format: "conll")
            }
        case .data(let bytes):
            validationSentences = try CoNLLReader.read(bytes)
        }
        let trainer = CRFTrainer(config: config)
        let outcome = try trainer.fit(train: trainSentences, validation: validationSentences, observer: observer)
        return TextTrainingResult(model: outcome.model.serialized(), metrics: outcome.metrics, history: outcome.history,
                                  labels: outcome.model.entityTypes, resolvedParams: config.resolved(seed: seed), heldOut: heldOut)
    }
}

/// Builds the feature layout and runs L-BFGS.
struct CRFTrainer {
    let config: NERConfig
    /// Gradient shards: fixed so results do not depend on the core count.
    static let shardCount = 2

    struct Outcome {
        var model: CRFModel
        var metrics: [String: Double]
        var history: [EpochReport]
    }

    static func labels(types: [String], scheme: TagScheme) -> [String] {
        var labels = ["O"]
        for t in types {
            labels.append("B-" + t)
            labels.append("I-" + t)
            if scheme == .bioes { labels.append("E-" + t); labels.append("S-" + t) }
        }
        return labels
    }

    func fit(train: [CoNLLSentence], validation: [CoNLLSentence], observer: any TrainingObserver) throws -> Outcome {
        let scheme = config.scheme
        let trainTags = train.map { scheme.normalise($0.tags) }
        let types = Array(Set(trainTags.flatMap { $0 }.filter { $0 != "O" }.map { String($0.dropFirst(2)) })).sorted()
        guard !types.isEmpty else {
            throw TextInputError(.singleClass, "the training data has no entities (every tag is O); NER needs at least one entity type")
        }
        let labels = Self.labels(types: types, scheme: scheme)
        guard labels.count <= 255 else {
            throw TextInputError(.unknownLabel, "too many entity types (\(types.count)); at most 63 are supported")
        }
        let L = labels.count
        let labelIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, Int32($0)) })
        let gold = trainTags.flatMap { $0.map { labelIndex[$0]! } }
        let useContext = config.contextSentences > 0
        let hashed = HashedCorpus(train.map { TokenizedSentence(tokens: $0.tokens) },
                                  documents: HashedCorpus.documents(starts: train.map(\.documentStart), blockSize: config.contextSentences),
                                  useContext: useContext)

        // Attribute frequencies and the labels each attribute co-occurs with.
        let words = (L + 63) / 64
        var all = AttributeTable(capacity: 1 << 20)
        var frequency: [Int32] = []
        var masks: [UInt64] = []
        for t in 0..<(hashed.tokenStarts.count - 1) {
            let y = Int(gold[t])
            for k in hashed.tokenStarts[t]..<hashed.tokenStarts[t + 1] {
                let id = Int(all.insert(hashed.hashes[k]))
                if id == frequency.count {
                    frequency.append(0)
                    masks.append(contentsOf: repeatElement(0, count: words))
                }
                frequency[id] += 1
                masks[id * words + y / 64] |= 1 << UInt64(y % 64)
            }
        }
        // Keep frequent attributes; compact ids and the sparse state layout.
        var table = AttributeTable(capacity: all.count)
        var attrOffsets: [Int32] = [0]
        var stateLabels: [UInt8] = []
        var keptMasks: [UInt64] = []
        // Frequent attributes first: their parameters then share a few hot cache lines.
        let kept = all.entries().filter { Int(frequency[Int($0.1)]) >= config.minFreq }
            .sorted { (frequency[Int($0.1)], $1.1) > (frequency[Int($1.1)], $0.1) }
        for (key, id) in kept {
            table.set(key, Int32(attrOffsets.count - 1))
            for w in 0..<words {
                var m = masks[Int(id) * words + w]
                keptMasks.append(m)
                while m != 0 {
                    stateLabels.append(UInt8(w * 64 + m.trailingZeroBitCount))
                    m &= m - 1
                }
            }
            attrOffsets.append(Int32(stateLabels.count))
        }
        let (allowed, allowedStart, allowedEnd) = CRFLayout.constraints(labels, scheme: scheme)
        let layout = CRFLayout(labels: labels, attrOffsets: attrOffsets, stateLabels: stateLabels,
                               allowed: allowed, allowedStart: allowedStart, allowedEnd: allowedEnd)
        let corpus = hashed.corpus(table, gold: gold)
        let validationCorpus: NERCorpus? = validation.isEmpty ? nil
            : HashedCorpus(validation.map { TokenizedSentence(tokens: $0.tokens) },
                           documents: HashedCorpus.documents(starts: validation.map(\.documentStart), blockSize: config.contextSentences),
                           useContext: useContext).corpus(table, gold: [])
        let validationTags = validation.map(\.tags)

        // Empirical (gold) feature counts: constant part of the gradient.
        var empirical = [Double](repeating: 0, count: layout.parameterCount)
        for s in 0..<corpus.sentenceCount {
            let lo = corpus.sentenceStarts[s], hi = corpus.sentenceStarts[s + 1]
            for t in lo..<hi {
                let y = Int(corpus.gold[t])
                for k in corpus.tokenStarts[t]..<corpus.tokenStarts[t + 1] {
                    let a = Int(corpus.attrs[k])
                    // Rank of y among the attribute's labels = its parameter offset.
                    var rank = 0
                    for w in 0..<(y / 64) { rank += keptMasks[a * words + w].nonzeroBitCount }
                    let below = keptMasks[a * words + y / 64] & ((1 << UInt64(y % 64)) - 1)
                    rank += below.nonzeroBitCount
                    empirical[Int(attrOffsets[a]) + rank] += 1
                }
                if t > lo { empirical[layout.transitionBase + Int(corpus.gold[t - 1]) * L + y] += 1 }
            }
            if hi > lo {
                empirical[layout.startBase + Int(corpus.gold[lo])] += 1
                empirical[layout.endBase + Int(corpus.gold[hi - 1])] += 1
            }
        }

        // Training view: each token's state parameters (index, label) listed directly, so the
        // gradient loop streams them instead of chasing attribute offsets.
        var expanded = NERCorpus()
        var expandedLabels: [UInt8] = []
        do {
            // Sizes first, then both arrays filled in parallel over token ranges.
            var starts = [Int](repeating: 0, count: corpus.tokenCount + 1)
            corpus.attrs.withUnsafeBufferPointer { attrs in
                attrOffsets.withUnsafeBufferPointer { off in
                    var total = 0
                    for t in 0..<corpus.tokenCount {
                        for k in corpus.tokenStarts[t]..<corpus.tokenStarts[t + 1] {
                            let a = Int(attrs[k])
                            total += Int(off[a + 1] - off[a])
                        }
                        starts[t + 1] = total
                    }
                }
            }
            let total = starts[corpus.tokenCount]
            expanded.attrs = [Int32](unsafeUninitializedCapacity: total) { buffer, count in
                adviseHugePages(UnsafeMutableRawPointer(buffer.baseAddress!), bytes: total * 4)
                expandedLabels = [UInt8](unsafeUninitializedCapacity: total) { labelBuffer, labelCount in
                    adviseHugePages(UnsafeMutableRawPointer(labelBuffer.baseAddress!), bytes: total)
                    let out = UnsafeSendable((buffer.baseAddress!, labelBuffer.baseAddress!))
                    let source = UnsafeSendable((corpus, attrOffsets, stateLabels, starts))
                    Parallel.forEachChunk(count: corpus.tokenCount, minimumPerWorker: 1024) { _, range in
                        let (c, off, lab, st) = source.value
                        var w = st[range.lowerBound]
                        for t in range {
                            for k in c.tokenStarts[t]..<c.tokenStarts[t + 1] {
                                let a = Int(c.attrs[k])
                                for p in Int(off[a])..<Int(off[a + 1]) {
                                    out.value.0[w] = Int32(p)
                                    out.value.1[w] = lab[p]
                                    w += 1
                                }
                            }
                        }
                    }
                    labelCount = total
                }
                count = total
            }
            expanded.tokenStarts = starts
        }
        expanded.sentenceStarts = corpus.sentenceStarts
        expanded.gold = corpus.gold
        let trainingCorpus = expanded
        let trainingLabels = expandedLabels

        // Shards balanced by token count.
        var bounds = [0]
        for k in 1..<Self.shardCount {
            let target = corpus.tokenCount * k / Self.shardCount
            var s = bounds.last!
            while s < corpus.sentenceCount, corpus.sentenceStarts[s] < target { s += 1 }
            bounds.append(s)
        }
        bounds.append(corpus.sentenceCount)
        let shardBounds = bounds

        let P = layout.parameterCount
        let l2 = config.l2
        var shardGradients: [[Double]] = (0..<Self.shardCount).map { _ in hugePageArray(zeros: P) }
        var shardLoss = [Double](repeating: 0, count: Self.shardCount)
        var evaluations = 0
        let evaluate: ([Double], inout [Double]) -> Double = { theta, gradient in
            evaluations += 1
            shardGradients.withUnsafeMutableBufferPointer { grads in
                shardLoss.withUnsafeMutableBufferPointer { losses in
                    let g = UnsafeSendable(grads), l = UnsafeSendable(losses)
                    Parallel.forEachChunk(count: Self.shardCount, chunks: Self.shardCount) { shard, _ in
                        g.value[shard].withUnsafeMutableBufferPointer { gb in
                            l.value[shard] = Self.shardGradient(layout: layout, theta: theta, corpus: trainingCorpus,
                                                                paramLabels: trainingLabels,
                                                                sentences: shardBounds[shard]..<shardBounds[shard + 1],
                                                                gradient: gb)
                        }
                    }
                }
            }
            var f = 0.0
            for s in 0..<Self.shardCount { f += shardLoss[s] }
            gradient.withUnsafeMutableBufferPointer { gr in
                theta.withUnsafeBufferPointer { th in
                    empirical.withUnsafeBufferPointer { emp in
                        for i in 0..<P { gr[i] = 2 * l2 * th[i] - emp[i] }
                        for s in 0..<Self.shardCount {
                            shardGradients[s].withUnsafeBufferPointer { sg in
                                for i in 0..<P { gr[i] += sg[i] }
                            }
                        }
                        var norm = 0.0
                        for i in 0..<P { norm += th[i] * th[i] }
                        f += l2 * norm
                    }
                }
            }
            return f
        }

        var theta: [Double] = hugePageArray(zeros: P)
        var history: [EpochReport] = []
        var best: (f1: Double, theta: [Double], iteration: Int)? = nil
        let tokens = Double(max(corpus.tokenCount, 1))
        func validationF1(_ theta: [Double]) -> EntityMetrics? {
            guard let vc = validationCorpus else { return nil }
            let model = CRFModel(layout: layout, table: table, theta: theta, scheme: scheme, contextSentences: config.contextSentences)
            let predicted = model.decode(vc)
            return EntityMetrics(truth: validationTags, predicted: predicted)
        }
        var lbfgs = LBFGS()
        lbfgs.maxIterations = config.iterations
        try lbfgs.minimize(&theta, evaluate: evaluate) { k, f, x in
            var metrics: [String: Double] = ["train_loss": f / tokens]
            if k % config.evalEvery == 0 || k == config.iterations, let m = validationF1(x) {
                metrics["validation_f1"] = m.f1
                metrics["validation_precision"] = m.precision
                metrics["validation_recall"] = m.recall
                if best == nil || m.f1 > best!.f1 { best = (m.f1, x, k) }
            }
            let report = EpochReport(epoch: k, totalEpochs: config.iterations, metrics: metrics)
            history.append(report)
            guard observer.epochFinished(report) else { throw TrainingStopped() }
            return true
        }
        // The final point competes with the best checkpoint.
        var chosen = theta
        var bestIteration = history.count
        var finalMetrics: EntityMetrics? = nil
        if validationCorpus != nil {
            let m = validationF1(theta)!
            finalMetrics = m
            if config.selectBest, let best, best.f1 > m.f1 {
                chosen = best.theta
                bestIteration = best.iteration
                finalMetrics = validationF1(chosen)
            }
        }
        let model = CRFModel(layout: layout, table: table, theta: chosen, scheme: scheme, contextSentences: config.contextSentences,
                             maxTextLength: config.maxTextLength)
        var metrics: [String: Double] = ["best_iteration": Double(bestIteration), "iterations": Double(history.count),
                                         "attributes": Double(table.count), "parameters": Double(P),
                                         "evaluations": Double(evaluations)]
        if let m = finalMetrics { for (k, v) in m.asDictionary { metrics[k] = v } }
        return Outcome(model: model, metrics: metrics, history: history)
    }

    /// Negative log-likelihood of a shard and its expected feature counts (written to `gradient`).
    /// `corpus.attrs` holds state parameter indices here, with their labels in `paramLabels`.
    static func shardGradient(layout: CRFLayout, theta: [Double], corpus: NERCorpus, paramLabels: [UInt8], sentences: Range<Int>,
                              gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        let L = layout.L
        for i in 0..<gradient.count { gradient[i] = 0 }
        var expT = [Double](repeating: 0, count: L * L)
        var expStart = [Double](repeating: 0, count: L)
        var expEnd = [Double](repeating: 0, count: L)
        for i in 0..<(L * L) where layout.allowed[i] { expT[i] = exp(theta[layout.transitionBase + i]) }
        for y in 0..<L {
            if layout.allowedStart[y] { expStart[y] = exp(theta[layout.startBase + y]) }
            if layout.allowedEnd[y] { expEnd[y] = exp(theta[layout.endBase + y]) }
        }
        var scratch = CRFScratch()
        var nll = 0.0
        theta.withUnsafeBufferPointer { th in
            corpus.attrs.withUnsafeBufferPointer { attrs in
                corpus.tokenStarts.withUnsafeBufferPointer { starts in
                    do {
                        paramLabels.withUnsafeBufferPointer { lab in
                            expT.withUnsafeBufferPointer { eT in
                                expStart.withUnsafeBufferPointer { eS in
                                    expEnd.withUnsafeBufferPointer { eE in
                                        for s in sentences {
                                            let lo = corpus.sentenceStarts[s], hi = corpus.sentenceStarts[s + 1]
                                            let n = hi - lo
                                            if n == 0 { continue }
                                            scratch.ensure(tokens: n, labels: L)
                                            scratch.emission.withUnsafeMutableBufferPointer { e in
                                                for t in 0..<n {
                                                    let row = t * L
                                                    for y in 0..<L { e[row + y] = 0 }
                                                    for k in starts[lo + t]..<starts[lo + t + 1] {
                                                        e[row + Int(lab[k])] += th[Int(attrs[k])]
                                                    }
                                                }
                                                // Gold path score.
                                                var goldScore = 0.0
                                                for t in 0..<n {
                                                    let y = Int(corpus.gold[lo + t])
                                                    goldScore += e[t * L + y]
                                                    if t > 0 { goldScore += th[layout.transitionBase + Int(corpus.gold[lo + t - 1]) * L + y] }
                                                }
                                                goldScore += th[layout.startBase + Int(corpus.gold[lo])]
                                                goldScore += th[layout.endBase + Int(corpus.gold[hi - 1])]
                                                nll -= goldScore
                                            }
                                            let logZ = CRF.forwardBackward(
                                                n: n, L: L, expT: eT, expStart: eS, expEnd: eE, scratch: &scratch,
                                                transitionCounts: gradient.baseAddress! + layout.transitionBase)
                                            nll += logZ
                                            scratch.alpha.withUnsafeBufferPointer { marg in
                                                for t in 0..<n {
                                                    let row = t * L
                                                    for k in starts[lo + t]..<starts[lo + t + 1] {
                                                        gradient[Int(attrs[k])] += marg[row + Int(lab[k])]
                                                    }
                                                }
                                                for y in 0..<L {
                                                    gradient[layout.startBase + y] += marg[y]
                                                    gradient[layout.endBase + y] += marg[(n - 1) * L + y]
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
        return nll
    }
}
