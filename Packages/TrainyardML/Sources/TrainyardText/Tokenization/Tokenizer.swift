/// A token of a text: its characters and where it sits in the original string.
///
/// `start` and `end` (exclusive) count Unicode scalars (code points), the units of Python `str`
/// indices, so offsets match what the replaced Python service returned.
public struct Token: Sendable, Equatable, Hashable {
    public var text: String
    public var start: Int
    public var end: Int
    public init(text: String, start: Int, end: Int) { self.text = text; self.start = start; self.end = end }
}

/// A token's span in scalar offsets, without its text (the hot-path form).
struct TokenSpan: Sendable, Equatable {
    var start: Int32
    var end: Int32
}

/// Rule-based word tokenizer with code point offsets.
///
/// Rules, in order:
/// - whitespace separates tokens and is dropped;
/// - URLs (`http://…`, `https://…`, `www.…`) stay whole, minus trailing punctuation;
/// - `@mentions` and `#hashtags` stay whole;
/// - words and numbers: letters, digits and `_`, joined across `-` between letters/digits
///   (`well-known`, `1996-08-22`), `.`/`,`/`:`/`/` between digits (`3.14`, `1,000`, `10:30`),
///   dotted abbreviations (`U.S.`, `e.g.`) and inner apostrophes (`O'Neil`);
/// - English clitics are split the Penn Treebank way, as in CoNLL-2003 and SST-2:
///   `don't` → `do` `n't`, `John's` → `John` `'s` (also `'re 've 'll 'd 'm`, and `’`). Splitting
///   matches the tokenization of the training corpora, so the models see the same units;
/// - punctuation: a run of the same character (`...`, `!!`) is one token, otherwise one each;
///   emoji keep their modifiers and zero-width-joiner sequences.
///
/// Thread-safe and allocation-light: works on an array of scalar values, not `Character`s.
public enum Tokenizer {
    /// Splits `text` into tokens with scalar offsets into `text`.
    public static func tokenize(_ text: String) -> [Token] {
        let scalars = scalarValues(of: text)
        var found: [TokenSpan] = []
        scalars.withUnsafeBufferPointer { Self.spans(of: $0, into: &found) }
        return found.map { span in
            var view = String.UnicodeScalarView()
            for i in Int(span.start)..<Int(span.end) { view.append(Unicode.Scalar(scalars[i])!) }
            return Token(text: String(view), start: Int(span.start), end: Int(span.end))
        }
    }

    /// The text's Unicode scalar values; index i is code point offset i.
    static func scalarValues(of text: String) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars { out.append(s.value) }
        return out
    }

    // MARK: Character classes

    @inline(__always) static func isSpace(_ c: UInt32) -> Bool {
        if c < 0x80 { return c == 32 || (c >= 9 && c <= 13) }
        return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) || c == 0x2028
            || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF
    }

    @inline(__always) static func isDigit(_ c: UInt32) -> Bool { c &- 48 < 10 }

    @inline(__always) static func isWordChar(_ c: UInt32) -> Bool {
        if c < 0x80 {
            return (c | 0x20) &- 97 < 26 || c &- 48 < 10 || c == 95
        }
        return isNonASCIIWordChar(c)
    }

    @inline(__always) static func isLetter(_ c: UInt32) -> Bool {
        if c < 0x80 { return (c | 0x20) &- 97 < 26 }
        return isNonASCIIWordChar(c)
    }

    static func isNonASCIIWordChar(_ c: UInt32) -> Bool {
        guard let s = Unicode.Scalar(c) else { return false }
        let p = s.properties
        if p.isAlphabetic { return true }
        switch p.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark:
            return true
        default:
            return false
        }
    }

    @inline(__always) static func isApostrophe(_ c: UInt32) -> Bool { c == 39 || c == 0x2019 }

    @inline(__always) static func lowerASCII(_ c: UInt32) -> UInt32 {
        c &- 65 < 26 ? c | 0x20 : c
    }

    // MARK: Scanning

    /// Appends the token spans of `s` to `out`.
    static func spans(of s: UnsafeBufferPointer<UInt32>, into out: inout [TokenSpan]) {
        let n = s.count
        var i = 0
        while i < n {
            let c = s[i]
            if isSpace(c) { i += 1; continue }
            let start = i
            if let end = urlEnd(s, i) {
                i = end
            } else if (c == 64 || c == 35), i + 1 < n, isWordChar(s[i + 1]) {
                i += 1
                while i < n, isWordChar(s[i]) { i += 1 }
            } else if (c == 110 || c == 78), let end = negationEnd(s, i) {
                i = end
            } else if isWordChar(c) {
                i = wordEnd(s, i)
            } else if isApostrophe(c), let end = cliticEnd(s, i) {
                i = end
            } else {
                i += 1
                if c < 0x80 {
                    while i < n, s[i] == c { i += 1 }
                } else {
                    // Keep emoji modifiers, variation selectors and ZWJ sequences together.
                    while i < n {
                        let d = s[i]
                        if d == 0xFE0F || d == 0xFE0E || (d >= 0x1F3FB && d <= 0x1F3FF) || (d >= 0xE0020 && d <= 0xE007F) {
                            i += 1
                        } else if d == 0x200D, i + 1 < n {
                            i += 2
                        } else {
                            break
                        }
                    }
                }
            }
            out.append(TokenSpan(start: Int32(start), end: Int32(i)))
        }
    }

    /// End of a URL starting at `i`, or nil.
    static func urlEnd(_ s: UnsafeBufferPointer<UInt32>, _ i: Int) -> Int? {
        let c = lowerASCII(s[i])
        guard c == 104 || c == 119 else { return nil }  // h, w
        func matches(_ prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard i + count <= s.count else { return false }
            return prefix.withUTF8Buffer { p in
                for k in 0..<count where lowerASCII(s[i + k]) != UInt32(p[k]) { return false }
                return true
            }
        }
        let prefixLength: Int
        if matches("https://") { prefixLength = 8 }
        else if matches("http://") { prefixLength = 7 }
        else if matches("www.") { prefixLength = 4 }
        else { return nil }
        var j = i + prefixLength
        guard j < s.count, !isSpace(s[j]) else { return nil }
        while j < s.count, !isSpace(s[j]) { j += 1 }
        // Trailing sentence punctuation and closing quotes are not part of the URL.
        while j > i + prefixLength {
            let d = s[j - 1]
            if d == 46 || d == 44 || d == 59 || d == 58 || d == 33 || d == 63 || d == 41 || d == 93
                || d == 34 || d == 39 || d == 0x201D || d == 0x2019 || d == 0xBB {
                j -= 1
            } else {
                break
            }
        }
        return j
    }

    /// End of the clitic (`'s 're 've 'll 'd 'm`) starting with the apostrophe at `i`, or nil.
    static func cliticEnd(_ s: UnsafeBufferPointer<UInt32>, _ i: Int) -> Int? {
        let n = s.count
        var j = i + 1
        while j < n, j - i <= 3, isLetter(s[j]) { j += 1 }
        if j < n, isLetter(s[j]) { return nil }
        let len = j - i - 1
        guard len >= 1 else { return nil }
        let a = lowerASCII(s[i + 1])
        if len == 1 { return (a == 115 || a == 100 || a == 109) ? j : nil }  // s d m
        if len == 2 {
            let b = lowerASCII(s[i + 2])
            if (a == 114 && b == 101) || (a == 118 && b == 101) || (a == 108 && b == 108) { return j }  // re ve ll
        }
        return nil
    }

    /// End of `n't` starting at `i`, or nil.
    @inline(__always) static func negationEnd(_ s: UnsafeBufferPointer<UInt32>, _ i: Int) -> Int? {
        guard i + 2 < s.count, isApostrophe(s[i + 1]), lowerASCII(s[i + 2]) == 116 else { return nil }
        if i + 3 < s.count, isLetter(s[i + 3]) { return nil }
        return i + 3
    }

    /// End of the word or number starting at `i`.
    static func wordEnd(_ s: UnsafeBufferPointer<UInt32>, _ start: Int) -> Int {
        let n = s.count
        var i = start
        var abbreviation = false
        while true {
            let runStart = i
            while i < n, isWordChar(s[i]) { i += 1 }
            let runLength = i - runStart
            guard i < n else { return i }
            let c = s[i]
            let next: UInt32 = i + 1 < n ? s[i + 1] : 0
            let prev = s[i - 1]
            if (c == 46 || c == 44 || c == 58 || c == 47) && isDigit(prev) && isDigit(next) {
                i += 1  // 3.14, 1,000, 10:30, 10/12
                continue
            }
            if c == 45 && isWordChar(next) && next != 95 {
                i += 1  // well-known, 1996-08-22
                continue
            }
            if c == 46 {
                // Dotted abbreviations: U.S., e.g., U.K.
                if runLength == 1 && isLetter(prev) && isLetter(next) && (i + 2 >= n || !isWordChar(s[i + 2]) || s[i + 2] == 46) {
                    abbreviation = true
                    i += 1
                    continue
                }
                if abbreviation && runLength == 1 { return i + 1 }
                return i
            }
            if isApostrophe(c) && isLetter(next) {
                if let _ = cliticEnd(s, i) { return i }
                // n't: end the word before the n (do|n't, ca|n't).
                if lowerASCII(next) == 116, i - 2 >= start, lowerASCII(prev) == 110,
                   i + 2 >= n || !isLetter(s[i + 2]) {
                    return i - 1 > start ? i - 1 : i + 2
                }
                i += 1  // O'Neil, rock'n'roll
                continue
            }
            return i
        }
    }
}
