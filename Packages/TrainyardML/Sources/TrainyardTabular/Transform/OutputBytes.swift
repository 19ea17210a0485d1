/// Appending scored records to an output buffer: CSV fields (quoted only when they must be),
/// JSON strings, and numbers in their shortest round-trip form.
extension [UInt8] {
    /// Appends a CSV/TSV field, in quotes (with `"` doubled) only when it holds the delimiter,
    /// a quote or a line end, as RFC 4180 requires.
    @inline(__always)
    mutating func appendField(_ field: UnsafeBufferPointer<UInt8>, delimiter: UInt8) {
        var needsQuotes = false
        for c in field where c == delimiter || c == CSVTokenizer.quote || c == CSVTokenizer.lf || c == CSVTokenizer.cr {
            needsQuotes = true
            break
        }
        guard needsQuotes else {
            append(contentsOf: field)
            return
        }
        append(CSVTokenizer.quote)
        for c in field {
            if c == CSVTokenizer.quote { append(CSVTokenizer.quote) }
            append(c)
        }
        append(CSVTokenizer.quote)
    }

    mutating func appendField(_ text: String, delimiter: UInt8) {
        var text = text
        text.withUTF8 { appendField($0, delimiter: delimiter) }
    }

    /// Appends `text` as a JSON string (quotes, escapes for `"`, `\` and control characters).
    mutating func appendJSONString(_ text: String) {
        append(UInt8(ascii: "\""))
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "\""): append(contentsOf: [0x5C, c])
            case 0x5C: append(contentsOf: [0x5C, 0x5C])
            case 0x0A: append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: append(c)
            }
        }
        append(UInt8(ascii: "\""))
    }

    /// Appends `x` in the shortest form that reads back as the same Double (`description`:
    /// `1234.5`, `0.1`, `3.0`, `1e-05`), which is valid in CSV and in JSON. A non-finite value
    /// (a model cannot produce one from finite inputs) is written as `missing`.
    @inline(__always)
    mutating func appendNumber(_ x: Double, missing: StaticString) {
        guard x.isFinite else {
            append(contentsOf: UnsafeBufferPointer(start: missing.utf8Start, count: missing.utf8CodeUnitCount))
            return
        }
        var text = x.description
        text.withUTF8 { append(contentsOf: $0) }
    }
}
