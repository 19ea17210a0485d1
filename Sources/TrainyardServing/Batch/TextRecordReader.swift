import Foundation
import TrainyardCore

/// Where a text model (a classifier or an entity recognizer) finds each record's text, and the
/// reading of it, shared by both scorers:
///
/// - CSV/TSV with a header: the column named like the version's text column (the training
///   spec's `data.text_column`), else `text`, `sentence`, `review`, `content`, `document` or
///   `tweet` (as training reads it); a header of one column is that column whatever its name.
/// - CSV/TSV without a header (decided by `--header`/`--no-header`, else by the first record
///   naming no text column): the first field of each record (or the training spec's numeric
///   `text_column`). A text in the last column may hold unquoted delimiters, as in training:
///   the extra fields are joined back into it.
/// - JSONL: an object with a `text` member (or the other names), or a bare JSON string.
///
/// A record that cannot give a text (missing or empty text, wrong field count, invalid JSON, an
/// unclosed quote) becomes a `RowError` at its line.
struct TextRecordReader: Sendable {
    /// The names a text column goes by, after the version's own (`TextDatasetReader`'s list).
    static let commonNames = ["text", "sentence", "review", "content", "document", "tweet"]

    enum Source: Sendable, Equatable {
        case column(Int)
        case members([String])
    }

    /// A record whose text was found.
    struct Text: Sendable {
        var record: InputRecord
        var text: String
        /// CSV/TSV: the record's fields (`columns.width` of them).
        var fields: [String]
        /// JSONL: the parsed line.
        var json: JSONValue
    }

    let format: TransformFormat
    let columns: InputColumns
    let source: Source
    let output: RecordOutput

    /// - Parameter textColumn: the version's own text column, when known (a name, or a 0-based
    ///   index for header-less input).
    /// - Throws: `.invalidInput` when a header names no text column, or a `keep` column is missing.
    static func open(_ layout: TransformLayout, textColumn: String?) throws(TrainyardError) -> TextRecordReader {
        var candidates = commonNames
        if let textColumn, Int(textColumn) == nil, !commonNames.contains(textColumn.lowercased()) { candidates.insert(textColumn, at: 0) }
        if layout.format == .jsonl {
            let none = InputColumns(names: [], hasHeader: false, keep: [], joinInput: layout.joinInput, passThroughNames: [])
            return TextRecordReader(format: .jsonl, columns: none, source: .members(candidates),
                                    output: RecordOutput(format: .jsonl, columns: none, layout: layout, bareInputKey: "text"))
        }
        let first = layout.firstRecord ?? []
        let named = InputColumns.index(of: candidates, in: first)
        let hasHeader = layout.header ?? (named != nil)
        let columns = try InputColumns.resolve(layout, hasHeader: hasHeader)
        let index: Int
        if hasHeader {
            if let named {
                index = named
            } else if first.count <= 1 {
                index = 0
            } else {
                throw TrainyardError(.invalidInput, "the header (\(Payloads.columnList(first))) has no text column; name it \(candidates.prefix(3).map { "\"\($0)\"" }.joined(separator: ", ")) or \"\(commonNames.last!)\", or use --no-header to read the first field")
            }
        } else if let textColumn, let i = Int(textColumn), i >= 0, i < first.count {
            index = i
        } else {
            index = 0
        }
        return TextRecordReader(format: layout.format, columns: columns, source: .column(index),
                                output: RecordOutput(format: layout.format, columns: columns, layout: layout, bareInputKey: "text"))
    }

    var inputHasHeader: Bool { columns.hasHeader }

    /// The texts of `records`, and the rows that have none.
    func read(_ records: [InputRecord]) -> (texts: [Text], errors: [RowError]) {
        var texts: [Text] = []
        texts.reserveCapacity(records.count)
        var errors: [RowError] = []
        for record in records {
            switch read(record) {
            case .text(let text): texts.append(text)
            case .refused(let error): errors.append(error)
            }
        }
        return (texts, errors)
    }

    /// What one record gives.
    enum Reading: Sendable {
        case text(Text)
        case refused(RowError)
    }

    func read(_ record: InputRecord) -> Reading {
        switch source {
        case .column(let index):
            guard var fields = RecordFields.split(record.bytes, delimiter: output.delimiter) else {
                return .refused(record.error(RecordFields.unclosedQuote))
            }
            let width = columns.width > 0 ? columns.width : fields.count
            if fields.count > width && index == width - 1 {
                // Stray delimiters inside a last-column text (unquoted, as training accepts them).
                let joined = fields[index...].joined(separator: format == .tsv ? "\t" : ",")
                fields.removeSubrange(index...)
                fields.append(joined)
            }
            guard fields.count == width else {
                let reference = columns.hasHeader ? "the header has" : "the first record has"
                return .refused(record.error("expected \(width) \(InputColumns.delimiterName(format))-separated field\(width == 1 ? "" : "s") (as \(reference)), found \(fields.count)"))
            }
            let text = fields[index]
            guard !Self.isEmpty(text) else {
                let name = columns.names.indices.contains(index) && columns.hasHeader ? "column \"\(columns.names[index])\"" : "field \(index + 1)"
                return .refused(record.error("empty text (\(name))"))
            }
            return .text(Text(record: record, text: text, fields: fields, json: .null))
        case .members(let names):
            let value: JSONValue
            do { value = try FastJSON.parse(record.bytes) } catch {
                return .refused(record.error(Self.jsonProblem(error)))
            }
            switch value {
            case .string(let text):
                guard !Self.isEmpty(text) else { return .refused(record.error("empty text")) }
                return .text(Text(record: record, text: text, fields: [], json: value))
            case .object(let members):
                guard let name = names.first(where: { members[$0] != nil }) else {
                    return .refused(record.error("missing field \"\(names[0])\" (a string)"))
                }
                guard case .string(let text)? = members[name] else {
                    return .refused(record.error("field \"\(name)\" must be a string; got \(InputSchema.typeName(members[name]!))"))
                }
                guard !Self.isEmpty(text) else { return .refused(record.error("empty text (field \"\(name)\")")) }
                return .text(Text(record: record, text: text, fields: [], json: value))
            default:
                return .refused(record.error("expected an object with a \"\(names[0])\" field or a JSON string; got \(InputSchema.typeName(value))"))
            }
        }
    }

    /// Appends the output record of `text`: CSV/TSV `values` or JSONL `members` after the pass-through part.
    func write(_ text: Text, values: @autoclosure () -> [JSONValue], members: @autoclosure () -> [(String, JSONValue)], into out: inout [UInt8]) {
        if format == .jsonl {
            output.writeObject(input: text.json, raw: text.record.bytes, members: members(), into: &out)
        } else {
            output.writeDelimited(fields: text.fields, values: values(), into: &out)
        }
    }

    static func isEmpty(_ text: String) -> Bool { text.allSatisfy(\.isWhitespace) }

    /// FastJSON's syntax error, worded for a line of a file.
    static func jsonProblem(_ error: TrainyardError) -> String {
        "invalid JSON: " + error.message.replacingOccurrences(of: "the body is not valid JSON: ", with: "")
    }
}
