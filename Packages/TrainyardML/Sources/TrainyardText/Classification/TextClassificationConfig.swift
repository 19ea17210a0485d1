/// Hyper-parameters of text classification, each declared once (default, range, meaning).
///
/// | key | default | meaning |
/// |---|---|---|
/// | `word_ngrams` | 2 | longest word n-gram (1 = unigrams only) |
/// | `char_ngrams` | [2, 5] | character n-gram lengths [min, max] inside words; [0, 0] turns them off |
/// | `buckets` | 2^20 | hash buckets, rounded up to a power of two |
/// | `epochs` | 12 | most passes of SGD over the training texts |
/// | `l2` | 2e-5 | L2 penalty per example (λ of Bottou's SGD schedule) |
/// | `learning_rate` | 0.5 | initial SGD step η₀, decayed as η₀ / (1 + λ η₀ t) |
/// | `min_count` | 1 | features seen in fewer training texts are dropped |
/// | `sublinear_tf` | true | use 1 + log(tf) instead of tf |
/// | `negation` | true | add `NOT_word` features inside negation scopes |
/// | `length_weighting` | 0 | weight training examples by tokens^α |
/// | `nb_weighting` | false | scale features by their Naive-Bayes log-count ratio (NB-SVM style) |
/// | `early_stopping_rounds` | 3 | stop after this many epochs without a better validation score (0 = off) |
/// | `average_epochs` | 3 | predict with the mean weights of the last N epochs (tail averaging; 0 or 1 = off) |
/// | `select_best` | true | return the validation-best epoch instead of the last one |
/// | `max_text_length` | 100000 | longest accepted text, in code points |
/// | `char_weight` | 0.8 | multiplier of character n-gram values before L2 normalisation (< 1: words weigh more) |
/// | `sgd_runs` | 1 | independent SGD runs (own shuffles, on separate cores) whose weights are averaged |
/// | `seed` | request seed | overrides the request's seed |
public struct TextClassificationConfig: Sendable, Equatable {
    public var wordNgrams = 2
    public var charNgrams = [2, 5]
    public var buckets = 1 << 20
    public var epochs = 12
    public var l2 = 2e-5
    public var learningRate = 0.5
    public var minCount = 1
    public var sublinearTF = true
    public var nbWeighting = false
    public var negation = true
    public var lengthWeighting = 0.0
    public var earlyStoppingRounds = 3
    public var selectBest = true
    public var averageEpochs = 3
    public var maxTextLength = 100_000
    public var sgdRuns = 1
    public var charWeight = 0.8
    public var seed: UInt64? = nil

    public init() {}

    public init(_ params: [String: ParamValue]) throws(ParameterError) {
        let d = TextClassificationConfig()
        var r = ParameterReader(params)
        wordNgrams = try r.int("word_ngrams", default: d.wordNgrams, in: 1...5)
        charNgrams = try r.intList("char_ngrams", default: d.charNgrams, each: 0...10)
        guard charNgrams.count == 2, charNgrams[0] <= charNgrams[1], (charNgrams[0] == 0) == (charNgrams[1] == 0) else {
            throw ParameterError(key: "char_ngrams", message: "must be [min, max] with 1 ≤ min ≤ max ≤ 10, or [0, 0] for none; got \(charNgrams)")
        }
        let requestedBuckets = try r.int("buckets", default: d.buckets, in: 1024...(1 << 26))
        buckets = 1 << (Int.bitWidth - (requestedBuckets - 1).leadingZeroBitCount)
        epochs = try r.int("epochs", default: d.epochs, in: 1...1000)
        l2 = try r.double("l2", default: d.l2, in: 0...1)
        learningRate = try r.double("learning_rate", default: d.learningRate, in: 1e-6...100)
        minCount = try r.int("min_count", default: d.minCount, in: 1...1_000_000)
        sublinearTF = try r.bool("sublinear_tf", default: d.sublinearTF)
        nbWeighting = try r.bool("nb_weighting", default: d.nbWeighting)
        negation = try r.bool("negation", default: d.negation)
        lengthWeighting = try r.double("length_weighting", default: d.lengthWeighting, in: 0...2)
        selectBest = try r.bool("select_best", default: d.selectBest)
        averageEpochs = try r.int("average_epochs", default: d.averageEpochs, in: 0...1000)
        earlyStoppingRounds = try r.int("early_stopping_rounds", default: d.earlyStoppingRounds, in: 0...1000)
        maxTextLength = try r.int("max_text_length", default: d.maxTextLength, in: 1...100_000_000)
        sgdRuns = try r.int("sgd_runs", default: d.sgdRuns, in: 1...64)
        charWeight = try r.double("char_weight", default: d.charWeight, in: 0.01...10)
        if params["seed"] != nil { seed = UInt64(try r.int("seed", default: 0, in: 0...Int.max)) }
        try r.finish()
    }

    /// The parameters as resolved, including defaults, under their public names.
    public func resolved(seed: UInt64) -> [String: ParamValue] {
        [
            "word_ngrams": .int(wordNgrams), "char_ngrams": .list(charNgrams.map { .int($0) }),
            "buckets": .int(buckets), "epochs": .int(epochs), "l2": .double(l2),
            "learning_rate": .double(learningRate), "min_count": .int(minCount),
            "sublinear_tf": .bool(sublinearTF), "nb_weighting": .bool(nbWeighting),
            "negation": .bool(negation), "length_weighting": .double(lengthWeighting),
            "select_best": .bool(selectBest), "average_epochs": .int(averageEpochs), "early_stopping_rounds": .int(earlyStoppingRounds), "max_text_length": .int(maxTextLength),
            "char_weight": .double(charWeight), "sgd_runs": .int(sgdRuns),
            "seed": .int(Int(truncatingIfNeeded: self.seed ?? seed)),
        ]
    }
}
