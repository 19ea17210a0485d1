/// One JSONL record read in place: the top-level members of a JSON object, as byte ranges of
/// the buffer it was read from, so a scorer can encode the model's fields and copy any other
/// member to its output verbatim without building a value tree.
///
/// The whole line is validated (RFC 8259 syntax; nesting at most `maxDepth` deep), because a
/// record that is not valid JSON must be refused, not partly scored.
struct JSONObjectLine {
    enum Kind: Equatable {
        /// `escaped`: the string holds backslash escapes (decode before comparing).
        case string(escaped: Bool)
        case number, bool, null, array, object
    }

    struct Member {
        /// The key's bytes between its quotes.
        var key: Range<Int>
        var keyEscaped: Bool
        /// The value's raw bytes (a string's with its quotes).
        var value: Range<Int>
        var kind: Kind
    }

    static let maxDepth = 64

    /// Reads `buf[range]` as one JSON object (surrounding whitespace allowed), appending its
    /// members to `members`.
    /// - Returns: nil, or what is wrong (with the byte's column in the line, 1-based).
    static func read(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into members: inout [Member]) -> String? {
        var scanner = Scanner(buf: buf, i: range.lowerBound, end: range.upperBound, lineStart: range.lowerBound)
        scanner.skipWhitespace()
        guard scanner.i < scanner.end, buf[scanner.i] == UInt8(ascii: "{") else {
            return scanner.i < scanner.end && scanner.startsValue ? "expected a JSON object, got \(scanner.kindName)" : scanner.problem("expected a JSON object")
        }
        if let error = scanner.object(depth: 1, members: &members) { return error }
        scanner.skipWhitespace()
        return scanner.i == scanner.end ? nil : scanner.problem("unexpected text after the object")
    }

    /// The decoded text of a string's contents (`range` between the quotes, escapes valid: the
    /// scanner checked them).
    static func decodedString(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        func hex4(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in at..<(at + 4) {
                let c = buf[k]
                let d: UInt8 = c <= 0x39 ? c &- 0x30 : (c | 0x20) &- 0x61 &+ 10
                v = v << 4 | UInt32(d)
            }
            return v
        }
        while i < range.upperBound {
            let c = buf[i]
            guard c == 0x5C else { out.append(c); i += 1; continue }
            let e = buf[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(i)
                i += 4
                // A surrogate pair spells one scalar; a lone surrogate becomes U+FFFD.
                if scalar >= 0xD800 && scalar < 0xDC00, i + 6 <= range.upperBound, buf[i] == 0x5C, buf[i + 1] == UInt8(ascii: "u") {
                    let low = hex4(i + 2)
                    if low >= 0xDC00 && low < 0xE000 {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                out.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
            default: out.append(e)  // " \ /
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private struct Scanner {
        let buf: UnsafeBufferPointer<UInt8>
        var i: Int
        let end: Int
        let lineStart: Int

        func problem(_ what: String) -> String {
            i < end ? "\(what) at column \(i - lineStart + 1)" : "\(what) at the end of the line"
        }

        var startsValue: Bool {
            switch buf[i] {
            case UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "-"), 0x30...0x39: return true
            default: return false
            }
        }

        var kindName: String {
            switch buf[i] {
            case UInt8(ascii: "["): return "an array"
            case UInt8(ascii: "\""): return "a string"
            case UInt8(ascii: "n"): return "null"
            case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
            default: return "a number"
            }
        }

        mutating func skipWhitespace() {
            while i < end {
                let c = buf[i]
                guard c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D else { return }
                i += 1
            }
        }

        /// At `{`: reads the object; top-level members (depth 1) are appended to `members`.
        mutating func object(depth: Int, members: inout [Member]) -> String? {
            guard depth <= JSONObjectLine.maxDepth else { return problem("nested deeper than \(JSONObjectLine.maxDepth) levels") }
            i += 1
            skipWhitespace()
            if i < end && buf[i] == UInt8(ascii: "}") { i += 1; return nil }
            while true {
                guard i < end, buf[i] == UInt8(ascii: "\"") else { return problem("expected a key in quotes") }
                let keyStart = i + 1
                var keyEscaped = false
                if let error = string(escaped: &keyEscaped) { return error }
                let key = keyStart..<(i - 1)
                skipWhitespace()
                guard i < end, buf[i] == UInt8(ascii: ":") else { return problem("expected ':' after a key") }
                i += 1
                skipWhitespace()
                let valueStart = i
                var kind = Kind.null
                if let error = value(depth: depth, kind: &kind) { return error }
                if depth == 1 { members.append(Member(key: key, keyEscaped: keyEscaped, value: valueStart..<i, kind: kind)) }
                skipWhitespace()
                guard i < end else { return problem("expected ',' or '}'") }
                if buf[i] == UInt8(ascii: ",") { i += 1; skipWhitespace(); continue }
                if buf[i] == UInt8(ascii: "}") { i += 1; return nil }
                return problem("expected ',' or '}'")
            }
        }

        mutating func array(depth: Int) -> String? {
            guard depth <= JSONObjectLine.maxDepth else { return problem("nested deeper than \(JSONObjectLine.maxDepth) levels") }
            i += 1
            skipWhitespace()
            if i < end && buf[i] == UInt8(ascii: "]") { i += 1; return nil }
            var nested: [Member] = []
            while true {
                var kind = Kind.null
                if let error = value(depth: depth, kind: &kind, nested: &nested) { return error }
                skipWhitespace()
                guard i < end else { return problem("expected ',' or ']'") }
                if buf[i] == UInt8(ascii: ",") { i += 1; skipWhitespace(); continue }
                if buf[i] == UInt8(ascii: "]") { i += 1; return nil }
                return problem("expected ',' or ']'")
            }
        }

        mutating func value(depth: Int, kind: inout Kind) -> String? {
            var nested: [Member] = []
            return value(depth: depth, kind: &kind, nested: &nested)
        }

        /// Reads one value at `i`; `depth` is that of the container holding it.
        mutating func value(depth: Int, kind: inout Kind, nested: inout [Member]) -> String? {
            guard i < end else { return problem("expected a value") }
            switch buf[i] {
            case UInt8(ascii: "{"):
                kind = .object
                return object(depth: depth + 1, members: &nested)
            case UInt8(ascii: "["):
                kind = .array
                return array(depth: depth + 1)
            case UInt8(ascii: "\""):
                var escaped = false
                let error = string(escaped: &escaped)
                kind = .string(escaped: escaped)
                return error
            case UInt8(ascii: "t"):
                kind = .bool
                return literal("true")
            case UInt8(ascii: "f"):
                kind = .bool
                return literal("false")
            case UInt8(ascii: "n"):
                kind = .null
                return literal("null")
            default:
                kind = .number
                return number()
            }
        }

        mutating func literal(_ word: StaticString) -> String? {
            let count = word.utf8CodeUnitCount
            guard end - i >= count else { return problem("invalid literal") }
            for k in 0..<count where buf[i + k] != word.utf8Start[k] { return problem("invalid literal") }
            i += count
            return nil
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
        mutating func number() -> String? {
            let start = i
            func digits() -> Int {
                var count = 0
                while i < end && buf[i] &- 0x30 <= 9 { i += 1; count += 1 }
                return count
            }
            if i < end && buf[i] == UInt8(ascii: "-") { i += 1 }
            guard i < end, buf[i] &- 0x30 <= 9 else { i = start; return problem("expected a value") }
            if buf[i] == 0x30 { i += 1 } else { _ = digits() }
            if i < end && buf[i] == UInt8(ascii: ".") {
                i += 1
                guard digits() > 0 else { return problem("invalid number") }
            }
            if i < end && (buf[i] | 0x20) == UInt8(ascii: "e") {
                i += 1
                if i < end && (buf[i] == UInt8(ascii: "+") || buf[i] == UInt8(ascii: "-")) { i += 1 }
                guard digits() > 0 else { return problem("invalid number") }
            }
            return nil
        }

        /// At `"`: reads the string up to and past its closing quote.
        mutating func string(escaped: inout Bool) -> String? {
            i += 1
            while i < end {
                let c = buf[i]
                if c == UInt8(ascii: "\"") { i += 1; return nil }
                if c < 0x20 { return problem("control character in a string") }
                if c == 0x5C {
                    escaped = true
                    guard i + 1 < end else { break }
                    switch buf[i + 1] {
                    case UInt8(ascii: "\""), 0x5C, UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        i += 2
                    case UInt8(ascii: "u"):
                        guard i + 6 <= end else { i += 1; return problem("invalid escape") }
                        for k in (i + 2)..<(i + 6) {
                            let h = buf[k]
                            guard h &- 0x30 <= 9 || (h | 0x20) &- 0x61 <= 5 else { i += 1; return problem("invalid escape") }
                        }
                        i += 6
                    default:
                        i += 1
                        return problem("invalid escape")
                    }
                    continue
                }
                i += 1
            }
            return problem("unterminated string")
        }
    }
}
