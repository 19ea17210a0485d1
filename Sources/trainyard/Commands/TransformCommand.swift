import ArgumentParser
import Foundation
import TrainyardCore
import TrainyardRuntime

/// `trainyard transform REF --input IN --output OUT [--wait]`: batch scoring of a file or a
/// folder, as a job of kind `transform`.
struct TransformCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transform",
        abstract: "Score a file or a folder of CSV / TSV / JSONL with a model (a job of kind transform).",
        discussion: """
        Each input file's results go to OUT/<input name>.out in input order; rows that cannot be scored go to \
        OUT/<input name>.errors.jsonl ({"line", "reason", "row"}); OUT/_SUCCESS.json lists every output with its \
        counts and sha256 once all are committed. Submitting the same input again (same files, sizes and \
        modification times, or for s3:// objects the same ETags; same model version and options) returns the first \
        job instead of scoring twice. s3:// inputs and outputs need S3 where the job is submitted and run \
        (TRAINYARD_S3_ENDPOINT or AWS's endpoint settings, and AWS credentials).
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The model: NAME (its production alias, else its latest version), NAME@ALIAS or NAME:VERSION.")
    var model: String

    @Option(help: "A file, or a folder (every file with a known extension, or matching --glob); or s3://bucket/key, or s3://bucket/prefix/ (the objects directly under it, likewise).")
    var input: String

    @Option(help: "The output folder (created if missing), or s3://bucket/prefix/.")
    var output: String

    @Option(help: "Which files of a folder to score (a file-name pattern such as '*.csv').")
    var glob: String?

    @Option(help: "csv, tsv or jsonl (default: by extension).")
    var format: String?

    @Flag(inversion: .prefixedNo, help: "CSV/TSV: whether the first line is a header (default: detected: a first line naming the model's columns is a header; otherwise columns are in the model's schema order).")
    var header: Bool?

    @Option(help: "Input columns copied to the output before the predictions (comma-separated, e.g. an id).")
    var keep: String?

    @Flag(help: "Copy every input column to the output, then the predictions.")
    var joinInput = false

    @Flag(help: "Classification: a probability column per class.")
    var probabilities = false

    @Option(help: "A file whose bad rows exceed this fraction fails (default 0.01, i.e. 1 %).")
    var maxErrorRate: Double?

    @Option(help: "Name outputs after a template instead of <input name>.out: placeholders {name}, {stem}, {date}, {timestamp}, {job}.")
    var outputTemplate: String?

    @Option(help: "Priority (higher runs first).")
    var priority: Int?

    @Option(help: "Retries after a failed attempt (default 1).")
    var retries: Int?

    @Option(help: "Time limit of one attempt (e.g. 30m).")
    var timeout: String?

    @Flag(help: "Follow the job (rows, rows/s, ETA) until it ends; exit 1 if it fails.")
    var wait = false

    func run() async throws {
        let formatValue = try format.map { text -> TransformFormat in
            guard let f = TransformFormat(rawValue: text.lowercased()) else { throw ValidationError("--format \(text): expected csv, tsv or jsonl") }
            return f
        }
        let timeoutSeconds = try timeout.map { text -> Double in
            guard let d = DurationText.parse(text) else { throw ValidationError("--timeout \(text): expected a duration like 30s, 10m, 2h") }
            return d.seconds
        }
        let keepColumns = keep.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
        let plane = try await global.controlPlane()
        // Paths are the user's, relative to where they are: the server (or the local store) gets absolute ones.
        let request = TransformRequest(model: model, input: Self.absolute(input), output: Self.absolute(output), glob: glob, format: formatValue,
                                       header: header, keep: keepColumns, joinInput: joinInput, probabilities: probabilities,
                                       maxErrorRate: maxErrorRate, outputTemplate: outputTemplate, priority: priority, retries: retries,
                                       timeoutSeconds: timeoutSeconds)
        let job = try await plane.submitTransform(request)
        guard wait else {
            if global.json { try printJSON(job) } else { print("submitted transform job \(job.id) (\(job.model), \(job.spec.transform?.files.count ?? 0) file(s), \(job.state.rawValue))") }
            return
        }
        if !global.json { print("submitted transform job \(job.id) (\(job.model):\(job.spec.transform?.version ?? 0), \(job.spec.transform?.files.count ?? 0) file(s))") }
        let final = try await followJob(job.id, plane: plane, json: global.json)
        if global.json { try printJSON(final) }
        guard final.state == .succeeded else {
            throw CommandFailure(message: "job \(final.id) \(final.state.rawValue)" + (final.failureReason.map { ": \($0)" } ?? ""), exitCode: 1)
        }
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") || path.contains("://") { return path }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path).standardizedFileURL.path
    }
}
