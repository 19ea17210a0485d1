import Foundation
import TrainyardCore

/// The columns of a CSV/TSV input as a scorer reads them: their names (the header's, or made up
/// for a header-less file), which ones pass through to the output (`keep`, or all with
/// `joinInput`), and how many fields a record has.
struct InputColumns: Sendable, Equatable {
    /// The input's column names; empty for an empty file.
    var names: [String]
    var hasHeader: Bool
    /// Indexes of the `keep` columns, in the order asked.
    var keep: [Int]
    var joinInput: Bool
    /// The output's first columns.
    var passThroughNames: [String]

    /// Fields per record (the first record's count); 0 for an empty file.
    var width: Int { names.count }

    /// Resolves `layout.keep` against the input's columns.
    ///
    /// A header-less file's columns are named after the model's own columns when it declares as
    /// many as the file has (a bring-your-own model with an input schema), else `column_1` …
    /// `column_N`: the names `keep` uses and the output header shows.
    /// - Throws: `.invalidInput` naming a `keep` column the input does not have, and the ones it has.
    static func resolve(_ layout: TransformLayout, hasHeader: Bool, modelColumns: [String] = []) throws(TrainyardError) -> InputColumns {
        guard let first = layout.firstRecord else {
            // An empty file: no record will be read; the output header still names what was asked.
            return InputColumns(names: [], hasHeader: false, keep: [], joinInput: layout.joinInput, passThroughNames: layout.keep)
        }
        let names = hasHeader ? first.map(trimmed) : generatedNames(width: first.count, modelColumns: modelColumns)
        var keep: [Int] = []
        for wanted in layout.keep {
            guard let index = names.firstIndex(of: wanted) ?? names.firstIndex(of: trimmed(wanted)) else {
                let origin = hasHeader ? "the input's header has" : "the input has no header, so its columns are named"
                throw TrainyardError(.invalidInput, "keep: the input has no column \"\(clientEcho(wanted, limit: 60))\"; \(origin) \(Payloads.columnList(names))")
            }
            keep.append(index)
        }
        let passThrough = layout.joinInput ? names : keep.map { names[$0] }
        return InputColumns(names: names, hasHeader: hasHeader, keep: keep, joinInput: layout.joinInput, passThroughNames: passThrough)
    }

    static func generatedNames(width: Int, modelColumns: [String]) -> [String] {
        if !modelColumns.isEmpty && modelColumns.count == width { return modelColumns }
        return (0..<width).map { "column_\($0 + 1)" }
    }

    /// The fields that pass through, from a record of `width` fields.
    func passThrough(_ fields: [String]) -> [String] {
        joinInput ? fields : keep.map { fields[$0] }
    }

    /// Index of the first column named like one of `candidates` (case-insensitively, in the
    /// candidates' order of preference).
    static func index(of candidates: [String], in names: [String]) -> Int? {
        let lowered = names.map { trimmed($0).lowercased() }
        return candidates.lazy.compactMap { lowered.firstIndex(of: $0.lowercased()) }.first
    }

    static func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespaces) }

    /// "comma" / "tab", for messages.
    static func delimiterName(_ format: TransformFormat) -> String { format == .tsv ? "tab" : "comma" }
}
