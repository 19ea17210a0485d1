import Foundation

/// What a job of kind `transform` scores and where the results go: stored as `Spec.transform`
/// (the spec's `name` is the model's, `task` the version's task).
///
/// Made by `TransformSubmitter` from a `TransformRequest`: the model reference is pinned to a
/// version and the input is listed (with each file's identity) at submit time, so a retried or
/// re-delivered job scores exactly the same rows with exactly the same model.
public struct TransformSpec: Sendable, Codable, Equatable {
    /// The reference as the user gave it (`diamonds-price`, `iris@production`, `iris:3`).
    public var model: String
    /// The version `model` resolved to at submit time.
    public var version: Int
    /// A file or a folder, as given (absolute path, `file://`, later `s3://`).
    public var input: String
    /// The output folder.
    public var output: String
    /// Which files of a folder are scored (`*.csv`); nil: every file with a known extension.
    public var glob: String?
    /// nil: by each file's extension.
    public var format: TransformFormat?
    /// CSV/TSV: whether the first line is a header; nil: detected (a first line naming the
    /// model's columns is a header; otherwise columns are in the model's schema order).
    public var header: Bool?
    /// Input columns copied to the output before the predictions (an id column, say).
    public var keep: [String]
    /// Every input column, then the predictions.
    public var joinInput: Bool
    /// Classification: a probability column per class after the label.
    public var probabilities: Bool
    /// A file whose bad rows exceed this fraction of its rows fails (default 1 %).
    public var maxErrorRate: Double
    /// `{date}/{timestamp}.csv`-style output names instead of `<input name>.out`.
    public var outputTemplate: String?
    /// The files to score, listed at submit time with their identity.
    public var files: [TransformInputFile]
    /// Set on the part jobs a fanned-out transform makes (`JobKind.transformPart`).
    public var part: TransformPart?

    public static let defaultMaxErrorRate = 0.01

    public init(model: String, version: Int, input: String, output: String, glob: String? = nil, format: TransformFormat? = nil,
                header: Bool? = nil, keep: [String] = [], joinInput: Bool = false, probabilities: Bool = false,
                maxErrorRate: Double = TransformSpec.defaultMaxErrorRate, outputTemplate: String? = nil,
                files: [TransformInputFile] = [], part: TransformPart? = nil) {
        self.model = model
        self.version = version
        self.input = input
        self.output = output
        self.glob = glob
        self.format = format
        self.header = header
        self.keep = keep
        self.joinInput = joinInput
        self.probabilities = probabilities
        self.maxErrorRate = maxErrorRate
        self.outputTemplate = outputTemplate
        self.files = files
        self.part = part
    }

    enum CodingKeys: String, CodingKey {
        case model, version, input, output, glob, format, header, keep, probabilities, files, part
        case joinInput = "join_input"
        case maxErrorRate = "max_error_rate"
        case outputTemplate = "output_template"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        version = try c.decode(Int.self, forKey: .version)
        input = try c.decode(String.self, forKey: .input)
        output = try c.decode(String.self, forKey: .output)
        glob = try c.decodeIfPresent(String.self, forKey: .glob)
        format = try c.decodeIfPresent(TransformFormat.self, forKey: .format)
        header = try c.decodeIfPresent(Bool.self, forKey: .header)
        keep = try c.decodeIfPresent([String].self, forKey: .keep) ?? []
        joinInput = try c.decodeIfPresent(Bool.self, forKey: .joinInput) ?? false
        probabilities = try c.decodeIfPresent(Bool.self, forKey: .probabilities) ?? false
        maxErrorRate = try c.decodeIfPresent(Double.self, forKey: .maxErrorRate) ?? Self.defaultMaxErrorRate
        outputTemplate = try c.decodeIfPresent(String.self, forKey: .outputTemplate)
        files = try c.decodeIfPresent([TransformInputFile].self, forKey: .files) ?? []
        part = try c.decodeIfPresent(TransformPart.self, forKey: .part)
    }
}

/// An input file format.
public enum TransformFormat: String, Sendable, Codable, CaseIterable {
    case csv, tsv, jsonl

    /// By extension (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`/`.json`); nil when unknown.
    public init?(fileName: String) {
        let lower = fileName.lowercased()
        let ext = lower.split(separator: ".").last.map(String.init) ?? ""
        switch ext {
        case "csv": self = .csv
        case "tsv", "tab": self = .tsv
        case "jsonl", "ndjson", "json": self = .jsonl
        default: return nil
        }
    }

    public var fieldDelimiter: UInt8? {
        switch self {
        case .csv: UInt8(ascii: ",")
        case .tsv: UInt8(ascii: "\t")
        case .jsonl: nil
        }
    }
}

/// One input file and its identity when it was listed: a file that changes afterwards is a
/// different input (its own idempotency key), and the job that listed it refuses to score it.
public struct TransformInputFile: Sendable, Codable, Equatable {
    /// Absolute path (or URI).
    public var path: String
    public var bytes: Int64
    /// Modification time, seconds since 1970 (nanosecond precision where the file system has it).
    public var modified: Double
    /// S3's ETag, for objects.
    public var etag: String?

    public init(path: String, bytes: Int64, modified: Double, etag: String? = nil) {
        self.path = path
        self.bytes = bytes
        self.modified = modified
        self.etag = etag
    }

    /// The file's name (last path component).
    public var name: String { path.split(separator: "/").last.map(String.init) ?? path }
}

/// A part of a fanned-out transform: one byte range (line-aligned) of one input file.
public struct TransformPart: Sendable, Codable, Equatable {
    public var parent: JobID
    /// Position among the parent's parts (parts are assembled in this order).
    public var index: Int
    /// Index into `TransformSpec.files`.
    public var file: Int
    /// Byte range of the file, cut at record boundaries (a header line is never in a range).
    public var start: Int64
    public var end: Int64
    /// The input line `start` is on (1-based), for the line numbers of row errors.
    public var firstLine: Int

    public init(parent: JobID, index: Int, file: Int, start: Int64, end: Int64, firstLine: Int) {
        self.parent = parent
        self.index = index
        self.file = file
        self.start = start
        self.end = end
        self.firstLine = firstLine
    }

    enum CodingKeys: String, CodingKey {
        case parent, index, file, start, end
        case firstLine = "first_line"
    }
}
