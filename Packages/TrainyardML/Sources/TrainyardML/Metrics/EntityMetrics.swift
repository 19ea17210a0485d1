/// A labelled span of tokens: tokens `start..<end` form one entity of `type`.
public struct EntityChunk: Sendable, Hashable {
    public var start: Int
    public var end: Int
    public var type: String
    public init(start: Int, end: Int, type: String) { self.start = start; self.end = end; self.type = type }
}

/// Entity-level precision, recall and F1, equivalent to the CoNLL `conlleval` script.
///
/// Chunks are read from tag sequences with conlleval's rules, so IOB1 (`I-PER` after `O` starts
/// an entity, `B-` only separates adjacent entities of one type), IOB2 (BIO) and BIOES/IOBES all
/// work, and malformed sequences are read the way conlleval reads them. An entity counts as
/// correct only when both its type and its exact token span match. Figures are fractions in [0, 1].
public struct EntityMetrics: Sendable, Equatable {
    public struct TypeScore: Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// Gold entities of this type.
        public var support: Int
        public var predicted: Int
        public var correct: Int
    }

    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var goldCount: Int
    public var predictedCount: Int
    public var correctCount: Int
    /// Scores per entity type, for every type seen in truth or predictions.
    public var perType: [String: TypeScore]

    /// - Parameters: `truth` and `predicted` are aligned tag sequences, one per sentence.
    public init(truth: [[String]], predicted: [[String]]) {
        precondition(truth.count == predicted.count, "one predicted sequence per gold sequence")
        var gold: [String: Int] = [:], guessed: [String: Int] = [:], right: [String: Int] = [:]
        for (t, p) in zip(truth, predicted) {
            precondition(t.count == p.count, "predicted tags must align with gold tags")
            let g = Self.chunks(t), q = Self.chunks(p)
            for c in g { gold[c.type, default: 0] += 1 }
            for c in q { guessed[c.type, default: 0] += 1 }
            for c in Set(g).intersection(q) { right[c.type, default: 0] += 1 }
        }
        self.init(gold: gold, guessed: guessed, right: right)
    }

    /// From per-type counts of gold, predicted and correct entities.
    public init(gold: [String: Int], guessed: [String: Int], right: [String: Int]) {
        func score(_ c: Int, _ p: Int, _ g: Int) -> (Double, Double, Double) {
            let precision = p > 0 ? Double(c) / Double(p) : 0
            let recall = g > 0 ? Double(c) / Double(g) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            return (precision, recall, f1)
        }
        goldCount = gold.values.reduce(0, +)
        predictedCount = guessed.values.reduce(0, +)
        correctCount = right.values.reduce(0, +)
        (precision, recall, f1) = score(correctCount, predictedCount, goldCount)
        var perType: [String: TypeScore] = [:]
        for type in Set(gold.keys).union(guessed.keys) {
            let g = gold[type] ?? 0, p = guessed[type] ?? 0, c = right[type] ?? 0
            let (pr, re, f) = score(c, p, g)
            perType[type] = TypeScore(precision: pr, recall: re, f1: f, support: g, predicted: p, correct: c)
        }
        self.perType = perType
    }

    /// `precision`, `recall`, `f1` under the public metric names.
    public var asDictionary: [String: Double] { ["precision": precision, "recall": recall, "f1": f1] }

    /// `per_type` as reported in `EvaluationReport.perType`.
    public var perTypeDictionary: [String: [String: Double]] {
        perType.mapValues { ["precision": $0.precision, "recall": $0.recall, "f1": $0.f1, "support": Double($0.support)] }
    }

    /// Splits a tag into its prefix (`B`, `I`, `E`, `S`, `O`) and type, as conlleval does:
    /// `B-PER` → (B, PER); `O` → (O, ""); a tag without `-` is treated as an `I-` tag of that type.
    @inline(__always) static func split(_ tag: String) -> (Character, Substring) {
        if tag == "O" { return ("O", "") }
        if let dash = tag.firstIndex(of: "-"), tag.distance(from: tag.startIndex, to: dash) == 1 {
            return (tag.first!, tag[tag.index(after: dash)...])
        }
        return ("I", Substring(tag))
    }

    /// The entities in one tag sequence, by conlleval's start/end-of-chunk rules.
    public static func chunks(_ tags: [String]) -> [EntityChunk] {
        var out: [EntityChunk] = []
        var prevTag: Character = "O"
        var prevType: Substring = ""
        var start = -1
        for (i, tag) in tags.enumerated() {
            let (t, type) = split(tag)
            if start >= 0 && endOfChunk(prevTag, t, prevType, type) {
                out.append(EntityChunk(start: start, end: i, type: String(prevType)))
                start = -1
            }
            if startOfChunk(prevTag, t, prevType, type) { start = i }
            prevTag = t
            prevType = type
        }
        if start >= 0 { out.append(EntityChunk(start: start, end: tags.count, type: String(prevType))) }
        return out
    }

    static func endOfChunk(_ prevTag: Character, _ tag: Character, _ prevType: Substring, _ type: Substring) -> Bool {
        if prevTag == "E" || prevTag == "S" { return true }
        if (prevTag == "B" || prevTag == "I") && (tag == "B" || tag == "S" || tag == "O") { return true }
        if prevTag != "O" && prevType != type { return true }
        return false
    }

    static func startOfChunk(_ prevTag: Character, _ tag: Character, _ prevType: Substring, _ type: Substring) -> Bool {
        if tag == "B" || tag == "S" { return true }
        if (prevTag == "E" || prevTag == "S" || prevTag == "O") && (tag == "E" || tag == "I") { return true }
        if tag != "O" && prevType != type { return true }
        return false
    }
}
