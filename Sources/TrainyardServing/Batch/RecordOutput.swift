import TrainyardCore

/// Writes a scorer's output records in the input's format: the pass-through part first (`keep`
/// columns or fields, or the whole input with `joinInput`), then the model's columns.
///
/// CSV/TSV fields are quoted the way the transform reads them back (a field holding the
/// delimiter, a quote or a line end is quoted, its quotes doubled). A JSONL output line is one
/// object; with `joinInput` an input object's own text is kept byte for byte (key order, number
/// spelling) and the model's members are appended, unless they share a key with it (then the
/// model's value replaces the input's).
struct RecordOutput: Sendable {
    let format: TransformFormat
    /// CSV/TSV: the input's columns.
    let columns: InputColumns
    /// JSONL: the keys `keep` copies.
    let keep: [String]
    let joinInput: Bool
    /// JSONL with `joinInput`: the key an input line that is not an object is kept under.
    let bareInputKey: String

    init(format: TransformFormat, columns: InputColumns, layout: TransformLayout, bareInputKey: String) {
        self.format = format
        self.columns = columns
        self.keep = layout.keep
        self.joinInput = layout.joinInput
        self.bareInputKey = bareInputKey
    }

    var delimiter: UInt8 { format.fieldDelimiter ?? UInt8(ascii: ",") }

    /// The CSV/TSV header (pass-through names, then `modelColumns`) ending in a newline; nil for JSONL.
    func header(modelColumns: [String]) -> [UInt8]? {
        guard format != .jsonl else { return nil }
        var out: [UInt8] = []
        writeLine(columns.passThroughNames.map(JSONValue.string) + modelColumns.map(JSONValue.string), into: &out)
        return out
    }

    /// A CSV/TSV output record: the pass-through `fields` of the input record, then `values`.
    func writeDelimited(fields: [String], values: [JSONValue], into out: inout [UInt8]) {
        writeLine(columns.passThrough(fields).map(JSONValue.string) + values, into: &out)
    }

    private func writeLine(_ values: [JSONValue], into out: inout [UInt8]) {
        for (i, value) in values.enumerated() {
            if i > 0 { out.append(delimiter) }
            Self.appendField(Self.fieldText(value), delimiter: delimiter, into: &out)
        }
        out.append(InputRecords.newline)
    }

    /// A JSONL output record: the pass-through part of `input` (whose text is `raw`), then `members`.
    func writeObject(input: JSONValue, raw: ArraySlice<UInt8>, members: [(String, JSONValue)], into out: inout [UInt8]) {
        var opened = false, hasMembers = false
        func key(_ name: String) {
            if !opened { out.append(UInt8(ascii: "{")); opened = true }
            if hasMembers { out.append(UInt8(ascii: ",")) }
            hasMembers = true
            FastJSON.writeString(name, into: &out)
            out.append(UInt8(ascii: ":"))
        }
        let modelKeys = Set(members.map(\.0))
        if joinInput {
            if case .object(let fields) = input {
                if let head = Self.openObject(raw), !fields.keys.contains(where: modelKeys.contains) {
                    out.append(contentsOf: head)
                    opened = true
                    hasMembers = head.last != UInt8(ascii: "{")
                } else {
                    for name in fields.keys.sorted() where !modelKeys.contains(name) {
                        key(name)
                        FastJSON.write(fields[name]!, into: &out)
                    }
                }
            } else {
                key(bareInputKey)
                FastJSON.write(input, into: &out)
            }
        } else {
            for name in keep where !modelKeys.contains(name) {
                key(name)
                FastJSON.write(input[name] ?? .null, into: &out)
            }
        }
        for (name, value) in members {
            key(name)
            FastJSON.write(value, into: &out)
        }
        if !opened { out.append(UInt8(ascii: "{")) }
        out.append(UInt8(ascii: "}"))
        out.append(InputRecords.newline)
    }

    /// A JSON object's text without its closing brace (and the whitespace around it), so
    /// members can be appended; nil when `raw` is not `{…}`.
    static func openObject(_ raw: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        var text = raw
        while let b = text.first, isSpace(b) { text = text.dropFirst() }
        while let b = text.last, isSpace(b) { text = text.dropLast() }
        guard text.first == UInt8(ascii: "{"), text.last == UInt8(ascii: "}") else { return nil }
        text = text.dropLast()
        while let b = text.last, isSpace(b) { text = text.dropLast() }
        return text
    }

    /// A value as one CSV/TSV field: text as it is, numbers and booleans as JSON spells them,
    /// null as an empty field, arrays and objects as their JSON text.
    static func fieldText(_ value: JSONValue) -> String {
        switch value {
        case .null: return ""
        case .string(let s): return s
        default: return String(decoding: FastJSON.serialize(value), as: UTF8.self)
        }
    }

    static func appendField(_ text: String, delimiter: UInt8, into out: inout [UInt8]) {
        let utf8 = text.utf8
        let quote = InputRecords.quote
        guard utf8.contains(where: { $0 == delimiter || $0 == quote || $0 == InputRecords.newline || $0 == InputRecords.carriageReturn }) else {
            out.append(contentsOf: utf8)
            return
        }
        out.append(quote)
        for b in utf8 {
            if b == quote { out.append(quote) }
            out.append(b)
        }
        out.append(quote)
    }
}
