import TrainyardCore

/// One record of an input block: the line it starts on and its bytes, without its line end.
struct InputRecord: Sendable {
    /// 1-based, counting a header line (what `RowError.line` reports).
    var line: Int
    var bytes: ArraySlice<UInt8>

    /// The raw record, as a row error quotes it.
    var text: String { String(decoding: bytes, as: UTF8.self) }

    func error(_ reason: String) -> RowError { RowError(line: line, reason: reason, row: text) }
}

/// Why one record could not be scored (the `reason` of its `RowError`).
struct RowProblem: Error, Sendable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Cuts a `RecordBlock` into records with exact line numbers, where the transform's own
/// `RecordScanner` ends them (so a block holds exactly the records the transform counted): in
/// CSV and TSV a newline inside a quoted field belongs to the field (one record may span lines),
/// in JSONL every newline ends a record. Blank lines are not records but are counted.
enum InputRecords {
    static let newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r"), quote = UInt8(ascii: "\""), space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    static func split(_ block: RecordBlock, format: TransformFormat) -> [InputRecord] {
        let bytes = block.bytes
        var records: [InputRecord] = []
        var line = block.firstLine
        var start = 0
        while start < bytes.count {
            // A record starts outside quotes, so a fresh scanner finds where it ends.
            var scanner = RecordScanner(format: format)
            let end = bytes[start...].withUnsafeBufferPointer { scanner.firstRecordEnd(in: $0) }.map { start + $0 } ?? bytes.count
            var record = bytes[start..<end]
            let startLine = line
            line += record.reduce(0) { $0 + ($1 == newline ? 1 : 0) }
            if record.last == newline { record = record.dropLast() }
            if record.last == carriageReturn { record = record.dropLast() }
            // A file's byte-order mark is not part of its first record.
            if startLine == 1 && record.starts(with: byteOrderMark) { record = record.dropFirst(3) }
            if !isBlank(record, format: format) { records.append(InputRecord(line: startLine, bytes: record)) }
            start = end
        }
        return records
    }

    /// Spaces only (and, in JSONL, tabs): nothing to score. A CSV line of delimiters is a record
    /// of empty fields, so a TSV line of tabs is not blank.
    static func isBlank(_ bytes: ArraySlice<UInt8>, format: TransformFormat) -> Bool {
        bytes.allSatisfy { $0 == space || $0 == carriageReturn || (format == .jsonl && $0 == tab) }
    }
}

/// The fields of one CSV/TSV record, quoted as the transform's `RecordScanner` reads them: a
/// double quote opens a quoted field only at the start of a field (a stray quote inside
/// `5" screen` is text); inside a quoted field `""` is one quote, another quote closes it, and a
/// delimiter or newline is part of the field; after the closing quote the field goes on
/// unquoted. Fields are not trimmed (a text keeps its spaces).
enum RecordFields {
    /// nil when a quoted field is never closed (the record then runs to the end of its block).
    static func split(_ record: ArraySlice<UInt8>, delimiter: UInt8) -> [String]? {
        var fields: [String] = []
        var current: [UInt8] = []
        var quoted = false, atFieldStart = true
        var i = record.startIndex
        while i < record.endIndex {
            let b = record[i]
            if quoted {
                if b == InputRecords.quote {
                    if i + 1 < record.endIndex && record[i + 1] == InputRecords.quote {
                        current.append(b)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(b)
                }
            } else if b == InputRecords.quote && atFieldStart {
                quoted = true
                atFieldStart = false
            } else if b == delimiter {
                fields.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
                atFieldStart = true
            } else {
                current.append(b)
                atFieldStart = false
            }
            i += 1
        }
        guard !quoted else { return nil }
        fields.append(String(decoding: current, as: UTF8.self))
        return fields
    }

    /// Why a record whose quote stays open is refused.
    static let unclosedQuote = "a quoted field is never closed (inside a quoted field write a quote as \"\"), so the record runs to the end of its block"
}
