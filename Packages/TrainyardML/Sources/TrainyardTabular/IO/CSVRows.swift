/// Parsed CSV records, stored flat: every field's unescaped bytes back to back, with end offsets.
///
/// Shapes: `count` rows × `columnCount` fields. `line(of:)` gives each row's first line in
/// the file (1-based; the header is line 1), for error messages.
public struct CSVRows: Sendable {
    var data: [UInt8] = []
    var fieldEnds: [Int] = []
    var lines: [Int] = []
    public internal(set) var columnCount: Int

    init(columnCount: Int) { self.columnCount = columnCount }

    public var count: Int { lines.count }
    public var isEmpty: Bool { lines.isEmpty }

    /// The file line on which row `row` starts.
    public func line(of row: Int) -> Int { lines[row] }

    /// The bytes of one field; valid only inside `body`.
    @inline(__always)
    func withField<R>(row: Int, column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let k = row * columnCount + column
        let start = k == 0 ? 0 : fieldEnds[k - 1]
        let end = fieldEnds[k]
        return try data.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// A field as text (not trimmed).
    public func string(row: Int, column: Int) -> String {
        withField(row: row, column: column) { String(decoding: $0, as: UTF8.self) }
    }

    /// Appends another batch with the same columns.
    mutating func append(contentsOf other: CSVRows) {
        precondition(other.columnCount == columnCount, "appending rows with a different column count")
        let base = data.count
        data.append(contentsOf: other.data)
        fieldEnds.reserveCapacity(fieldEnds.count + other.fieldEnds.count)
        for e in other.fieldEnds { fieldEnds.append(e + base) }
        lines.append(contentsOf: other.lines)
    }

    /// The rows at `indices`, in that order.
    func subset(_ indices: [Int]) -> CSVRows {
        var out = CSVRows(columnCount: columnCount)
        out.lines.reserveCapacity(indices.count)
        out.fieldEnds.reserveCapacity(indices.count * columnCount)
        for r in indices {
            for c in 0..<columnCount {
                withField(row: r, column: c) { out.data.append(contentsOf: $0) }
                out.fieldEnds.append(out.data.count)
            }
            out.lines.append(lines[r])
        }
        return out
    }
}
