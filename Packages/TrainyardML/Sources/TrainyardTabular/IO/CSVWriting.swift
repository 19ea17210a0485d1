/// Writes parsed rows back as delimited text that `CSVTable.parse` reads to the same fields
/// (the held-out validation rows another model is scored on). A field is quoted when it holds
/// the delimiter, a quote or a line break, or starts or ends with a space, with quotes doubled.
enum CSVWriting {
    static func write(header: [String], rows: CSVRows, delimiter: UInt8) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rows.data.count + rows.fieldEnds.count * 2 + 256)
        for (c, name) in header.enumerated() {
            if c > 0 { out.append(delimiter) }
            append(Array(name.utf8)[...], delimiter: delimiter, to: &out)
        }
        out.append(CSVTokenizer.lf)
        for r in 0..<rows.count {
            for c in 0..<rows.columnCount {
                if c > 0 { out.append(delimiter) }
                rows.withField(row: r, column: c) { field in
                    append(field[...], delimiter: delimiter, to: &out)
                }
            }
            out.append(CSVTokenizer.lf)
        }
        return out
    }

    private static func append<Field: BidirectionalCollection<UInt8>>(_ field: Field, delimiter: UInt8, to out: inout [UInt8]) {
        let quote = CSVTokenizer.quote
        let needsQuotes = field.contains { $0 == delimiter || $0 == quote || $0 == CSVTokenizer.lf || $0 == CSVTokenizer.cr }
            || field.first == 0x20 || field.last == 0x20
        guard needsQuotes else { out.append(contentsOf: field); return }
        out.append(quote)
        for byte in field {
            if byte == quote { out.append(quote) }
            out.append(byte)
        }
        out.append(quote)
    }
}
