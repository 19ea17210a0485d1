/// The signed headers: names lower-cased, values trimmed with inner runs of spaces and tabs
/// collapsed to one space, repeated names joined with commas in the order given, sorted by name.
struct SigV4CanonicalHeaders {
    /// Lower-cased name → values in the order they were given.
    private(set) var values: [String: [String]] = [:]

    init(_ fields: [HTTPField], excluding excluded: Set<String>) throws(SigV4Error) {
        for field in fields {
            let name = try Self.checkedName(field.name)
            guard !excluded.contains(name) else { continue }
            values[name, default: []].append(try Self.canonicalValue(field.value, of: name))
        }
    }

    mutating func set(_ name: String, _ value: String) {
        values[name] = [value]
    }

    func contains(_ name: String) -> Bool { values[name] != nil }

    private var sortedNames: [String] {
        values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// `host;x-amz-date`.
    var signedHeaderNames: String { sortedNames.joined(separator: ";") }

    /// One `name:value\n` line per header, the blank line after them included.
    var canonicalBlock: String {
        sortedNames.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
    }

    /// An HTTP token (RFC 9110 section 5.6.2), lower-cased.
    static func checkedName(_ name: String) throws(SigV4Error) -> String {
        let allowed = Set("!#$%&'*+-.^_`|~".utf8)
        guard !name.isEmpty, name.utf8.allSatisfy({ byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || allowed.contains(byte)
        }) else {
            throw SigV4Error(.invalidHeaderName, "the header name \(quotedForError(name)) is not an HTTP token")
        }
        return name.lowercased()
    }

    /// Trimmed, inner whitespace runs collapsed. A line break or other control character in a value
    /// would let the value smuggle another header, so it is refused rather than cleaned.
    static func canonicalValue(_ value: String, of name: String) throws(SigV4Error) -> String {
        var collapsed = ""
        var pendingSpace = false
        for scalar in value.unicodeScalars {
            if scalar == " " || scalar == "\t" {
                pendingSpace = !collapsed.isEmpty
                continue
            }
            guard scalar.value >= 0x20, scalar.value != 0x7F else {
                throw SigV4Error(.invalidHeaderValue, "the value of header '\(name)' holds a control character (U+\(String(scalar.value, radix: 16, uppercase: true)))")
            }
            if pendingSpace {
                collapsed.unicodeScalars.append(" ")
                pendingSpace = false
            }
            collapsed.unicodeScalars.append(scalar)
        }
        return collapsed
    }
}
