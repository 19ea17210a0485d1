/// File formats of labelled text data.
///
/// - `tsv`: tab-separated; lines are taken literally (no quote processing unless a whole field is
///   wrapped in `"`), so raw text with stray quotes (rt-polarity) reads correctly.
/// - `csv`: RFC 4180 comma-separated with quoting (fields may span lines).
/// - `jsonl`: one JSON object per line, `{"text": …, "label": …}` (keys configurable).
/// - `fasttext`: `__label__pos some text` per line.
/// - `auto`: decided from the first non-blank line (see ``TextDatasetReader/detect(_:)``).
public enum TextFormat: String, Sendable, CaseIterable {
    case auto, tsv, csv, jsonl, fasttext
}

/// One labelled text and the 1-based line it started on.
public struct LabeledText: Sendable, Equatable {
    public var text: String
    public var label: String
    public var line: Int
    public init(text: String, label: String, line: Int) { self.text = text; self.label = label; self.line = line }
}
