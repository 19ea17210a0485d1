import Foundation

/// Scores blocks of input records for batch transform: the seam between the transform job
/// (Runtime: reading files in record-aligned blocks on both cores, ordering, error files,
/// commit) and the models (Serving: native predictors in process, bring-your-own models through
/// their serve process in multi-record requests). Injected as `TrainyardServices.scoring`.
public protocol BatchScoring: Sendable {
    /// Opens `version` for scoring input laid out as `layout`.
    /// - Throws: `.invalidInput` naming the columns when the model cannot score this input
    ///   (a column it needs is missing, a `keep` column does not exist, a header-less file has
    ///   the wrong number of fields), before any row is read.
    func open(_ version: ModelVersion, layout: TransformLayout) async throws -> any RecordBlockScorer
}

/// The shape of one input file, as the scorer sees it.
public struct TransformLayout: Sendable, Equatable {
    public var format: TransformFormat
    /// CSV/TSV: the fields of the file's first record (unquoted), from which the scorer decides
    /// whether it is a header (it names the model's columns) or data (columns in the model's
    /// schema order, SageMaker's default); nil for JSONL and for an empty file.
    public var firstRecord: [String]?
    /// CSV/TSV: the user's `--header` / `--no-header`; nil: decided from `firstRecord`.
    public var header: Bool?
    public var keep: [String]
    public var joinInput: Bool
    public var probabilities: Bool

    public init(format: TransformFormat, firstRecord: [String]?, header: Bool? = nil, keep: [String] = [], joinInput: Bool = false,
                probabilities: Bool = false) {
        self.format = format
        self.firstRecord = firstRecord
        self.header = header
        self.keep = keep
        self.joinInput = joinInput
        self.probabilities = probabilities
    }
}

/// Scores blocks of one input file. Thread-safe: the transform scores several blocks at once
/// (one per core) and writes their results in input order.
public protocol RecordBlockScorer: Sendable {
    /// Whether the input's first line is a header (then it is not a record: blocks start after it).
    var inputHasHeader: Bool { get }
    /// The output's first line (a CSV/TSV header ending in a newline); nil when the output
    /// format has none (JSONL).
    var outputHeader: [UInt8]? { get }
    /// Scores the complete records in `block`. A record that cannot be scored (wrong field
    /// count, a value of the wrong type, a category the model refuses) is not an error of the
    /// block: it becomes a `RowError` and is left out of the output.
    /// - Throws: only for what fails the whole file (the model's serve process is gone).
    func score(_ block: RecordBlock) async throws -> ScoredBlock
    /// Releases what `open` started.
    func close() async
}

/// Complete input records, back to back (each ending with a newline but perhaps the last).
public struct RecordBlock: Sendable {
    public var bytes: [UInt8]
    /// The input line of the block's first record (1-based, counting a header line).
    public var firstLine: Int

    public init(bytes: [UInt8], firstLine: Int) {
        self.bytes = bytes
        self.firstLine = firstLine
    }
}

/// What scoring one block produced.
public struct ScoredBlock: Sendable {
    /// Output records for the block's good rows, in input order, each ending with a newline.
    public var output: [UInt8]
    /// Records read (blank lines are not records).
    public var rowsIn: Int
    /// Records written to `output`.
    public var rowsOut: Int
    public var errors: [RowError]

    public init(output: [UInt8], rowsIn: Int, rowsOut: Int, errors: [RowError]) {
        self.output = output
        self.rowsIn = rowsIn
        self.rowsOut = rowsOut
        self.errors = errors
    }
}

/// A row that could not be scored, as written to `<input name>.errors.jsonl`.
public struct RowError: Sendable, Codable, Equatable {
    /// The input line the record starts on (1-based, counting a header line).
    public var line: Int
    public var reason: String
    /// The raw record (without its newline), cut to `RowError.maxRowBytes`.
    public var row: String

    public static let maxRowBytes = 4096

    public init(line: Int, reason: String, row: String) {
        self.line = line
        self.reason = reason
        self.row = row.utf8.count > Self.maxRowBytes ? String(decoding: row.utf8.prefix(Self.maxRowBytes), as: UTF8.self) + "…" : row
    }
}
