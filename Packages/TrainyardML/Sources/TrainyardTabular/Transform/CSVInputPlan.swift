/// How the columns of a CSV/TSV file meet a model, decided once from the file's first record,
/// before any row is scored (so a file the model cannot read fails as a whole, at submit time).
///
/// Header or not: the caller's flag wins. Otherwise a first record naming every feature the
/// model reads is a header; one naming only some of them is a header with columns missing (an
/// error naming them: reading it as data would score every row with the columns in the wrong
/// places); one naming none with exactly as many fields as the model has features is data,
/// in the model's column order (SageMaker's default); anything else is an error.
///
/// `keep` names columns of the header; a header-less file's columns are the model's features in
/// schema order, so there `keep` may name features (nothing else exists to name).
struct CSVInputPlan: Sendable {
    let hasHeader: Bool
    /// The input's column names: the header's (trimmed), or the model's features in order.
    let columns: [String]
    /// Per model feature, its input column.
    let featureColumns: [Int]
    /// Input columns copied to each output record, in output order (-1: not in the input, for an
    /// empty file only).
    let copiedColumns: [Int]
    /// Their names, for the output header.
    let copiedNames: [String]

    var fieldCount: Int { columns.count }

    init(schema: TabularSchema, layout: TabularBlockLayout) throws(TabularDataError) {
        let features = schema.features.map(\.name)
        let modelColumns = features.joined(separator: ", ")
        guard let first = layout.firstRecord else {
            // An empty file: nothing will be scored, so nothing needs a column; kept names are
            // echoed in the (otherwise empty) output's header.
            hasHeader = layout.header ?? false
            columns = features
            featureColumns = Array(features.indices)
            copiedNames = layout.joinInput ? features : layout.keep
            copiedColumns = copiedNames.map { features.firstIndex(of: $0) ?? -1 }
            return
        }
        let names = Self.names(first)
        let named = Set(names)
        let missing = features.filter { !named.contains($0) }
        let header: Bool
        switch layout.header {
        case true?:
            guard missing.isEmpty else {
                throw TabularDataError(.missingColumn, "the header does not name \(Self.list(missing)), which the model reads (it reads \(modelColumns))",
                                       line: 1, column: missing[0])
            }
            header = true
        case false?:
            guard first.count == features.count else {
                throw TabularDataError(.raggedRow,
                    "without a header, records hold the model's \(features.count) columns in its order (\(modelColumns)); the first record has \(first.count) field\(first.count == 1 ? "" : "s")",
                    line: 1)
            }
            header = false
        case nil:
            if missing.isEmpty {
                header = true
            } else if missing.count < features.count {
                throw TabularDataError(.missingColumn,
                    "the first line is a header without \(Self.list(missing)), which the model reads (it reads \(modelColumns))",
                    line: 1, column: missing[0])
            } else if first.count == features.count {
                header = false
            } else {
                throw TabularDataError(.missingColumn,
                    "the first line is neither a header naming the model's columns (\(modelColumns)) nor a record of those \(features.count) columns in that order: it has \(first.count) field\(first.count == 1 ? "" : "s")",
                    line: 1)
            }
        }
        hasHeader = header
        if header {
            var seen: Set<String> = []
            for name in names where !seen.insert(name).inserted {
                throw TabularDataError(.duplicateColumn, "line 1: column '\(name)' appears twice in the header", line: 1, column: name)
            }
            columns = names
        } else {
            columns = features
        }
        var index: [String: Int] = [:]
        for (c, name) in columns.enumerated() { index[name] = c }
        featureColumns = features.map { index[$0]! }
        for name in layout.keep where index[name] == nil {
            let known = header ? "its columns are \(columns.joined(separator: ", "))"
                : "without a header, its columns are the model's, in order: \(modelColumns)"
            throw TabularDataError(.unknownColumn, "keep: the input has no column '\(name)'; \(known)", column: name)
        }
        copiedNames = layout.joinInput ? columns : layout.keep
        copiedColumns = copiedNames.map { index[$0]! }
    }

    /// Header names as `CSVTable` reads them: trimmed, a blank one named `column_N`, a UTF-8
    /// byte-order mark before the first dropped.
    static func names(_ fields: [String]) -> [String] {
        fields.enumerated().map { c, field in
            var name = field.trimmingASCIISpaces()
            if c == 0, name.hasPrefix("\u{FEFF}") { name = String(name.dropFirst()).trimmingASCIISpaces() }
            return name.isEmpty ? "column_\(c + 1)" : name
        }
    }

    /// `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`.
    static func list(_ names: [String]) -> String {
        let quoted = names.map { "'\($0)'" }
        return quoted.count <= 1 ? quoted.joined() : quoted.dropLast().joined(separator: ", ") + " and " + quoted.last!
    }
}
