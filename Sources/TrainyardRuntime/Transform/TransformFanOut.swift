import Foundation
import TrainyardCore

/// A transform spread over workers: one `transform-part` job per input file, and per byte range
/// of a file larger than `transform.part_mb` (cut at record boundaries found by one pass over
/// the file, quote-aware, so no record is split), the way SageMaker spreads files over
/// instances. Any worker may take a part; the parent's worker scores parts too while it waits,
/// so a single worker still finishes. Once every part has succeeded the parent assembles each
/// file's output from its parts, in order, into the temporary output the commit renames.
///
/// Parts are enqueued with idempotency keys derived from the parent's id and the part's index:
/// a retried parent finds the parts it made before, finished or not, and makes no new ones.
struct TransformFanOut {
    let attempt: AttemptContext
    let transform: TransformSpec
    let version: ModelVersion
    /// Each file's output name (relative to the output folder).
    let outputs: [String]
    /// Where the assembled outputs are written before the commit (`TransformDestination.folder`).
    let folder: String
    /// What the plan reads of each input (objects are copied: whole when they may be cut,
    /// else only their first record).
    let inputs: TransformInputCopies

    var services: TrainyardServices { attempt.services }

    /// One file's parts and what its output starts with.
    struct FilePlan: Sendable {
        var parts: [TransformPart]
        var outputHeader: [UInt8]?
    }

    func run() async throws -> [TransformJobHandler.ScoredFile] {
        var plans: [FilePlan] = []
        var scorers: [String: (header: [UInt8]?, skip: Bool)] = [:]
        var index = 0
        let partBytes = services.configuration.transform.partBytes
        for (i, file) in transform.files.enumerated() {
            // Planning reads past the first record only when the file may be cut into parts.
            let cut = partBytes > 0 && file.bytes > partBytes
            let readable = cut ? try await inputs.whole(file, index: i) : try await inputs.head(file, index: i)
            let layout = try TransformInput.layout(of: readable, transform: transform, maxRecordBytes: services.configuration.transform.maxRecordBytes)
            let key = layout.format.rawValue + "\u{1}" + (layout.firstRecord ?? []).joined(separator: "\u{1}")
            if scorers[key] == nil {
                let scorer = try await TransformJobHandler.openScorer(version, layout: layout, file: file, services)
                scorers[key] = (scorer.outputHeader, scorer.inputHasHeader)
                await scorer.close()
            }
            let (header, skip) = scorers[key]!
            let ranges = try await runBlocking { [transform, services] in
                try TransformPlan.ranges(of: readable, format: layout.format, skipHeader: skip, partBytes: services.configuration.transform.partBytes,
                                         maxRecordBytes: services.configuration.transform.maxRecordBytes, blockBytes: services.configuration.transform.blockBytes,
                                         files: transform.files.count)
            }
            var parts: [TransformPart] = []
            for range in ranges {
                parts.append(TransformPart(parent: attempt.job.id, index: index, file: i, start: range.start, end: range.end, firstLine: range.firstLine))
                index += 1
            }
            plans.append(FilePlan(parts: parts, outputHeader: header))
        }
        let all = plans.flatMap(\.parts)
        attempt.recorder.log("fanned out into \(all.count) part(s) over \(transform.files.count) file(s)")
        let jobs = try await enqueue(all)
        try await waitHelping(jobs)
        return try await assemble(plans)
    }

    func enqueue(_ parts: [TransformPart]) async throws -> [JobID] {
        var ids: [JobID] = []
        let parent = attempt.job
        for part in parts {
            var spec = parent.spec
            var t = transform
            t.files = [transform.files[part.file]]
            t.part = TransformPart(parent: part.parent, index: part.index, file: 0, start: part.start, end: part.end, firstLine: part.firstLine)
            spec.transform = t
            let job = try await services.store.enqueue(EnqueueRequest(kind: .transformPart, spec: spec, priority: parent.priority + 1,
                                                                      submittedBy: parent.submittedBy,
                                                                      idempotencyKey: "transform-part:\(parent.id):\(part.index)"))
            ids.append(job.id)
        }
        return ids
    }

    /// Until every part has ended: scores queued parts here (through the execution shell, so a
    /// part run here is leased, heartbeated and recorded like anywhere else), else waits.
    func waitHelping(_ ids: [JobID]) async throws {
        var open = Set(ids)
        var done: [JobID: Job] = [:]
        let runner = JobRunner(services: services, workerID: attempt.workerID + "+parts")
        var pause = Duration.milliseconds(20)
        while !open.isEmpty {
            if attempt.recorder.isCancelled {
                for id in open { _ = try? await services.store.cancel(id) }
                throw CancellationError()
            }
            try attempt.checkLease()
            for id in open {
                guard let job = try await services.store.job(id) else { throw TrainingFailure("part job \(id) disappeared", retryable: true) }
                if job.state.isTerminal { open.remove(id); done[id] = job }
                if job.state == .failed || job.state == .cancelled {
                    for other in open { _ = try? await services.store.cancel(other) }
                    throw TrainingFailure("part job \(id) \(job.state.rawValue)" + (job.failureReason.map { ": \($0)" } ?? ""), retryable: false)
                }
            }
            reportProgress(done: Array(done.values), total: ids.count)
            if open.isEmpty { break }
            if let lease = try await services.store.dequeue(workerID: runner.workerID, kinds: [.transformPart],
                                                           leaseDuration: services.configuration.leaseDuration) {
                await runner.run(lease, shutdown: { attempt.recorder.isCancelled })
                pause = .milliseconds(20)
                continue
            }
            // Parts are running elsewhere: wait for one to end (a wake-up from this process's
            // store, or a poll for other processes'), backing off to a second.
            await services.wakeup.wait(timeout: pause)
            pause = min(pause * 2, .seconds(1))
        }
    }

    func reportProgress(done: [Job], total: Int) {
        var rows = 0, out = 0, errors = 0
        for job in done {
            rows += job.progress?.rows ?? 0
            out += job.progress?.rowsOut ?? 0
            errors += job.progress?.rowErrors ?? 0
        }
        attempt.recorder.report(JobProgress(message: "\(done.count)/\(total) parts done", rows: rows, rowsOut: out, rowErrors: errors))
    }

    /// Each file's output: its header, then its parts' outputs in order; its errors likewise.
    func assemble(_ plans: [FilePlan]) async throws -> [TransformJobHandler.ScoredFile] {
        let job = attempt.job.id, number = attempt.token.attempt
        var files: [TransformJobHandler.ScoredFile] = []
        let decoder = JSONDecoder()
        for (i, plan) in plans.enumerated() {
            let file = transform.files[i]
            let out = try HashingFileWriter(path: TransformOutput.temporary(outputs[i], in: folder, job: job, attempt: number))
            let errorsPath = TransformOutput.temporary(TransformOutputNames.errors(for: file), in: folder, job: job, attempt: number)
            let errors = try HashingFileWriter(path: errorsPath)
            var totals = BlockedFileScoring.Totals()
            do {
                if let header = plan.outputHeader { try out.write(header) }
                for part in plan.parts {
                    let prefix = ArtifactKeys.transformPart(job, index: part.index)
                    let summary = try decoder.decode(PartSummary.self, from: try await services.artifacts.get(prefix + "summary.json"))
                    try await services.artifacts.read(prefix + "output") { try out.write($0) }
                    if summary.errors > 0 { try await services.artifacts.read(prefix + "errors.jsonl") { try errors.write($0) } }
                    totals.rowsIn += summary.rowsIn
                    totals.rowsOut += summary.rowsOut
                    totals.errors += summary.errors
                    for e in summary.firstErrors where totals.firstErrors.count < 5 { totals.firstErrors.append(e) }
                }
                totals.bytesDone = file.bytes
                let sha = try out.finish()
                _ = try errors.finish()
                if totals.errors == 0 { try? FileManager.default.removeItem(atPath: errorsPath) }
                attempt.recorder.log("\(file.name): \(totals.rowsIn) rows in, \(totals.rowsOut) out, \(totals.errors) errors (\(plan.parts.count) part(s))")
                files.append(.init(input: file, output: outputs[i], temporaryOutput: out.path, temporaryErrors: totals.errors > 0 ? errorsPath : nil,
                                   totals: totals, sha256: sha, bytes: out.bytes))
            } catch {
                out.abandon()
                errors.abandon()
                throw error
            }
        }
        return files
    }
}

/// What a part leaves beside its output for the parent (`summary.json`).
struct PartSummary: Sendable, Codable {
    var rowsIn: Int
    var rowsOut: Int
    var errors: Int
    var firstErrors: [RowError]
}
