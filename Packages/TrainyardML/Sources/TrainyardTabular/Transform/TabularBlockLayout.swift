/// A file format a `TabularBlockScorer` reads and writes.
public enum TabularRecordFormat: String, Sendable, CaseIterable {
    case csv, tsv, jsonl

    /// CSV/TSV field delimiter; nil for JSONL.
    public var delimiter: UInt8? {
        switch self {
        case .csv: CSVTokenizer.comma
        case .tsv: CSVTokenizer.tab
        case .jsonl: nil
        }
    }
}

/// The shape of one input file and what its output holds, as a `TabularBlockScorer` needs it.
public struct TabularBlockLayout: Sendable, Equatable {
    public var format: TabularRecordFormat
    /// CSV/TSV: the fields of the file's first record, unquoted; nil for JSONL and an empty file.
    public var firstRecord: [String]?
    /// CSV/TSV: whether the first record is a header; nil: decided from `firstRecord` (see
    /// `TabularBlockScorer.init`).
    public var header: Bool?
    /// Input columns (JSONL: fields) copied to each output record before the predictions.
    public var keep: [String]
    /// Every input column (JSONL: field) copied before the predictions.
    public var joinInput: Bool
    /// Classification: each class's probability after the label.
    public var probabilities: Bool

    public init(format: TabularRecordFormat, firstRecord: [String]? = nil, header: Bool? = nil, keep: [String] = [],
                joinInput: Bool = false, probabilities: Bool = false) {
        self.format = format
        self.firstRecord = firstRecord
        self.header = header
        self.keep = keep
        self.joinInput = joinInput
        self.probabilities = probabilities
    }
}

/// What scoring one block produced.
public struct TabularScoredBlock: Sendable {
    /// The good rows' output records, in input order, each ending with a newline.
    public var output: [UInt8]
    /// Records read (blank lines are not records).
    public var rowsIn: Int
    /// Records written to `output`.
    public var rowsOut: Int
    /// The refused records, in input order.
    public var errors: [TabularRowError]
}

/// A record that could not be scored.
public struct TabularRowError: Sendable, Equatable {
    /// The input line the record starts on (1-based, a header line counts).
    public var line: Int
    /// What is wrong, naming the column and echoing the value (cut to 80 characters).
    public var reason: String
    /// The raw record without its line end, cut to `maxRowBytes` bytes (then ending in `…`).
    public var row: String

    public static let maxRowBytes = 4096

    init(line: Int, reason: String, row: UnsafeBufferPointer<UInt8>) {
        self.line = line
        self.reason = reason
        self.row = row.count > Self.maxRowBytes
            ? String(decoding: UnsafeBufferPointer(rebasing: row[..<(row.startIndex + Self.maxRowBytes)]), as: UTF8.self) + "…"
            : String(decoding: row, as: UTF8.self)
    }
}
