/// An incremental RFC 4180 tokenizer: quoted fields (with `""` escapes and embedded newlines),
/// LF or CRLF line ends, blank lines skipped. It consumes only complete records, so a caller
/// can feed a file in chunks and keep the unconsumed tail for the next one.
///
/// Strict by default (a ragged row or an unclosed quote throws: training data must be whole).
/// With a `report` it is tolerant instead, for scoring: such a record is left out of the rows
/// and listed in `report.rejected`, and every accepted record's byte span is kept, so the
/// caller can quote the raw record of a row it refuses later.
struct CSVTokenizer: Sendable {
    static let quote: UInt8 = 0x22, lf: UInt8 = 0x0A, cr: UInt8 = 0x0D, comma: UInt8 = 0x2C, tab: UInt8 = 0x09

    var delimiter: UInt8
    /// Fields every record must have; nil while reading the header.
    var expectedColumns: Int?
    /// Line number of the next unread byte.
    var line: Int = 1
    /// Set to read tolerantly (see the type's comment); nil: strict.
    var report: CSVRecordReport?

    init(delimiter: UInt8) { self.delimiter = delimiter }

    /// Parses up to `maxRecords` complete records of `buf[start...]` into `rows`.
    /// - Returns: the offset just past the last consumed record.
    /// - Throws: `TabularDataError` for a ragged row or an unterminated quote at end of input.
    mutating func parse(_ buf: UnsafeBufferPointer<UInt8>, from start: Int, isFinal: Bool,
                        maxRecords: Int = .max, into rows: inout CSVRows) throws -> Int {
        let quote = Self.quote, lf = Self.lf, cr = Self.cr, delim = delimiter
        let n = buf.count
        var i = start
        var done = 0
        while i < n && done < maxRecords {
            let c0 = buf[i]
            if c0 == lf { line += 1; i += 1; continue }
            if c0 == cr {
                if i + 1 >= n && !isFinal { return i }
                i += 1
                if i < n && buf[i] == lf { i += 1 }
                line += 1
                continue
            }
            let recordStart = i, recordLine = line
            let dataMark = rows.data.count, endsMark = rows.fieldEnds.count
            var lineCursor = line
            var fields = 0
            var complete = false
            var openQuote = false
            var contentEnd = n
            fieldLoop: while true {
                if i < n && buf[i] == quote {
                    i += 1
                    while true {
                        guard i < n else { openQuote = true; break fieldLoop }
                        let c = buf[i]
                        if c == quote {
                            if i + 1 < n {
                                if buf[i + 1] == quote { rows.data.append(quote); i += 2; continue }
                            } else if !isFinal {
                                openQuote = true
                                break fieldLoop
                            }
                            i += 1
                            break
                        }
                        if c == lf { lineCursor += 1 }
                        rows.data.append(c)
                        i += 1
                    }
                    // Lenient: text after a closing quote is kept (`"a"b` reads as `ab`).
                    while i < n {
                        let c = buf[i]
                        if c == delim || c == cr || c == lf { break }
                        rows.data.append(c)
                        i += 1
                    }
                } else {
                    let s = i
                    while i < n {
                        let c = buf[i]
                        if c == delim || c == cr || c == lf { break }
                        i += 1
                    }
                    if i > s { rows.data.append(contentsOf: UnsafeBufferPointer(rebasing: buf[s..<i])) }
                }
                rows.fieldEnds.append(rows.data.count)
                fields += 1
                if i >= n {
                    if isFinal { complete = true }
                    break
                }
                let c = buf[i]
                if c == delim { i += 1; continue }
                contentEnd = i
                if c == cr {
                    if i + 1 < n {
                        i += 1
                        if buf[i] == lf { i += 1 }
                    } else if isFinal {
                        i += 1
                    } else {
                        break
                    }
                    complete = true
                    break
                }
                i += 1  // LF
                complete = true
                break
            }
            if !complete {
                if isFinal && openQuote {
                    guard report != nil else {
                        throw TabularDataError(.raggedRow, "line \(recordLine): quoted field is never closed", line: recordLine)
                    }
                    // Everything from the open quote on is this one record (but the input's last line end).
                    rows.data.removeSubrange(dataMark...)
                    rows.fieldEnds.removeSubrange(endsMark...)
                    var end = n
                    while end > recordStart && (buf[end - 1] == lf || buf[end - 1] == cr) { end -= 1 }
                    report!.rejected.append(CSVRejectedRecord(line: recordLine, bytes: recordStart..<end, reason: "quoted field is never closed"))
                    line = lineCursor
                    return n
                }
                rows.data.removeSubrange(dataMark...)
                rows.fieldEnds.removeSubrange(endsMark...)
                return recordStart
            }
            line = lineCursor + 1
            if let expected = expectedColumns, fields != expected {
                guard report != nil else {
                    throw TabularDataError(.raggedRow, "line \(recordLine): expected \(expected) fields, found \(fields)", line: recordLine)
                }
                rows.data.removeSubrange(dataMark...)
                rows.fieldEnds.removeSubrange(endsMark...)
                report!.rejected.append(CSVRejectedRecord(line: recordLine, bytes: recordStart..<contentEnd,
                                                          reason: "expected \(expected) fields, found \(fields)"))
                done += 1
                continue
            }
            rows.lines.append(recordLine)
            if report != nil {
                report!.spans.append(recordStart)
                report!.spans.append(contentEnd)
            }
            done += 1
        }
        return i
    }

    /// `\t` if the first line holds more tabs than commas (outside quotes), else `,`.
    static func detectDelimiter(_ buf: UnsafeBufferPointer<UInt8>, from start: Int) -> UInt8 {
        var tabs = 0, commas = 0, inQuotes = false
        var i = start
        while i < buf.count && i < start + 1 << 16 {
            let c = buf[i]
            if c == quote { inQuotes.toggle() }
            else if !inQuotes {
                if c == lf || c == cr { break }
                if c == tab { tabs += 1 } else if c == comma { commas += 1 }
            }
            i += 1
        }
        return tabs > commas ? tab : comma
    }

    /// Length of a leading UTF-8 byte-order mark (0 or 3).
    static func bomLength(_ buf: UnsafeBufferPointer<UInt8>) -> Int {
        buf.count >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF ? 3 : 0
    }
}

/// What a tolerant `CSVTokenizer` noted beside the rows it accepted.
struct CSVRecordReport: Sendable {
    /// Per accepted row, the start and end offsets of its raw bytes (line end excluded), in pairs.
    var spans: [Int] = []
    var rejected: [CSVRejectedRecord] = []
}

/// A record the tolerant tokenizer left out: where it starts, its raw bytes, why.
struct CSVRejectedRecord: Sendable, Equatable {
    var line: Int
    var bytes: Range<Int>
    var reason: String
}
