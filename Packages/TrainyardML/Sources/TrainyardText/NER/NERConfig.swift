/// Hyper-parameters of named-entity recognition (`crf`), each declared once below (name,
/// type, default, range, doc) and read into typed fields.
public struct NERConfig: Sendable, Equatable {
    public static let iterations = ParameterDeclaration.integer(
        "iterations", default: 120, in: 1...10_000, doc: "Most L-BFGS iterations (one pass over the data each).", aliases: ["epochs"])
    public static let l2 = ParameterDeclaration.number(
        "l2", default: 0.05, in: 0...1000, doc: "L2 penalty: objective = −log-likelihood + l2·‖θ‖² (crfsuite's c2).", aliases: ["c2"])
    public static let minFreq = ParameterDeclaration.integer(
        "min_freq", default: 1, in: 1...1_000_000, doc: "Attributes seen fewer times in training are dropped.")
    public static let tagScheme = ParameterDeclaration.choice(
        "tag_scheme", default: TagScheme.bioes.rawValue, from: TagScheme.allCases.map(\.rawValue),
        doc: "Internal tagging (input may be IOB1, IOB2 or BIOES).")
    public static let contextSentences = ParameterDeclaration.integer(
        "context_sentences", default: 20, in: 0...100_000,
        doc: "Document-level features over -DOCSTART- documents, or blocks of this many sentences when the data has none; 0 = off.")
    public static let selectBest = ParameterDeclaration.boolean(
        "select_best", default: true, doc: "Keep the validation-best checkpoint instead of the last iterate.")
    public static let evalEvery = ParameterDeclaration.integer(
        "eval_every", default: 10, in: 1...10_000, doc: "Iterations between validation F1 measurements.")
    public static let maxTextLength = ParameterDeclaration.integer(
        "max_text_length", default: 100_000, in: 1...100_000_000, doc: "Longest text the model accepts, in code points.")
    public static let seed = ParameterDeclaration.seed(in: 0...Int.max, doc: "Overrides the spec's seed (validation split).")

    public static let parameters = ParameterSet(algorithm: EntityRecognition.algorithm, [
        iterations, l2, minFreq, tagScheme, contextSentences, selectBest, evalEvery, maxTextLength, seed,
    ])

    public var iterations: Int
    public var l2: Double
    public var minFreq: Int
    public var scheme: TagScheme
    public var evalEvery: Int
    public var contextSentences: Int
    public var selectBest: Bool
    public var maxTextLength: Int
    /// The `seed` parameter when given; else the request's seed applies.
    public var seed: UInt64?
    /// Every effective value except the seed (known only with the request).
    private var values: [String: ParamValue]

    /// The declared defaults.
    public init() { self = Self.defaults }

    private static let defaults: NERConfig = {
        do { return try NERConfig([:]) } catch { preconditionFailure("a declared NER default fails its own check: \(error)") }
    }()

    public init(_ params: [String: ParamValue]) throws(ParameterError) {
        let v = try Self.parameters.resolve(params, task: nil, seed: 0)
        iterations = v.int(Self.iterations)
        l2 = v.double(Self.l2)
        minFreq = v.int(Self.minFreq)
        scheme = TagScheme(rawValue: v.string(Self.tagScheme))!
        contextSentences = v.int(Self.contextSentences)
        selectBest = v.bool(Self.selectBest)
        evalEvery = v.int(Self.evalEvery)
        maxTextLength = v.int(Self.maxTextLength)
        seed = v.isGiven(Self.seed) ? UInt64(v.int(Self.seed)) : nil
        values = v.values
    }

    /// Every effective value under its public name, `seed` the request's unless overridden.
    public func resolved(seed: UInt64) -> [String: ParamValue] {
        var out = values
        out[Self.seed.name] = .int(Int(truncatingIfNeeded: self.seed ?? seed))
        return out
    }
}
