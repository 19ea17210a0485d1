/// A whole CSV/TSV file in memory: header names and rows.
///
/// ```swift
/// let table = try CSVTable.parse(Array("a,b\n1,x\n".utf8))
/// table.header        // ["a", "b"]
/// table.rows.count    // 1
/// ```
public struct CSVTable: Sendable {
    public let header: [String]
    public internal(set) var rows: CSVRows
    public let delimiter: UInt8

    /// Parses `bytes` (UTF-8, optional BOM); the first non-blank record is the header.
    /// - Parameter delimiter: `,` or `\t`; detected from the header line when nil.
    /// - Throws: `TabularDataError` (`emptyFile`, `headerOnly`, `raggedRow`, `duplicateColumn`).
    public static func parse(_ bytes: [UInt8], delimiter: UInt8? = nil, allowHeaderOnly: Bool = false) throws -> CSVTable {
        try bytes.withUnsafeBufferPointer { buf in
            let start = CSVTokenizer.bomLength(buf)
            let delim = delimiter ?? CSVTokenizer.detectDelimiter(buf, from: start)
            var tokenizer = CSVTokenizer(delimiter: delim)
            var headerRows = CSVRows(columnCount: 0)
            let afterHeader = try tokenizer.parse(buf, from: start, isFinal: true, maxRecords: 1, into: &headerRows)
            guard headerRows.count == 1 else { throw TabularDataError(.emptyFile, "the file is empty") }
            let header = try makeHeader(headerRows)
            tokenizer.expectedColumns = header.count
            var rows = CSVRows(columnCount: header.count)
            rows.lines.reserveCapacity(buf.count / 64)
            rows.fieldEnds.reserveCapacity(buf.count / 8)
            rows.data.reserveCapacity(buf.count)
            _ = try tokenizer.parse(buf, from: afterHeader, isFinal: true, into: &rows)
            if rows.isEmpty && !allowHeaderOnly {
                throw TabularDataError(.headerOnly, "the file has a header but no data rows")
            }
            return CSVTable(header: header, rows: rows, delimiter: delim)
        }
    }

    static func makeHeader(_ rows: CSVRows) throws -> [String] {
        var names: [String] = []
        var seen: Set<String> = []
        for c in 0..<rows.fieldEnds.count {
            let start = c == 0 ? 0 : rows.fieldEnds[c - 1]
            var name = String(decoding: rows.data[start..<rows.fieldEnds[c]], as: UTF8.self).trimmingASCIISpaces()
            if name.isEmpty { name = "column_\(c + 1)" }
            guard seen.insert(name).inserted else {
                throw TabularDataError(.duplicateColumn, "line 1: column '\(name)' appears twice in the header", line: 1, column: name)
            }
            names.append(name)
        }
        return names
    }
}

/// Reads a CSV/TSV file chunk by chunk, yielding complete rows as they arrive, so a large
/// file can be scored without holding it in memory.
///
/// ```swift
/// var reader = CSVStreamReader()
/// for chunk in chunks { let rows = try reader.read(chunk); … }
/// let last = try reader.finish()
/// ```
/// `header` is set once the first line has arrived. Not thread-safe; one reader per stream.
public struct CSVStreamReader: Sendable {
    private var pending: [UInt8] = []
    private var tokenizer: CSVTokenizer?
    private let fixedDelimiter: UInt8?
    private var sawInput = false
    public private(set) var header: [String]?
    public private(set) var rowsRead = 0

    public init(delimiter: UInt8? = nil) { fixedDelimiter = delimiter }

    /// Adds `chunk` and returns the rows it completed (possibly none).
    public mutating func read(_ chunk: some Sequence<UInt8>) throws -> CSVRows {
        pending.append(contentsOf: chunk)
        return try drain(isFinal: false)
    }

    /// Returns the rows left at end of input.
    /// - Throws: `emptyFile` if no header ever arrived, or a parse error for the last row.
    public mutating func finish() throws -> CSVRows {
        let rows = try drain(isFinal: true)
        if header == nil { throw TabularDataError(.emptyFile, "the file is empty") }
        return rows
    }

    private mutating func drain(isFinal: Bool) throws -> CSVRows {
        var out = CSVRows(columnCount: header?.count ?? 0)
        if !sawInput {
            guard pending.count >= 3 || isFinal else { return out }
            let bom = pending.withUnsafeBufferPointer { CSVTokenizer.bomLength($0) }
            pending.removeFirst(bom)
            sawInput = true
        }
        if pending.isEmpty { return out }
        let pendingCopy = pending
        let consumed: Int = try pendingCopy.withUnsafeBufferPointer { buf in
            var start = 0
            if tokenizer == nil {
                // Wait for the whole header line before choosing the delimiter.
                guard isFinal || buf.contains(CSVTokenizer.lf) || buf.contains(CSVTokenizer.cr) else { return 0 }
                tokenizer = CSVTokenizer(delimiter: fixedDelimiter ?? CSVTokenizer.detectDelimiter(buf, from: 0))
            }
            if header == nil {
                var headerRows = CSVRows(columnCount: 0)
                let next = try tokenizer!.parse(buf, from: 0, isFinal: isFinal, maxRecords: 1, into: &headerRows)
                guard headerRows.count == 1 else { return next }
                let names = try CSVTable.makeHeader(headerRows)
                header = names
                tokenizer!.expectedColumns = names.count
                out.columnCount = names.count
                start = next
            }
            return try tokenizer!.parse(buf, from: start, isFinal: isFinal, into: &out)
        }
        pending.removeFirst(consumed)
        rowsRead += out.count
        return out
    }
}

extension String {
    func trimmingASCIISpaces() -> String {
        let u = Array(utf8)
        var s = 0, e = u.count
        while s < e && (u[s] == 0x20 || u[s] == 0x09) { s += 1 }
        while e > s && (u[e - 1] == 0x20 || u[e - 1] == 0x09) { e -= 1 }
        return s == 0 && e == u.count ? self : String(decoding: u[s..<e], as: UTF8.self)
    }
}
