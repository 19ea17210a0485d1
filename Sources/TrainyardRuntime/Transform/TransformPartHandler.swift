import Foundation
import TrainyardCore

/// A `transform-part` job: scores its byte range of one file (records only: the parent writes
/// the output's header) into the attempt's work folder, then stores the output, the errors and
/// their counts under `staging/transforms/{parent}/part-{index}/` for the parent to assemble.
/// The same range always gives the same bytes, so an attempt that stores after a stale one
/// changes nothing. A part of an object (`s3://`) reads its first record and its own range
/// with ranged GETs pinned to the ETag listed at submit, never the whole object.
struct TransformPartHandler: JobHandler {
    struct Scored: Sendable {
        var output: URL
        var errors: URL
        var summary: PartSummary
    }

    func perform(_ attempt: AttemptContext) async throws -> Scored {
        let transform = try TransformJobHandler.transform(of: attempt.job)
        guard let part = transform.part, let file = transform.files.first else {
            throw TrainingFailure("job \(attempt.job.id) is a transform part without its range", retryable: false)
        }
        let options = attempt.services.configuration.transform
        let version = try await TransformJobHandler.version(of: transform, job: attempt.job, attempt.services)
        let inputs = TransformInputCopies(attempt: attempt)
        let layout = try TransformInput.layout(of: try await inputs.head(file, index: 0), transform: transform, maxRecordBytes: options.maxRecordBytes)
        let range = try await inputs.range(file, start: part.start, end: part.end, index: 0)
        let scorer = try await TransformJobHandler.openScorer(version, layout: layout, file: file, attempt.services)
        try AttemptFolders(dataDirectory: attempt.services.configuration.dataDirectory).create(attempt.work)
        let output = try HashingFileWriter(path: attempt.work.appendingPathComponent("output").path)
        let errors = try HashingFileWriter(path: attempt.work.appendingPathComponent("errors.jsonl").path)
        do {
            let totals = try await TransformJobHandler.scoring(scorer, layout.format, options).run(
                path: range.file.path, start: range.start, end: range.end, firstLine: part.firstLine, skipFirstRecord: false, output: output, errors: errors,
                progress: TransformJobHandler.reporter(attempt.recorder, totalBytes: part.end - part.start), isCancelled: { attempt.recorder.isCancelled })
            await scorer.close()
            _ = try output.finish()
            _ = try errors.finish()
            attempt.recorder.log("part \(part.index) of job \(part.parent) (\(file.name), bytes \(part.start)–\(part.end)): \(totals.rowsIn) rows in, \(totals.rowsOut) out, \(totals.errors) errors")
            return Scored(output: URL(fileURLWithPath: output.path), errors: URL(fileURLWithPath: errors.path),
                          summary: PartSummary(rowsIn: totals.rowsIn, rowsOut: totals.rowsOut, errors: totals.errors, firstErrors: totals.firstErrors))
        } catch {
            await scorer.close()
            output.abandon()
            errors.abandon()
            throw error
        }
    }

    func commit(_ scored: Scored, _ attempt: AttemptContext) async throws -> Bool {
        let transform = try TransformJobHandler.transform(of: attempt.job)
        guard let part = transform.part else { throw TrainingFailure("transform part without its range", retryable: false) }
        let prefix = ArtifactKeys.transformPart(part.parent, index: part.index)
        try attempt.checkLease()
        let artifacts = attempt.services.artifacts
        try await artifacts.put(prefix + "output", file: scored.output)
        if scored.summary.errors > 0 { try await artifacts.put(prefix + "errors.jsonl", file: scored.errors) }
        // The summary last: the parent reads a part only through it.
        try await artifacts.put(prefix + "summary.json", data: try JSONEncoder().encode(scored.summary))
        let last = TransformJobHandler.progress(rowsIn: scored.summary.rowsIn, rowsOut: scored.summary.rowsOut, errors: scored.summary.errors, rate: nil, eta: nil)
        _ = try await attempt.services.store.heartbeat(attempt.token, leaseDuration: attempt.services.configuration.leaseDuration, progress: last)
        _ = try await attempt.complete(registration: nil)
        return false
    }
}
