import Foundation

/// Where each input's results go in the output folder: `<input name>.out` (SageMaker Batch
/// Transform's naming), its rejected rows in `<input name>.errors.jsonl`, and the summary in
/// `_SUCCESS.json`; or, with `output_template`, the older systems' layout.
public enum TransformOutputNames {
    public static let summary = "_SUCCESS.json"

    /// The summary's name for a job: `_SUCCESS.json`, except for a transform a watch trigger
    /// made for one file, whose output folder is shared by every file the trigger fires on:
    /// `_SUCCESS.<input name>.json`, so each file's job commits its own summary.
    public static func summary(for spec: Spec) -> String {
        guard spec.origin?.file != nil, let files = spec.transform?.files, files.count == 1 else { return summary }
        return "_SUCCESS.\(files[0].name).json"
    }

    /// Checks a template: placeholders `{name}` (the input's file name), `{stem}` (without its
    /// extension), `{date}` (YYYY-MM-DD), `{timestamp}` (YYYYMMDDTHHMMSSZ), `{job}`; a relative
    /// path without `..` that names a file.
    public static func checkTemplate(_ template: String) -> String? {
        if template.isEmpty || template.hasPrefix("/") { return "must be a relative path" }
        if template.split(separator: "/").contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) { return "must not contain '..', '.' or empty segments" }
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { return "has an unclosed '{'" }
            let name = rest[rest.index(after: open)..<close]
            guard ["name", "stem", "date", "timestamp", "job"].contains(name) else {
                return "has an unknown placeholder {\(name)} (known: {name}, {stem}, {date}, {timestamp}, {job})"
            }
            rest = rest[rest.index(after: close)...]
        }
        if template.contains("\0") { return "must not contain NUL" }
        return nil
    }

    /// The output's path relative to the output folder.
    public static func output(for input: TransformInputFile, template: String?, job: JobID, at date: Date) -> String {
        guard let template else { return input.name + ".out" }
        let stem = input.name.split(separator: ".", omittingEmptySubsequences: false).dropLast().joined(separator: ".")
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let day = String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        let stamp = String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
        return template
            .replacingOccurrences(of: "{name}", with: input.name)
            .replacingOccurrences(of: "{stem}", with: stem.isEmpty ? input.name : stem)
            .replacingOccurrences(of: "{date}", with: day)
            .replacingOccurrences(of: "{timestamp}", with: stamp)
            .replacingOccurrences(of: "{job}", with: String(job))
    }

    /// The errors file beside an output.
    public static func errors(for input: TransformInputFile) -> String { input.name + ".errors.jsonl" }
}

/// `_SUCCESS.json`: what a transform committed.
public struct TransformSummary: Sendable, Codable, Equatable {
    public struct File: Sendable, Codable, Equatable {
        public var input: String
        /// Relative to the output folder.
        public var output: String
        public var rowsIn: Int
        public var rowsOut: Int
        public var errors: Int
        public var sha256: String
        public var bytes: Int64
        public var errorsFile: String?

        public init(input: String, output: String, rowsIn: Int, rowsOut: Int, errors: Int, sha256: String, bytes: Int64, errorsFile: String?) {
            self.input = input
            self.output = output
            self.rowsIn = rowsIn
            self.rowsOut = rowsOut
            self.errors = errors
            self.sha256 = sha256
            self.bytes = bytes
            self.errorsFile = errorsFile
        }

        enum CodingKeys: String, CodingKey {
            case input, output, errors, sha256, bytes
            case rowsIn = "rows_in"
            case rowsOut = "rows_out"
            case errorsFile = "errors_file"
        }
    }

    public var model: String
    public var version: Int
    public var job: JobID
    public var files: [File]
    public var rowsIn: Int
    public var rowsOut: Int
    public var errors: Int
    public var completedAt: Date

    public init(model: String, version: Int, job: JobID, files: [File], completedAt: Date) {
        self.model = model
        self.version = version
        self.job = job
        self.files = files
        self.rowsIn = files.reduce(0) { $0 + $1.rowsIn }
        self.rowsOut = files.reduce(0) { $0 + $1.rowsOut }
        self.errors = files.reduce(0) { $0 + $1.errors }
        self.completedAt = completedAt
    }

    enum CodingKeys: String, CodingKey {
        case model, version, job, files, errors
        case rowsIn = "rows_in"
        case rowsOut = "rows_out"
        case completedAt = "completed_at"
    }
}
