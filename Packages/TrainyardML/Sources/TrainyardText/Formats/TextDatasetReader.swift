import Foundation

/// Reads labelled texts out of TSV, CSV, JSONL or fastText bytes.
///
/// Column choice for TSV/CSV: a header row is recognised when it contains the requested column
/// names or common names (`text`, `sentence`, `label`, …). Without a header, `textColumn` and
/// `labelColumn` may be 0-based indices ("0", "1"); otherwise the text column is the one with
/// the longest values and the label column the one with the fewest distinct values.
public enum TextDatasetReader {
    static let textNames = ["text", "sentence", "review", "content", "document", "tweet"]
    static let labelNames = ["label", "labels", "class", "sentiment", "category", "target", "polarity", "y"]

    /// Reads all records. Blank lines are skipped; every other problem throws with its line.
    public static func read(_ bytes: [UInt8], format: TextFormat, textColumn: String? = nil,
                            labelColumn: String? = nil) throws(TextInputError) -> [LabeledText] {
        let resolved = format == .auto ? try detect(bytes) : format
        let records: [LabeledText]
        switch resolved {
        case .tsv:
            records = try readTable(lines(bytes).map { ($0.line, splitTSV($0.bytes)) }, textColumn: textColumn,
                                    labelColumn: labelColumn, separatorName: "tab")
        case .csv:
            records = try readTable(try csvRecords(bytes), textColumn: textColumn, labelColumn: labelColumn,
                                    separatorName: "comma")
        case .jsonl:
            records = try readJSONL(bytes, textKey: textColumn ?? "text", labelKey: labelColumn ?? "label")
        case .fasttext:
            records = try readFastText(bytes)
        case .auto:
            preconditionFailure("detect never returns .auto")
        }
        guard !records.isEmpty else { throw TextInputError(.emptyDataset, "no labelled texts found in the \(resolved.rawValue) data") }
        return records
    }

    /// Decides the format from the first non-blank line: `{` → JSONL, `__label__` → fastText,
    /// a tab → TSV, a comma → CSV.
    public static func detect(_ bytes: [UInt8]) throws(TextInputError) -> TextFormat {
        guard let first = lines(bytes).first(where: { !$0.bytes.allSatisfy { $0 == 32 || $0 == 9 } }) else {
            throw TextInputError(.emptyDataset, "the data is empty")
        }
        let line = first.bytes.drop(while: { $0 == 32 || $0 == 9 })
        if line.first == UInt8(ascii: "{") { return .jsonl }
        if line.starts(with: Array("__label__".utf8)) { return .fasttext }
        if line.contains(9) { return .tsv }
        if line.contains(UInt8(ascii: ",")) { return .csv }
        throw TextInputError(.unknownFormat, line: first.line,
                             "cannot detect the format: the first line has no tab, comma, JSON object or __label__ prefix; set format to tsv, csv, jsonl or fasttext")
    }

    // MARK: Lines

    struct Line {
        var line: Int
        var bytes: ArraySlice<UInt8>
    }

    /// All lines (blank ones included) with their 1-based numbers, `\r\n` and a BOM removed.
    static func allLines(_ bytes: [UInt8]) -> [Line] {
        var out: [Line] = []
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var number = 1
        var i = start
        let n = bytes.count
        while i <= n {
            if i == n || bytes[i] == 10 {
                var end = i
                if end > start, bytes[end - 1] == 13 { end -= 1 }
                out.append(Line(line: number, bytes: bytes[start..<end]))
                number += 1
                start = i + 1
            }
            i += 1
        }
        return out
    }

    /// Non-empty lines with their 1-based numbers, `\r\n` and a UTF-8 BOM removed.
    static func lines(_ bytes: [UInt8]) -> [Line] {
        allLines(bytes).filter { !$0.bytes.isEmpty }
    }

    static func splitTSV(_ line: ArraySlice<UInt8>) -> [String] {
        line.split(separator: 9, omittingEmptySubsequences: false).map { field in
            if field.count >= 2, field.first == 34, field.last == 34 {
                // A fully quoted field: unquote and collapse doubled quotes.
                var out: [UInt8] = []
                var k = field.startIndex + 1
                let end = field.endIndex - 1
                while k < end {
                    out.append(field[k])
                    if field[k] == 34, k + 1 < end, field[k + 1] == 34 { k += 1 }
                    k += 1
                }
                return String(decoding: out, as: UTF8.self)
            }
            return String(decoding: field, as: UTF8.self)
        }
    }

    /// RFC 4180 records with the line each starts on.
    static func csvRecords(_ bytes: [UInt8]) throws(TextInputError) -> [(Int, [String])] {
        var out: [(Int, [String])] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var quotedField = false
        var line = 1
        var recordLine = 1
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let n = bytes.count
        func endRecord() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            if !(fields.count == 1 && fields[0].isEmpty && !quotedField) { out.append((recordLine, fields)) }
            fields = []
            quotedField = false
        }
        while i < n {
            let b = bytes[i]
            if inQuotes {
                if b == 34 {
                    if i + 1 < n, bytes[i + 1] == 34 { field.append(34); i += 2; continue }
                    inQuotes = false
                } else {
                    if b == 10 { line += 1 }
                    field.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case 34 where field.isEmpty:
                inQuotes = true
                quotedField = true
            case 44:
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
            case 10:
                if field.last == 13 { field.removeLast() }
                endRecord()
                line += 1
                recordLine = line
            default:
                field.append(b)
            }
            i += 1
        }
        if inQuotes { throw TextInputError(.malformedLine, line: recordLine, "unterminated quoted CSV field") }
        if !field.isEmpty || !fields.isEmpty || quotedField {
            if field.last == 13 { field.removeLast() }
            endRecord()
        }
        return out
    }

    // MARK: Tables

    static func readTable(_ rows: [(Int, [String])], textColumn: String?, labelColumn: String?,
                          separatorName: String) throws(TextInputError) -> [LabeledText] {
        guard let first = rows.first else { return [] }
        let header = first.1.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        // Column indices ("0", "1") select columns of header-less data; only names mark a header.
        let wanted = [textColumn, labelColumn].compactMap { $0 }.filter { Int($0) == nil }.map { $0.lowercased() }
        let hasHeader = wanted.contains(where: header.contains)
            || header.contains(where: { textNames.contains($0) || labelNames.contains($0) })
        let width = first.1.count
        var textIndex: Int
        var labelIndex: Int
        if hasHeader {
            func find(_ requested: String?, _ names: [String], _ role: String) throws(TextInputError) -> Int? {
                if let requested {
                    guard let i = header.firstIndex(of: requested.lowercased()) else {
                        throw TextInputError(.missingColumn, line: first.0,
                                             "\(role) column '\(requested)' is not in the header (\(first.1.joined(separator: ", ")))")
                    }
                    return i
                }
                return names.lazy.compactMap { header.firstIndex(of: $0) }.first
            }
            let t = try find(textColumn, textNames, "text")
            let l = try find(labelColumn, labelNames, "label")
            switch (t, l) {
            case let (t?, l?): (textIndex, labelIndex) = (t, l)
            case let (t?, nil) where width == 2: (textIndex, labelIndex) = (t, 1 - t)
            case let (nil, l?) where width == 2: (textIndex, labelIndex) = (1 - l, l)
            default:
                throw TextInputError(.missingColumn, line: first.0,
                                     "cannot tell the text and label columns from the header (\(first.1.joined(separator: ", "))); set text_column and label_column")
            }
        } else {
            guard width >= 2 else {
                throw TextInputError(.malformedLine, line: first.0, "expected at least 2 \(separatorName)-separated fields (text and label), found \(width)")
            }
            (textIndex, labelIndex) = inferColumns(rows, width: width)
            if let textColumn {
                guard let i = Int(textColumn), (0..<width).contains(i) else {
                    throw TextInputError(.missingColumn, line: first.0, "the data has no header, so text column '\(textColumn)' must be a 0-based index below \(width)")
                }
                textIndex = i
            }
            if let labelColumn {
                guard let i = Int(labelColumn), (0..<width).contains(i) else {
                    throw TextInputError(.missingColumn, line: first.0, "the data has no header, so label column '\(labelColumn)' must be a 0-based index below \(width)")
                }
                labelIndex = i
            }
        }
        var out: [LabeledText] = []
        out.reserveCapacity(rows.count)
        for (line, var fields) in rows.dropFirst(hasHeader ? 1 : 0) {
            if fields.count > width, textIndex == width - 1 {
                // Stray separators inside a last-column text: keep them as part of the text.
                let joined = fields[textIndex...].joined(separator: separatorName == "tab" ? "\t" : ",")
                fields.removeSubrange(textIndex...)
                fields.append(joined)
            }
            guard fields.count == width else {
                throw TextInputError(.malformedLine, line: line, "expected \(width) \(separatorName)-separated fields, found \(fields.count)")
            }
            out.append(LabeledText(text: fields[textIndex], label: fields[labelIndex].trimmingCharacters(in: .whitespaces), line: line))
        }
        return out
    }

    /// Without a header: text = longest values, label = fewest distinct values among the rest.
    static func inferColumns(_ rows: [(Int, [String])], width: Int) -> (Int, Int) {
        var lengths = [Int](repeating: 0, count: width)
        var distinct = [Set<String>](repeating: [], count: width)
        for (_, fields) in rows.prefix(2000) where fields.count == width {
            for c in 0..<width {
                lengths[c] += fields[c].utf8.count
                distinct[c].insert(fields[c])
            }
        }
        let text = lengths.indices.max(by: { lengths[$0] < lengths[$1] }) ?? 0
        let label = distinct.indices.filter { $0 != text }.min(by: { distinct[$0].count < distinct[$1].count }) ?? (text == 0 ? 1 : 0)
        return (text, label)
    }

    // MARK: JSONL and fastText

    static func readJSONL(_ bytes: [UInt8], textKey: String, labelKey: String) throws(TextInputError) -> [LabeledText] {
        var out: [LabeledText] = []
        for line in lines(bytes) {
            if line.bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line.bytes), options: [.fragmentsAllowed])
            } catch {
                throw TextInputError(.malformedLine, line: line.line, "invalid JSON")
            }
            guard let dict = object as? [String: Any] else {
                throw TextInputError(.malformedLine, line: line.line, "expected a JSON object")
            }
            guard let text = dict[textKey] as? String else {
                throw TextInputError(.missingColumn, line: line.line, "missing string field '\(textKey)'")
            }
            guard let rawLabel = dict[labelKey] else {
                throw TextInputError(.missingColumn, line: line.line, "missing field '\(labelKey)'")
            }
            let label: String
            switch rawLabel {
            case let s as String: label = s
            case let n as NSNumber:
                if String(cString: n.objCType) == "c" { label = n.boolValue ? "true" : "false" }
                else if n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e15 { label = String(Int64(n.doubleValue)) }
                else { label = n.stringValue }
            default:
                throw TextInputError(.malformedLine, line: line.line, "field '\(labelKey)' must be a string, number or boolean")
            }
            out.append(LabeledText(text: text, label: label, line: line.line))
        }
        return out
    }

    static func readFastText(_ bytes: [UInt8]) throws(TextInputError) -> [LabeledText] {
        let prefix = Array("__label__".utf8)
        var out: [LabeledText] = []
        for line in lines(bytes) {
            var rest = line.bytes.drop(while: { $0 == 32 || $0 == 9 })
            if rest.isEmpty { continue }
            guard rest.starts(with: prefix) else {
                throw TextInputError(.malformedLine, line: line.line, "expected a line starting with __label__")
            }
            var label: String?
            // Take the first label; further __label__ tokens (multi-label lines) are skipped.
            while rest.starts(with: prefix) {
                let token = rest.prefix(while: { $0 != 32 && $0 != 9 })
                if label == nil { label = String(decoding: token.dropFirst(prefix.count), as: UTF8.self) }
                rest = rest.dropFirst(token.count).drop(while: { $0 == 32 || $0 == 9 })
            }
            guard let label, !label.isEmpty else {
                throw TextInputError(.malformedLine, line: line.line, "empty __label__")
            }
            out.append(LabeledText(text: String(decoding: rest, as: UTF8.self), label: label, line: line.line))
        }
        return out
    }
}
