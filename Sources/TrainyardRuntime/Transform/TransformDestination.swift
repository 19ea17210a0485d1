import Foundation
import TrainyardCore

/// Where a transform's results are committed: its output folder, or an `s3://bucket/prefix/`.
///
/// Results are always written first as local temporary files (`folder`) by the same pipeline.
/// For a folder those files are in the output folder itself and `commit` renames each into its
/// final name. For a prefix they are in the attempt's work folder, and `commit` uploads each to
/// `prefix + name` (one PUT, or a multipart upload completed only once every part is in: S3
/// shows the whole object or none of it), the errors files as they are decided and
/// `_SUCCESS.json` last, so a reader that sees the summary sees every output it lists. Names are
/// deterministic, so a retried attempt overwrites what an earlier one uploaded: nothing is
/// duplicated.
struct TransformDestination {
    /// The output as the job names it: a folder path, or an `s3://` prefix ending in `/`.
    let output: String
    /// Where this attempt writes results before they are committed.
    let folder: String
    /// The store of an `s3://` output; nil for a folder.
    let store: (any DataObjectStore)?

    init(_ transform: TransformSpec, _ attempt: AttemptContext) throws {
        output = transform.output
        guard case .success(.s3) = DataLocation.parse(transform.output, base: nil) else {
            folder = transform.output
            store = nil
            return
        }
        guard let objects = attempt.services.dataObjects, objects.serves(transform.output) else {
            throw TrainingFailure("output \(transform.output): this worker has no S3 configured (TRAINYARD_S3_ENDPOINT or AWS's endpoint settings, and AWS credentials)",
                                  retryable: false)
        }
        store = objects
        try AttemptFolders(dataDirectory: attempt.services.configuration.dataDirectory).create(attempt.work)
        let staging = attempt.work.appendingPathComponent("output", isDirectory: true)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        folder = staging.path
    }

    /// Removes what earlier attempts of `job` left in the output folder (a prefix has nothing to
    /// remove: this attempt's temporaries are in its own work folder, and a retry overwrites).
    func removeLeftovers(of job: JobID, outputs: [String]) {
        if store == nil { TransformOutput.removeLeftovers(of: job, outputs: outputs, in: folder) }
    }

    /// Commits the finished temporary file as `relative`.
    func commit(_ temporary: String, to relative: String) async throws {
        guard let store else {
            try TransformOutput.commit(temporary, to: relative, in: folder)
            return
        }
        try await store.write(output + relative, from: URL(fileURLWithPath: temporary))
        try? FileManager.default.removeItem(atPath: temporary)
    }

    /// Writes `data` as `relative` atomically.
    func write(_ data: Data, to relative: String, job: JobID, attempt: Int) async throws {
        guard let store else {
            try TransformOutput.writeAtomically(data, to: relative, in: folder, job: job, attempt: attempt)
            return
        }
        try await store.write(output + relative, data: data)
    }

    /// Where `relative` is once committed, for messages.
    func location(of relative: String) -> String {
        store == nil ? URL(fileURLWithPath: folder).appendingPathComponent(relative).path : output + relative
    }
}
