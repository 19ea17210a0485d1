/// Hyper-parameters of named-entity recognition, each declared once.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `iterations` (alias `epochs`) | 120 | most L-BFGS iterations (one pass over the data each) |
/// | `l2` (alias `c2`) | 0.05 | L2 penalty: objective = −log-likelihood + l2·‖θ‖² (crfsuite's c2) |
/// | `min_freq` | 1 | attributes seen fewer times in training are dropped |
/// | `tag_scheme` | "bioes" | internal tagging, `bio` or `bioes` (input may be IOB1, IOB2 or BIOES) |
/// | `context_sentences` | 20 | document-level features over `-DOCSTART-` documents, or blocks of this many sentences when the data has none (0 = off) |
/// | `select_best` | true | keep the validation-best checkpoint instead of the last iterate |
/// | `eval_every` | 10 | iterations between validation F1 measurements |
/// | `max_text_length` | 100000 | longest text `recognize` accepts, in code points |
/// | `seed` | request seed | overrides the request's seed (validation split) |
public struct NERConfig: Sendable, Equatable {
    public var iterations = 120
    public var l2 = 0.05
    public var minFreq = 1
    public var scheme = TagScheme.bioes
    public var evalEvery = 10
    public var contextSentences = 20
    public var selectBest = true
    public var maxTextLength = 100_000
    public var seed: UInt64? = nil

    public init() {}

    public init(_ params: [String: ParamValue]) throws(ParameterError) {
        let d = NERConfig()
        var r = ParameterReader(params)
        let iterationsKey = params["epochs"] != nil && params["iterations"] == nil ? "epochs" : "iterations"
        if iterationsKey == "epochs" { _ = try r.int("iterations", default: d.iterations, in: 1...10_000) }
        else { _ = try r.int("epochs", default: d.iterations, in: 1...10_000) }
        iterations = try r.int(iterationsKey, default: d.iterations, in: 1...10_000)
        let l2Key = params["c2"] != nil && params["l2"] == nil ? "c2" : "l2"
        if l2Key == "c2" { _ = try r.double("l2", default: d.l2, in: 0...1000) }
        else { _ = try r.double("c2", default: d.l2, in: 0...1000) }
        l2 = try r.double(l2Key, default: d.l2, in: 0...1000)
        minFreq = try r.int("min_freq", default: d.minFreq, in: 1...1_000_000)
        scheme = TagScheme(rawValue: try r.choice("tag_scheme", default: d.scheme.rawValue, from: TagScheme.allCases.map(\.rawValue)))!
        contextSentences = try r.int("context_sentences", default: d.contextSentences, in: 0...100_000)
        selectBest = try r.bool("select_best", default: d.selectBest)
        evalEvery = try r.int("eval_every", default: d.evalEvery, in: 1...10_000)
        maxTextLength = try r.int("max_text_length", default: d.maxTextLength, in: 1...100_000_000)
        if params["seed"] != nil { seed = UInt64(try r.int("seed", default: 0, in: 0...Int.max)) }
        try r.finish()
    }

    public func resolved(seed: UInt64) -> [String: ParamValue] {
        ["iterations": .int(iterations), "l2": .double(l2), "min_freq": .int(minFreq),
         "tag_scheme": .string(scheme.rawValue), "eval_every": .int(evalEvery), "context_sentences": .int(contextSentences), "select_best": .bool(selectBest),
         "max_text_length": .int(maxTextLength), "seed": .int(Int(truncatingIfNeeded: self.seed ?? seed))]
    }
}
