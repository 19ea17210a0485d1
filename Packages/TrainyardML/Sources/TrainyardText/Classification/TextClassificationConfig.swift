/// Hyper-parameters of text classification (`logistic-regression`), each declared once below
/// (name, type, default, range, doc) and read into typed fields.
public struct TextClassificationConfig: Sendable, Equatable {
    public static let wordNgrams = ParameterDeclaration.integer(
        "word_ngrams", default: 2, in: 1...5, doc: "Longest word n-gram (1 = unigrams only).")
    public static let charNgrams = ParameterDeclaration.integerList(
        "char_ngrams", default: [2, 5], each: 0...10, count: 2...2,
        doc: "Character n-gram lengths [min, max] inside words (1 ≤ min ≤ max); [0, 0] turns them off.")
    public static let buckets = ParameterDeclaration.integer(
        "buckets", default: 1 << 20, in: 1024...(1 << 26), doc: "Hash buckets, rounded up to a power of two.")
    public static let epochs = ParameterDeclaration.integer(
        "epochs", default: 12, in: 1...1000, doc: "Most passes of SGD over the training texts.")
    public static let l2 = ParameterDeclaration.number(
        "l2", default: 2e-5, in: 0...1, doc: "L2 penalty per example (λ of Bottou's SGD schedule).")
    public static let learningRate = ParameterDeclaration.number(
        "learning_rate", default: 0.5, in: 1e-6...100, doc: "Initial SGD step η₀, decayed as η₀ / (1 + λ η₀ t).")
    public static let minCount = ParameterDeclaration.integer(
        "min_count", default: 1, in: 1...1_000_000, doc: "Features seen in fewer training texts are dropped.")
    public static let sublinearTF = ParameterDeclaration.boolean(
        "sublinear_tf", default: true, doc: "Use 1 + log(tf) instead of tf.")
    public static let nbWeighting = ParameterDeclaration.boolean(
        "nb_weighting", default: false, doc: "Scale features by their Naive-Bayes log-count ratio (NB-SVM style).")
    public static let negation = ParameterDeclaration.boolean(
        "negation", default: true, doc: "Add NOT_word features inside negation scopes.")
    public static let lengthWeighting = ParameterDeclaration.number(
        "length_weighting", default: 0, in: 0...2, doc: "Weight training examples by tokens^α.")
    public static let selectBest = ParameterDeclaration.boolean(
        "select_best", default: true, doc: "Return the validation-best epoch instead of the last one.")
    public static let averageEpochs = ParameterDeclaration.integer(
        "average_epochs", default: 3, in: 0...1000, doc: "Predict with the mean weights of the last N epochs (tail averaging; 0 or 1 = off).")
    public static let earlyStoppingRounds = ParameterDeclaration.integer(
        "early_stopping_rounds", default: 3, in: 0...1000, doc: "Stop after this many epochs without a better validation score; 0 = off.")
    public static let maxTextLength = ParameterDeclaration.integer(
        "max_text_length", default: 100_000, in: 1...100_000_000, doc: "Longest accepted text, in code points.")
    public static let sgdRuns = ParameterDeclaration.integer(
        "sgd_runs", default: 1, in: 1...64, doc: "Independent SGD runs (own shuffles, on separate cores) whose weights are averaged.")
    public static let charWeight = ParameterDeclaration.number(
        "char_weight", default: 0.8, in: 0.01...10, doc: "Multiplier of character n-gram values before L2 normalisation (< 1: words weigh more).")
    public static let seed = ParameterDeclaration.seed(in: 0...Int.max)

    public static let parameters = ParameterSet(algorithm: TextClassification.algorithm, [
        wordNgrams, charNgrams, buckets, epochs, l2, learningRate, minCount, sublinearTF, nbWeighting, negation,
        lengthWeighting, selectBest, averageEpochs, earlyStoppingRounds, maxTextLength, sgdRuns, charWeight, seed,
    ])

    public var wordNgrams: Int
    public var charNgrams: [Int]
    public var buckets: Int
    public var epochs: Int
    public var l2: Double
    public var learningRate: Double
    public var minCount: Int
    public var sublinearTF: Bool
    public var nbWeighting: Bool
    public var negation: Bool
    public var lengthWeighting: Double
    public var earlyStoppingRounds: Int
    public var selectBest: Bool
    public var averageEpochs: Int
    public var maxTextLength: Int
    public var sgdRuns: Int
    public var charWeight: Double
    /// The `seed` parameter when given; else the request's seed applies.
    public var seed: UInt64?
    /// Every effective value except the seed (known only with the request).
    private var values: [String: ParamValue]

    /// The declared defaults.
    public init() { self = Self.defaults }

    private static let defaults: TextClassificationConfig = {
        do { return try TextClassificationConfig([:]) } catch {
            preconditionFailure("a declared text-classification default fails its own check: \(error)")
        }
    }()

    public init(_ params: [String: ParamValue]) throws(ParameterError) {
        let v = try Self.parameters.resolve(params, task: nil, seed: 0)
        wordNgrams = v.int(Self.wordNgrams)
        charNgrams = v.intList(Self.charNgrams)
        guard charNgrams[0] <= charNgrams[1], (charNgrams[0] == 0) == (charNgrams[1] == 0) else {
            throw ParameterError(key: Self.charNgrams.name, message: "must be [min, max] with 1 ≤ min ≤ max ≤ 10, or [0, 0] for none; got \(charNgrams)")
        }
        let requestedBuckets = v.int(Self.buckets)
        buckets = 1 << (Int.bitWidth - (requestedBuckets - 1).leadingZeroBitCount)
        epochs = v.int(Self.epochs)
        l2 = v.double(Self.l2)
        learningRate = v.double(Self.learningRate)
        minCount = v.int(Self.minCount)
        sublinearTF = v.bool(Self.sublinearTF)
        nbWeighting = v.bool(Self.nbWeighting)
        negation = v.bool(Self.negation)
        lengthWeighting = v.double(Self.lengthWeighting)
        selectBest = v.bool(Self.selectBest)
        averageEpochs = v.int(Self.averageEpochs)
        earlyStoppingRounds = v.int(Self.earlyStoppingRounds)
        maxTextLength = v.int(Self.maxTextLength)
        sgdRuns = v.int(Self.sgdRuns)
        charWeight = v.double(Self.charWeight)
        seed = v.isGiven(Self.seed) ? UInt64(v.int(Self.seed)) : nil
        var values = v.values
        values[Self.buckets.name] = .int(buckets)  // as rounded
        self.values = values
    }

    /// Every effective value under its public name, `seed` the request's unless overridden.
    public func resolved(seed: UInt64) -> [String: ParamValue] {
        var out = values
        out[Self.seed.name] = .int(Int(truncatingIfNeeded: self.seed ?? seed))
        return out
    }
}
