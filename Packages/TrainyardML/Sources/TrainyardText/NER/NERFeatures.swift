/// A sentence as one scalar buffer with token spans: CoNLL tokens joined by spaces, or raw
/// text as tokenized (spans then index the original text).
struct TokenizedSentence: Sendable {
    var scalars: [UInt32]
    var spans: [TokenSpan]

    init(scalars: [UInt32], spans: [TokenSpan]) {
        self.scalars = scalars
        self.spans = spans
    }

    init(tokens: [String]) {
        var scalars: [UInt32] = []
        var spans: [TokenSpan] = []
        for t in tokens {
            let start = scalars.count
            for s in t.unicodeScalars { scalars.append(s.value) }
            spans.append(TokenSpan(start: Int32(start), end: Int32(scalars.count)))
            scalars.append(32)
        }
        self.scalars = scalars
        self.spans = spans
    }

    var count: Int { spans.count }
}

/// Rich lexical features for NER, as 64-bit attribute hashes per token.
///
/// Per token: identity, lowercase, full and short word shape, prefixes/suffixes 1–4,
/// capitalisation/digit/punctuation flags and length; lowercase words and shapes at offsets
/// ±1, ±2; word bigrams around the token; shape trigrams; word–shape conjunctions with the
/// neighbours; sentence position; an all-caps-sentence (headline) flag conjoined with the word.
enum NERFeatures {
    /// Per-token summary used to build the window features.
    struct TokenInfo {
        var exact: UInt64 = 0
        var lower: UInt64 = 0
        var shape: UInt64 = 0
        var short: UInt64 = 0
        var prefix: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var suffix: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var length = 0
        var flags: UInt32 = 0
    }

    // Flag bits.
    static let title: UInt32 = 1, allUpper: UInt32 = 2, allLower: UInt32 = 4, hasDigit: UInt32 = 8,
               allDigit: UInt32 = 16, hasHyphen: UInt32 = 32, hasPeriod: UInt32 = 64,
               hasApostrophe: UInt32 = 128, noLetterOrDigit: UInt32 = 256, mixedCase: UInt32 = 512,
               hasUpper: UInt32 = 1024, singleUpper: UInt32 = 2048

    @inline(__always) static func shapeClass(_ c: UInt32) -> UInt32 {
        if c < 0x80 {
            if c &- 65 < 26 { return 88 }  // X
            if c &- 97 < 26 { return 120 }  // x
            if c &- 48 < 10 { return 100 }  // d
            return c
        }
        guard let s = Unicode.Scalar(c) else { return c }
        let p = s.properties
        if p.isUppercase { return 88 }
        if p.isLowercase || p.isAlphabetic { return 120 }
        if p.numericType != nil { return 100 }
        return c
    }

    static let bos: TokenInfo = sentinel(0xB05)
    static let eos: TokenInfo = sentinel(0xE05)

    static func sentinel(_ v: UInt64) -> TokenInfo {
        var t = TokenInfo()
        t.exact = v; t.lower = v; t.shape = v; t.short = v
        return t
    }

    static func info(_ s: UnsafeBufferPointer<UInt32>, _ span: TokenSpan) -> TokenInfo {
        var t = TokenInfo()
        var exact = FeatureHasher(seed: 1), lower = FeatureHasher(seed: 2)
        var shape = FeatureHasher(seed: 3), short = FeatureHasher(seed: 4)
        let a = Int(span.start), b = Int(span.end)
        t.length = b - a
        var lastShape: UInt32 = 0
        var uppers = 0, lowers = 0, digits = 0, others = 0
        var flags: UInt32 = 0
        var lowered: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        for i in a..<b {
            let c = s[i]
            exact.add(c)
            let l = TextFeaturizer.lower(c)
            lower.add(l)
            if i - a < 4 {
                switch i - a {
                case 0: lowered.0 = l
                case 1: lowered.1 = l
                case 2: lowered.2 = l
                default: lowered.3 = l
                }
            }
            let sc = shapeClass(c)
            if i - a < 12 { shape.add(sc) }
            if sc != lastShape { short.add(sc); lastShape = sc }
            switch sc {
            case 88: uppers += 1
            case 120: lowers += 1
            case 100: digits += 1
            default:
                others += 1
                if c == 45 { flags |= hasHyphen }
                if c == 46 { flags |= hasPeriod }
                if c == 39 || c == 0x2019 { flags |= hasApostrophe }
            }
        }
        t.exact = exact.value
        t.lower = lower.value
        t.shape = shape.value
        t.short = short.value
        if uppers > 0 { flags |= hasUpper }
        if uppers == 1 && t.length == 1 { flags |= singleUpper }
        if uppers > 0 && lowers == 0 && digits == 0 { flags |= allUpper }
        if lowers > 0 && uppers == 0 { flags |= allLower }
        if uppers > 0, shapeClass(s[a]) == 88, lowers > 0 {
            flags |= uppers == 1 ? title : mixedCase
        }
        if digits > 0 { flags |= hasDigit }
        if digits == t.length { flags |= allDigit }
        if uppers + lowers + digits == 0 { flags |= noLetterOrDigit }
        t.flags = flags
        // Prefixes from the first four lowered scalars; suffixes hashed from the end.
        var p = FeatureHasher(seed: 5)
        let pre = [lowered.0, lowered.1, lowered.2, lowered.3]
        var prefixes: [UInt64] = [0, 0, 0, 0]
        for k in 0..<min(4, t.length) { p.add(pre[k]); prefixes[k] = p.value }
        t.prefix = (prefixes[0], prefixes[1], prefixes[2], prefixes[3])
        var suffixes: [UInt64] = [0, 0, 0, 0]
        for k in 1...4 where k <= t.length {
            var h = FeatureHasher(seed: 6)
            for i in (b - k)..<b { h.add(TextFeaturizer.lower(s[i])) }
            suffixes[k - 1] = h.value
        }
        t.suffix = (suffixes[0], suffixes[1], suffixes[2], suffixes[3])
        return t
    }

    /// What a document says about a word (by lowercase form) across all its occurrences:
    /// "context aggregation" after Ratinov & Roth (2009), using tokens only, never labels.
    struct Aggregate {
        var prevs: [UInt64] = []
        var nexts: [UInt64] = []
        var flags: UInt32 = 0
        var count = 0
    }

    static let firstUpper: UInt32 = title | allUpper | mixedCase

    /// Per-document word aggregates, keyed by lowercase hash.
    static func documentContext(_ infos: [[TokenInfo]]) -> [UInt64: Aggregate] {
        var map: [UInt64: Aggregate] = [:]
        for sentence in infos {
            let caps = isCapsSentence(sentence)
            let n = sentence.count
            for i in 0..<n {
                let t = sentence[i]
                var a = map[t.lower] ?? Aggregate()
                a.count += 1
                let upper = t.flags & firstUpper != 0
                if t.flags & allLower != 0 { a.flags |= 1 }
                if caps { a.flags |= 2 }
                if upper && !caps {
                    if i > 0 { a.flags |= 4 } else { a.flags |= 8 }
                    let prevUpper = i > 0 && sentence[i - 1].flags & firstUpper != 0
                    let nextUpper = i + 1 < n && sentence[i + 1].flags & firstUpper != 0
                    if !prevUpper && nextUpper { a.flags |= 16 }
                    if prevUpper && !nextUpper { a.flags |= 32 }
                    if prevUpper && nextUpper { a.flags |= 64 }
                    if !prevUpper && !nextUpper { a.flags |= 128 }
                }
                let prev = i > 0 ? sentence[i - 1].lower : bos.lower
                let next = i + 1 < n ? sentence[i + 1].lower : eos.lower
                if a.prevs.count < 6, !a.prevs.contains(prev) { a.prevs.append(prev) }
                if a.nexts.count < 6, !a.nexts.contains(next) { a.nexts.append(next) }
                map[t.lower] = a
            }
        }
        return map
    }

    static func isCapsSentence(_ infos: [TokenInfo]) -> Bool {
        var letterTokens = 0, upperTokens = 0
        for t in infos where t.flags & (noLetterOrDigit | allDigit) == 0 {
            letterTokens += 1
            if t.flags & allUpper != 0 && t.length > 1 { upperTokens += 1 }
        }
        return letterTokens >= 3 && upperTokens * 10 >= letterTokens * 8
    }

    static func infos(_ sentence: TokenizedSentence) -> [TokenInfo] {
        var infos: [TokenInfo] = []
        infos.reserveCapacity(sentence.count)
        sentence.scalars.withUnsafeBufferPointer { s in
            for span in sentence.spans { infos.append(info(s, span)) }
        }
        return infos
    }

    /// Appends the attribute hashes of every token of a document's sentences to `attrs` and each
    /// token's end offset into `attrs` to `ends`. With `useContext`, adds document-level features.
    static func extractDocument(_ sentences: ArraySlice<TokenizedSentence>, useContext: Bool,
                                attrs: inout [UInt64], ends: inout [Int]) {
        let infos = sentences.map { Self.infos($0) }
        let context = useContext ? documentContext(infos) : nil
        for sentenceInfos in infos { extract(sentenceInfos, context: context, attrs: &attrs, ends: &ends) }
    }

    static func extract(_ infos: [TokenInfo], context: [UInt64: Aggregate]?, attrs: inout [UInt64], ends: inout [Int]) {
        let n = infos.count
        guard n > 0 else { return }
        let capsSentence = isCapsSentence(infos)
        @inline(__always) func at(_ i: Int) -> TokenInfo {
            i < 0 ? bos : (i >= n ? eos : infos[i])
        }
        @inline(__always) func f(_ template: UInt64, _ v: UInt64) -> UInt64 { mixHash(template &* 0x9E37_79B9_7F4A_7C15, v) }
        for i in 0..<n {
            let t = infos[i]
            let p1 = at(i - 1), p2 = at(i - 2), n1 = at(i + 1), n2 = at(i + 2)
            attrs.append(f(1, 0))  // bias
            attrs.append(f(2, t.exact))
            attrs.append(f(3, t.lower))
            attrs.append(f(4, t.shape))
            attrs.append(f(5, t.short))
            if t.length >= 1 { attrs.append(f(6, t.prefix.0)); attrs.append(f(10, t.suffix.0)) }
            if t.length >= 2 { attrs.append(f(7, t.prefix.1)); attrs.append(f(11, t.suffix.1)) }
            if t.length >= 3 { attrs.append(f(8, t.prefix.2)); attrs.append(f(12, t.suffix.2)) }
            if t.length >= 4 { attrs.append(f(9, t.prefix.3)); attrs.append(f(13, t.suffix.3)) }
            var bits = t.flags
            while bits != 0 {
                let b = bits.trailingZeroBitCount
                attrs.append(f(14, UInt64(b)))
                bits &= bits - 1
            }
            attrs.append(f(15, UInt64(min(t.length, 8))))
            // Context words and shapes.
            attrs.append(f(20, p1.lower))
            attrs.append(f(21, n1.lower))
            attrs.append(f(22, p2.lower))
            attrs.append(f(23, n2.lower))
            attrs.append(f(24, p1.short))
            attrs.append(f(25, n1.short))
            attrs.append(f(26, p2.short))
            attrs.append(f(27, n2.short))
            attrs.append(f(28, p1.shape))
            attrs.append(f(29, n1.shape))
            attrs.append(f(30, p1.exact))
            attrs.append(f(31, n1.exact))
            attrs.append(f(32, p1.suffix.2))
            attrs.append(f(33, n1.suffix.2))
            // Word bigrams around the token.
            attrs.append(f(40, mixHash(p1.lower, t.lower)))
            attrs.append(f(41, mixHash(t.lower, n1.lower)))
            attrs.append(f(42, mixHash(p2.lower, p1.lower)))
            attrs.append(f(43, mixHash(n1.lower, n2.lower)))
            attrs.append(f(44, mixHash(p1.lower, n1.lower)))
            // Shape n-grams and word–shape conjunctions.
            attrs.append(f(50, mixHash(mixHash(p1.short, t.short), n1.short)))
            attrs.append(f(51, mixHash(p1.short, t.short)))
            attrs.append(f(52, mixHash(t.short, n1.short)))
            attrs.append(f(53, mixHash(p1.lower, t.short)))
            attrs.append(f(54, mixHash(t.short, n1.lower)))
            attrs.append(f(55, mixHash(t.lower, n1.short)))
            attrs.append(f(56, mixHash(p1.short, t.lower)))
            attrs.append(f(57, mixHash(mixHash(p2.short, p1.short), t.short)))
            attrs.append(f(58, mixHash(mixHash(t.short, n1.short), n2.short)))
            if i == 0 { attrs.append(f(60, 1)) }
            if i == n - 1 { attrs.append(f(61, 1)) }
            if capsSentence {
                attrs.append(f(62, 1))
                attrs.append(f(63, t.lower))
            }
            if let context, t.flags & firstUpper != 0, let a = context[t.lower] {
                for p in a.prevs { attrs.append(f(70, p)) }
                for q in a.nexts { attrs.append(f(71, q)) }
                var bits = a.flags
                while bits != 0 {
                    attrs.append(f(72, UInt64(bits.trailingZeroBitCount)))
                    bits &= bits - 1
                }
                attrs.append(f(73, UInt64(min(a.count, 6))))
            }
            ends.append(attrs.count)
        }
    }
}
