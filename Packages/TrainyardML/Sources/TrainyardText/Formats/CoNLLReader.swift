/// A sentence of a CoNLL file: tokens, their tags (last column) and the line it starts on.
public struct CoNLLSentence: Sendable, Equatable {
    public var tokens: [String]
    public var tags: [String]
    public var line: Int
    /// True for the first sentence after a `-DOCSTART-` line.
    public var documentStart: Bool
    public init(tokens: [String], tags: [String], line: Int, documentStart: Bool = false) {
        self.tokens = tokens
        self.tags = tags
        self.line = line
        self.documentStart = documentStart
    }
}

/// Reads CoNLL-style tagged text: one token per line, the tag in the last column (space- or
/// tab-separated), a blank line between sentences, `-DOCSTART-` lines skipped.
///
/// Tags must be `O` or `PREFIX-TYPE` with prefix `B`, `I`, `E`, `S` (also `L`/`U` of BILOU); IOB1,
/// IOB2 and BIOES are all accepted (see ``TagScheme``).
public enum CoNLLReader {
    public static func read(_ bytes: [UInt8]) throws(TextInputError) -> [CoNLLSentence] {
        var sentences: [CoNLLSentence] = []
        var tokens: [String] = []
        var tags: [String] = []
        var start = 0
        var newDocument = false
        func flush() {
            if !tokens.isEmpty {
                sentences.append(CoNLLSentence(tokens: tokens, tags: tags, line: start, documentStart: newDocument))
                newDocument = false
            }
            tokens = []
            tags = []
        }
        for line in TextDatasetReader.allLines(bytes) {
            let fields = line.bytes.split(whereSeparator: { $0 == 32 || $0 == 9 })
            if fields.isEmpty { flush(); continue }
            let first = String(decoding: fields[0], as: UTF8.self)
            if first == "-DOCSTART-" { flush(); newDocument = true; continue }
            guard fields.count >= 2 else {
                throw TextInputError(.malformedLine, line: line.line,
                                     "expected a token and a tag separated by a space or tab, found '\(String(decoding: line.bytes.prefix(80), as: UTF8.self))'")
            }
            let tag = String(decoding: fields[fields.count - 1], as: UTF8.self)
            guard TagScheme.isValid(tag) else {
                throw TextInputError(.malformedLine, line: line.line,
                                     "tag '\(tag)' is not O or B-/I-/E-/S-TYPE")
            }
            if tokens.isEmpty { start = line.line }
            tokens.append(first)
            tags.append(TagScheme.canonical(tag))
        }
        flush()
        guard !sentences.isEmpty else { throw TextInputError(.emptyDataset, "no tagged sentences found in the CoNLL data") }
        return sentences
    }
}

/// Tag-scheme handling: entities are read with conlleval's rules (any of IOB1, IOB2, BIOES) and
/// re-encoded in the scheme the model trains on.
public enum TagScheme: String, Sendable, CaseIterable {
    case bio, bioes

    static func isValid(_ tag: String) -> Bool {
        if tag == "O" { return true }
        let u = Array(tag.utf8)
        guard u.count >= 3, u[1] == UInt8(ascii: "-") else { return false }
        return "BIESLU".utf8.contains(u[0])
    }

    /// BILOU letters mapped to BIOES (`L` → `E`, `U` → `S`).
    static func canonical(_ tag: String) -> String {
        if tag.hasPrefix("L-") { return "E-" + tag.dropFirst(2) }
        if tag.hasPrefix("U-") { return "S-" + tag.dropFirst(2) }
        return tag
    }

    /// Tags of `count` tokens holding `chunks`, in this scheme.
    func encode(_ chunks: [EntityChunk], count: Int) -> [String] {
        var tags = [String](repeating: "O", count: count)
        for c in chunks {
            if self == .bioes && c.end - c.start == 1 {
                tags[c.start] = "S-" + c.type
                continue
            }
            tags[c.start] = "B-" + c.type
            for i in (c.start + 1)..<c.end { tags[i] = "I-" + c.type }
            if self == .bioes { tags[c.end - 1] = "E-" + c.type }
        }
        return tags
    }

    /// Normalises any accepted tagging to this scheme (IOB1 → IOB2 etc.).
    public func normalise(_ tags: [String]) -> [String] {
        encode(EntityMetrics.chunks(tags), count: tags.count)
    }
}
