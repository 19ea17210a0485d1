/// A shell-style pattern over file names (not paths): `*` any run of characters, `?` one
/// character, `[abc]` / `[a-z]` / `[!a-z]` (or `[^…]`) one character of a set, `\` makes the next
/// character literal. Matching is on Unicode scalars and case-sensitive.
///
/// Names beginning with `.` match only a pattern that begins with `.`: copy tools write
/// temporaries as hidden files (rsync's `.name.XXXXXX`, editors' `.name.swp`) and rename them
/// when done, so a watch never fires on a half-copied file under its temporary name.
public struct GlobPattern: Sendable, Equatable, CustomStringConvertible {
    /// The pattern as written.
    public let text: String
    private let tokens: [Token]

    /// The longest pattern accepted (it comes from outside).
    public static let maxLength = 256

    enum Token: Sendable, Equatable {
        case literal(Unicode.Scalar)
        case any
        case anyRun
        case set([ClosedRange<Unicode.Scalar>], negated: Bool)
    }

    /// Parses `text`; errors name the problem and the character position (1-based).
    public init(_ text: String) throws(TrainyardError) {
        func problem(_ what: String) -> TrainyardError {
            TrainyardError(.invalidArgument, "glob \"\(clientEcho(text))\": \(what)")
        }
        guard !text.isEmpty else { throw problem("is empty; use * for every file") }
        guard text.unicodeScalars.count <= Self.maxLength else { throw problem("is longer than \(Self.maxLength) characters") }
        let scalars = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            let position = i + 1
            if c == "/" { throw problem("'/' at position \(position): a glob matches file names inside the watched folder, not paths") }
            if c.properties.generalCategory == .control { throw problem("control character at position \(position)") }
            switch c {
            case "*":
                if tokens.last != .anyRun { tokens.append(.anyRun) }
                i += 1
            case "?":
                tokens.append(.any)
                i += 1
            case "\\":
                guard i + 1 < scalars.count else { throw problem("'\\' at position \(position) escapes nothing") }
                tokens.append(.literal(scalars[i + 1]))
                i += 2
            case "[":
                var j = i + 1
                var negated = false
                if j < scalars.count, scalars[j] == "!" || scalars[j] == "^" {
                    negated = true
                    j += 1
                }
                var ranges: [ClosedRange<Unicode.Scalar>] = []
                var first = true
                while j < scalars.count, scalars[j] != "]" || first {
                    first = false
                    var low = scalars[j]
                    if low == "\\" {
                        guard j + 1 < scalars.count else { throw problem("'[' at position \(position) is not closed by ']'") }
                        j += 1
                        low = scalars[j]
                    }
                    if low == "/" { throw problem("'/' at position \(j + 1): a glob matches file names, not paths") }
                    if j + 2 < scalars.count, scalars[j + 1] == "-", scalars[j + 2] != "]" {
                        let high = scalars[j + 2]
                        guard low <= high else { throw problem("the range \(low)-\(high) at position \(j + 1) runs backwards") }
                        ranges.append(low...high)
                        j += 3
                    } else {
                        ranges.append(low...low)
                        j += 1
                    }
                }
                guard j < scalars.count else { throw problem("'[' at position \(position) is not closed by ']'") }
                tokens.append(.set(ranges, negated: negated))
                i = j + 1
            default:
                tokens.append(.literal(c))
                i += 1
            }
        }
        self.text = text
        self.tokens = tokens
    }

    public var description: String { text }

    public static func == (a: GlobPattern, b: GlobPattern) -> Bool { a.text == b.text }

    /// Whether the file name `name` (no `/`) matches.
    public func matches(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        if scalars.first == ".", tokens.first != .literal(".") { return false }
        // Iterative matching with one backtrack point for the last `*` (linear in practice,
        // never exponential whatever the pattern).
        var p = 0, s = 0
        var starP = -1, starS = 0
        while s < scalars.count {
            if p < tokens.count, Self.matchesOne(tokens[p], scalars[s]) {
                p += 1
                s += 1
            } else if p < tokens.count, tokens[p] == .anyRun {
                starP = p
                starS = s
                p += 1
            } else if starP >= 0 {
                p = starP + 1
                starS += 1
                s = starS
            } else {
                return false
            }
        }
        while p < tokens.count, tokens[p] == .anyRun { p += 1 }
        return p == tokens.count
    }

    private static func matchesOne(_ token: Token, _ c: Unicode.Scalar) -> Bool {
        switch token {
        case .literal(let l): return l == c
        case .any: return true
        case .anyRun: return false
        case .set(let ranges, let negated): return ranges.contains { $0.contains(c) } != negated
        }
    }
}
