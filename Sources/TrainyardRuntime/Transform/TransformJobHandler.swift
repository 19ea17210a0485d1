import Foundation
import TrainyardCore

/// The `transform` job: scores every input file with the pinned model version, writes each
/// file's results under a temporary name in the output folder, and commits them (one rename
/// each, then `_SUCCESS.json`) only once every file has passed its error-rate check. Inputs and
/// outputs in S3 go through the same pipeline: objects are copied into the attempt's work folder
/// (`TransformInputCopies`, checked against the ETags listed at submit) and results uploaded at
/// commit (`TransformDestination`).
///
/// A single file up to `transform.part_mb` is scored right here, on every core. A folder, or a
/// larger file, fans out (`TransformFanOut`): one `transform-part` job per file or byte range,
/// which any worker may take (this one scores parts too while it waits), assembled in order
/// here before the same commit.
struct TransformJobHandler: JobHandler {
    /// Scored files waiting for their commit.
    struct Scored: Sendable {
        var files: [ScoredFile]
        var temporaries: [String]
    }

    struct ScoredFile: Sendable {
        var input: TransformInputFile
        var output: String
        var temporaryOutput: String
        var temporaryErrors: String?
        var totals: BlockedFileScoring.Totals
        var sha256: String
        var bytes: Int64
    }

    func perform(_ attempt: AttemptContext) async throws -> Scored {
        let transform = try Self.transform(of: attempt.job)
        let options = attempt.services.configuration.transform
        let destination = try TransformDestination(transform, attempt)
        let folder = destination.folder
        let outputs = transform.files.map { TransformOutputNames.output(for: $0, template: transform.outputTemplate, job: attempt.job.id, at: attempt.job.createdAt) }
        destination.removeLeftovers(of: attempt.job.id, outputs: outputs + transform.files.map(TransformOutputNames.errors(for:)) + [TransformOutputNames.summary(for: attempt.job.spec)])
        let single = transform.files.count == 1 && (options.partBytes == 0 || transform.files[0].bytes <= options.partBytes)
        let version = try await Self.version(of: transform, job: attempt.job, attempt.services)
        let inputs = TransformInputCopies(attempt: attempt)
        var scored: [ScoredFile]
        if single {
            let readable = try await inputs.whole(transform.files[0], index: 0)
            scored = [try await scoreWhole(transform.files[0], reading: readable, output: outputs[0], folder: folder, transform: transform, version: version, attempt)]
        } else {
            scored = try await TransformFanOut(attempt: attempt, transform: transform, version: version, outputs: outputs, folder: folder, inputs: inputs).run()
        }
        // Rows that failed go to the errors file whatever happens next; the outputs wait for commit.
        for file in scored where file.totals.errors > 0 {
            if let errors = file.temporaryErrors {
                try await destination.commit(errors, to: TransformOutputNames.errors(for: file.input))
            }
        }
        do {
            for file in scored {
                try Self.checkErrorRate(file, transform: transform, errorsFile: destination.location(of: TransformOutputNames.errors(for: file.input)))
            }
        } catch {
            // Nothing but the errors files is written when a file fails.
            for file in scored { try? FileManager.default.removeItem(atPath: file.temporaryOutput) }
            throw error
        }
        return Scored(files: scored, temporaries: scored.map(\.temporaryOutput))
    }

    func commit(_ scored: Scored, _ attempt: AttemptContext) async throws -> Bool {
        let transform = try Self.transform(of: attempt.job)
        let destination = try TransformDestination(transform, attempt)
        try attempt.checkLease()
        for file in scored.files {
            try await destination.commit(file.temporaryOutput, to: file.output)
        }
        let summary = TransformSummary(model: attempt.job.model.rawValue, version: transform.version, job: attempt.job.id, files: scored.files.map { file in
            TransformSummary.File(input: file.input.path, output: file.output, rowsIn: file.totals.rowsIn, rowsOut: file.totals.rowsOut,
                                  errors: file.totals.errors, sha256: file.sha256, bytes: file.bytes,
                                  errorsFile: file.totals.errors > 0 ? TransformOutputNames.errors(for: file.input) : nil)
        }, completedAt: attempt.services.clock.now())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Last: whoever sees the summary sees every output it lists.
        try attempt.checkLease()
        try await destination.write(try encoder.encode(summary), to: TransformOutputNames.summary(for: attempt.job.spec),
                                    job: attempt.job.id, attempt: attempt.token.attempt)
        let final = Self.progress(rowsIn: summary.rowsIn, rowsOut: summary.rowsOut, errors: summary.errors, rate: nil, eta: nil)
        attempt.recorder.log("committed \(scored.files.count) output file(s) to \(transform.output): \(summary.rowsIn) rows in, \(summary.rowsOut) out, \(summary.errors) errors")
        // The totals stay on the job (`jobs show`): the final progress goes in before the job ends.
        _ = try await attempt.services.store.heartbeat(attempt.token, leaseDuration: attempt.services.configuration.leaseDuration, progress: final)
        _ = try await attempt.complete(registration: nil)
        // A fanned-out job's parts are assembled: their staging goes (nothing there for a single file).
        try? await attempt.services.artifacts.deleteAll(under: ArtifactKeys.transformParts(attempt.job.id))
        return true
    }

    // MARK: One whole file, here

    /// Scores `file` (as listed; what the summary names) from `readable` (the same bytes, local).
    func scoreWhole(_ file: TransformInputFile, reading readable: TransformInputFile, output: String, folder: String, transform: TransformSpec,
                    version: ModelVersion, _ attempt: AttemptContext) async throws -> ScoredFile {
        let options = attempt.services.configuration.transform
        let layout = try TransformInput.layout(of: readable, transform: transform, maxRecordBytes: options.maxRecordBytes)
        let scorer = try await Self.openScorer(version, layout: layout, file: file, attempt.services)
        let job = attempt.job.id, number = attempt.token.attempt
        let out = try HashingFileWriter(path: TransformOutput.temporary(output, in: folder, job: job, attempt: number))
        let errorsPath = TransformOutput.temporary(TransformOutputNames.errors(for: file), in: folder, job: job, attempt: number)
        let errors = try HashingFileWriter(path: errorsPath)
        do {
            if let header = scorer.outputHeader { try out.write(header) }
            let totals = try await Self.scoring(scorer, layout.format, options).run(
                path: readable.path, start: 0, end: readable.bytes, firstLine: 1, skipFirstRecord: scorer.inputHasHeader, output: out, errors: errors,
                progress: Self.reporter(attempt.recorder, totalBytes: file.bytes), isCancelled: { attempt.recorder.isCancelled })
            await scorer.close()
            let sha = try out.finish()
            _ = try errors.finish()
            if totals.errors == 0 { try? FileManager.default.removeItem(atPath: errorsPath) }
            attempt.recorder.log("\(file.name): \(totals.rowsIn) rows in, \(totals.rowsOut) out, \(totals.errors) errors")
            return ScoredFile(input: file, output: output, temporaryOutput: out.path, temporaryErrors: totals.errors > 0 ? errorsPath : nil,
                              totals: totals, sha256: sha, bytes: out.bytes)
        } catch {
            await scorer.close()
            out.abandon()
            errors.abandon()
            throw error
        }
    }

    // MARK: Shared with the fan-out

    static func transform(of job: Job) throws -> TransformSpec {
        guard let transform = job.spec.transform else { throw TrainingFailure("job \(job.id) has no transform section", retryable: false) }
        return transform
    }

    static func version(of transform: TransformSpec, job: Job, _ services: TrainyardServices) async throws -> ModelVersion {
        guard let version = try await services.store.version(job.model, transform.version) else {
            throw TrainingFailure("\(job.model):\(transform.version) no longer exists (it was deleted after the transform was submitted)", retryable: false)
        }
        return version
    }

    static func openScorer(_ version: ModelVersion, layout: TransformLayout, file: TransformInputFile, _ services: TrainyardServices) async throws -> any RecordBlockScorer {
        guard let scoring = services.scoring else {
            throw TrainingFailure("this worker cannot score: it was built without serving (transform jobs need a worker started by `trainyard worker` or `up`)", retryable: true)
        }
        do {
            return try await scoring.open(version, layout: layout)
        } catch let error as TrainyardError where error.code == .invalidInput || error.code == .invalidArgument {
            throw TrainingFailure("\(file.name): \(error.message)", retryable: false)
        }
    }

    static func scoring(_ scorer: any RecordBlockScorer, _ format: TransformFormat, _ options: TransformOptions) -> BlockedFileScoring {
        BlockedFileScoring(scorer: scorer, format: format, blockBytes: options.blockBytes, maxRecordBytes: options.maxRecordBytes,
                           parallelism: max(1, ProcessInfo.processInfo.activeProcessorCount))
    }

    static func progress(rowsIn: Int, rowsOut: Int, errors: Int, rate: Double?, eta: Double?) -> JobProgress {
        JobProgress(etaSeconds: eta, rows: rowsIn, rowsOut: rowsOut, rowErrors: errors, rowsPerSecond: rate)
    }

    /// Progress from the totals: rows, rows/s since the start, ETA from the bytes left.
    static func reporter(_ recorder: JobProgressRecorder, totalBytes: Int64, base: BlockedFileScoring.Totals = .init()) -> @Sendable (BlockedFileScoring.Totals) -> Void {
        let started = ContinuousClock.now
        return { totals in
            let elapsed = max(1e-3, (ContinuousClock.now - started).seconds)
            let rate = Double(totals.rowsIn) / elapsed
            let bytesRate = Double(totals.bytesDone) / elapsed
            let eta = bytesRate > 0 ? Double(max(0, totalBytes - totals.bytesDone)) / bytesRate : nil
            recorder.report(progress(rowsIn: base.rowsIn + totals.rowsIn, rowsOut: base.rowsOut + totals.rowsOut, errors: base.errors + totals.errors,
                                     rate: rate, eta: eta))
        }
    }

    /// A file with more bad rows than `max_error_rate` allows fails the job (not retried: the
    /// same rows would fail again); its errors file says which rows and why.
    static func checkErrorRate(_ file: ScoredFile, transform: TransformSpec, errorsFile: String) throws {
        let t = file.totals
        guard t.errors > 0, t.rowsIn > 0 else { return }
        let rate = Double(t.errors) / Double(t.rowsIn)
        guard rate > transform.maxErrorRate else { return }
        let first = t.firstErrors.first.map { "; first: line \($0.line): \($0.reason)" } ?? ""
        throw TrainingFailure("\(file.input.name): \(t.errors) of \(t.rowsIn) rows (\(percent(rate))) could not be scored, above max_error_rate \(percent(transform.maxErrorRate))\(first); every bad row is in \(errorsFile); nothing else was written",
                              retryable: false)
    }

    static func percent(_ fraction: Double) -> String {
        let p = fraction * 100
        return p == p.rounded() ? "\(Int(p)) %" : String(format: "%.2f %%", p)
    }
}
