/// The validation rows a learner carved out of its training data (`ValidationSource.fraction`),
/// written back in a format the same learner's `evaluate` reads.
///
/// A learner's validation metrics are measured on rows chosen inside it; to compare another
/// model with it fairly (the version an alias points at, before promotion), that model must be
/// scored on exactly these rows. The rows are the ones the returned metrics were computed on,
/// in their order in the training data; the choice is deterministic for a given seed.
public struct HeldOutRows: Sendable, Equatable {
    /// The rows as a file's bytes: CSV with a header (tabular), JSONL with the request's text
    /// and label keys (text classification), CoNLL (NER).
    public var data: [UInt8]
    /// How many rows (texts, sentences) `data` holds.
    public var count: Int
    /// The format of `data`, under the spec's `data.format` names: `csv`, `jsonl` or `conll`.
    public var format: String

    public init(data: [UInt8], count: Int, format: String) {
        self.data = data
        self.count = count
        self.format = format
    }
}
