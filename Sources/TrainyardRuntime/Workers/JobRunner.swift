import Crypto
import Foundation
import Logging
import Synchronization
import TrainyardCore

/// Runs one leased job to its end: prepares inputs, runs the trainer under heartbeat, timeout
/// and cancellation, then writes artifacts first and commits the registry row last.
///
/// Failure handling: a `TrainingFailure` carries its own retryability; any other error is
/// retryable; cancellation is acknowledged as `cancelled`; a lost lease (the job was handed to
/// another worker) abandons the attempt without writing anything more.
public struct JobRunner: Sendable {
    public let services: TrainyardServices
    public let workerID: String
    /// How often progress and logs are flushed and the lease extended.
    public var heartbeatInterval: Duration

    public init(services: TrainyardServices, workerID: String, heartbeatInterval: Duration? = nil) {
        self.services = services
        self.workerID = workerID
        self.heartbeatInterval = heartbeatInterval ?? min(.seconds(1), services.configuration.leaseDuration / 3)
    }

    enum Ending: Sendable {
        case succeeded(TrainingOutput, parentVersion: Int?, incumbent: IncumbentScore?)
        case failed(String, retryable: Bool)
        case cancelled
        case timedOut
        case leaseLost
        case shutdown
    }

    /// Shared between the heartbeat loop, the trainer wait and the attempt's end.
    final class Flags: Sendable {
        private struct State {
            var leaseLost = false
            var cancelRequested = false
            var timedOut = false
            var ended = false
        }
        private let state = Mutex(State())
        var leaseLost: Bool { state.withLock { $0.leaseLost } }
        var cancelRequested: Bool { state.withLock { $0.cancelRequested } }
        var timedOut: Bool { state.withLock { $0.timedOut } }
        /// The attempt's end (success, failure, cancellation, release) is recorded: the lease is
        /// gone, so the heartbeat must not extend it (nor report it lost).
        var ended: Bool { state.withLock { $0.ended } }
        func setTimedOut() { state.withLock { $0.timedOut = true } }
        func setLeaseLost() { state.withLock { $0.leaseLost = true } }
        func setCancelRequested() { state.withLock { $0.cancelRequested = true } }
        func setEnded() { state.withLock { $0.ended = true } }
    }

    /// What one attempt's writes share: the buffered log, the flags, and the lock that keeps
    /// log writes in order.
    struct Attempt: Sendable {
        let lease: Lease
        let recorder: JobProgressRecorder
        let flags: Flags
        let logLock: AsyncLock
        let logger: Logger
        var token: LeaseToken { lease.token }
    }

    /// - Parameter shutdown: returns true once the worker should stop (graceful shutdown with
    ///   the grace period over); the attempt is then released back to the queue.
    public func run(_ lease: Lease, shutdown: @escaping @Sendable () -> Bool = { false }) async {
        let job = lease.job
        var jobLogger = services.logger
        jobLogger[metadataKey: "trainyard.job.id"] = "\(job.id)"
        jobLogger[metadataKey: "trainyard.job.attempt"] = "\(lease.token.attempt)"
        let attempt = Attempt(lease: lease, recorder: JobProgressRecorder(), flags: Flags(), logLock: AsyncLock(), logger: jobLogger)
        let recorder = attempt.recorder, flags = attempt.flags
        // "attempt N of M started on W" is in the job's log already: the store writes it with the
        // lease (JobLifecycle), so a worker killed in its first second still leaves it there.
        let work = AttemptFolders(dataDirectory: services.configuration.dataDirectory).folder(job: job.id, attempt: lease.token.attempt)
        // Created only by those who need it (data, code, warm start, a trainer's files):
        // directory churn is not free, and a no-op job should cost a few transactions.
        defer { if FileManager.default.fileExists(atPath: work.path) { try? FileManager.default.removeItem(at: work) } }

        // The heartbeat runs for the whole attempt, registration included (copying a large model
        // may take longer than the lease), and stops only once the attempt's end is recorded.
        let heartbeat = Task {
            while !Task.isCancelled && !flags.ended {
                try? await Task.sleep(for: heartbeatInterval)
                if Task.isCancelled { break }
                await flush(attempt)
                if flags.leaseLost || flags.cancelRequested || shutdown() { recorder.cancel() }
                if flags.leaseLost { break }
            }
        }
        /// Why a trainer stopped early: its lease was lost, the worker is shutting down, or the
        /// job was cancelled.
        @Sendable func stopped() -> Ending { flags.leaseLost ? .leaseLost : (shutdown() ? .shutdown : .cancelled) }
        let ending: Ending = await withTaskGroup(of: Ending?.self) { group in
            // Ends the trainer's wait as soon as the heartbeat finds the lease lost.
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: heartbeatInterval)
                    if flags.leaseLost { return .leaseLost }
                }
                return nil
            }
            group.addTask {
                do {
                    let run = try await prepare(lease, work: work, recorder: recorder)
                    let trainer = try services.trainers.trainer(for: job.spec.task)
                    let output = try await withTimeout(job.spec.timeout, recorder: recorder, flags: flags) { try await trainer.train(run) }
                    guard let output, !flags.timedOut else { return .timedOut }
                    if recorder.isCancelled { return stopped() }
                    let incumbent = await scoreIncumbent(run, trainer: trainer, recorder: recorder)
                    return .succeeded(output, parentVersion: run.warmStart?.version, incumbent: incumbent)
                } catch _ where flags.timedOut {
                    return .timedOut
                } catch let failure as TrainingFailure {
                    return recorder.isCancelled ? stopped() : .failed(failure.reason, retryable: failure.retryable)
                } catch is CancellationError {
                    return stopped()
                } catch let error as TrainyardError {
                    if recorder.isCancelled { return stopped() }
                    return .failed(error.message, retryable: !error.code.isClientError)
                } catch {
                    if recorder.isCancelled { return stopped() }
                    return .failed(Self.describe(error), retryable: true)
                }
            }
            var result: Ending = .leaseLost
            for await value in group {
                if let value { result = value; break }
            }
            group.cancelAll()
            return result
        }
        let archiveLog = await finish(attempt, ending: ending)
        heartbeat.cancel()
        await heartbeat.value
        // The log is archived beside what a job leaves behind (a version, a failure); every
        // job's log stays queryable in the metadata store either way.
        if archiveLog, let lines = try? await services.store.logs(job.id, after: 0, limit: 1_000_000) {
            let text = lines.map(\.text).joined(separator: "\n") + "\n"
            _ = try? await services.artifacts.put(ArtifactKeys.jobLog(job.id), data: Data(text.utf8))
        }
    }

    /// Runs `body`, returning nil if `timeout` passes first (the recorder is then cancelled so
    /// the trainer stops at its next check).
    func withTimeout(_ timeout: Duration, recorder: JobProgressRecorder, flags: Flags,
                     _ body: @escaping @Sendable () async throws -> TrainingOutput) async throws -> TrainingOutput? {
        try await withThrowingTaskGroup(of: TrainingOutput?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                // Flag first: the trainer may notice the cancellation and throw before this
                // task returns, and that attempt must still be recorded as timed out.
                flags.setTimedOut()
                recorder.cancel()
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            if first == nil {
                // Timed out: give the trainer a moment to notice and stop, then move on.
                return nil
            }
            return first
        }
    }

    /// One heartbeat: writes the lines logged since the last one, extends the lease, learns
    /// about cancellation. A lost lease is said in the job's own log too, not only the worker's.
    func flush(_ attempt: Attempt) async {
        await attempt.logLock.withLock {
            guard !attempt.flags.ended, !attempt.flags.leaseLost else { return }
            let (lines, progress) = attempt.recorder.drain()
            do {
                try await services.store.appendLog(attempt.token.jobID, lines: lines)
                let reply = try await services.store.heartbeat(attempt.token, leaseDuration: services.configuration.leaseDuration, progress: progress)
                if reply.cancelRequested { attempt.flags.setCancelRequested() }
            } catch let error as TrainyardError where error.code == .leaseLost {
                attempt.logger.warning("lease lost; abandoning attempt")
                // appendLog is not fenced by the lease: the line lands whoever holds the job now.
                // Written before the flag is set (the flag ends the attempt, which cancels this
                // heartbeat) and in a task of its own, so that cancellation cannot drop it.
                let line = "attempt \(attempt.token.attempt) on \(workerID) lost its lease (its heartbeat came too late); the attempt is abandoned"
                let store = services.store, jobID = attempt.token.jobID
                await Task { try? await store.appendLog(jobID, lines: [line]) }.value
                attempt.flags.setLeaseLost()
            } catch {
                attempt.logger.warning("heartbeat failed: \(error)")
            }
        }
    }

    /// Downloads data channels, materialises code, and fetches the warm-start parent.
    func prepare(_ lease: Lease, work: URL, recorder: JobProgressRecorder) async throws -> TrainingRun {
        let spec = lease.job.spec
        let inputDir = work.appendingPathComponent("input")
        var inputs: [String: URL] = [:]
        var channels: [(String, String)] = []
        if let train = spec.data.train { channels.append(("train", train)) }
        if case .location(let v) = spec.data.validation { channels.append(("validation", v)) }
        if !channels.isEmpty || spec.staged.contains(where: { $0.key == "code" }) || spec.warmStart != nil {
            try AttemptFolders(dataDirectory: services.configuration.dataDirectory).create(work)
        }
        for (channel, reference) in channels {
            guard let sha = ArtifactKeys.sha256(ofReference: reference) else {
                throw TrainingFailure("data channel \(channel) was not staged (\(reference))", retryable: false)
            }
            let source = spec.staged.first { $0.key == "data.\(channel)" }?.source ?? "data"
            let name = URL(fileURLWithPath: source).lastPathComponent
            let file = inputDir.appendingPathComponent(channel).appendingPathComponent(name.isEmpty ? "data" : name)
            do {
                try await services.artifacts.download(ArtifactKeys.blob(sha256: sha), to: file)
            } catch let error as TrainyardError where error.code == .notFound {
                throw TrainingFailure("staged data for \(channel) (sha256 \(sha.prefix(12))…) is missing from the artifact store", retryable: false)
            }
            guard try Stager.digest(of: file).0 == sha else {
                throw TrainingFailure("staged data for \(channel) is corrupt: its sha256 no longer matches", retryable: false)
            }
            inputs[channel] = file
        }
        var codeDirectory: URL?
        if let code = spec.staged.first(where: { $0.key == "code" }) {
            let dir = work.appendingPathComponent("code")
            try await Stager.materializeCode(sha256: code.sha256, artifacts: services.artifacts, into: dir)
            codeDirectory = dir
        }
        var warmStart: WarmStart?
        if let ws = spec.warmStart {
            let reference: ModelReference
            if let number = Int(ws) { reference = ModelReference(name: spec.name, selector: .version(number)) } else {
                reference = ModelReference(name: spec.name, selector: .alias(try AliasName(ws)))
            }
            do {
                let parent = try await services.store.resolve(reference)
                let dir = work.appendingPathComponent("parent")
                for artifact in parent.manifest.artifacts {
                    let file = dir.appendingPathComponent(artifact.name)
                    try await services.artifacts.download(ArtifactKeys.versionFile(spec.name, parent.version, artifact.name), to: file)
                    guard try Stager.digest(of: file).0 == artifact.sha256 else {
                        throw TrainingFailure("warm start: artifact \(artifact.name) of \(reference) is corrupt (sha256 mismatch)", retryable: false)
                    }
                }
                warmStart = WarmStart(version: parent.version, manifest: parent.manifest, directory: dir)
                recorder.log("warm start from \(spec.name):\(parent.version)")
            } catch let error as TrainyardError where error.code == .notFound {
                // First run of a continuous-training loop: nothing to continue from yet.
                recorder.log("warm start: \(reference) not found; training from scratch")
            }
        }
        let scratch = work.appendingPathComponent("scratch")
        return TrainingRun(jobID: lease.job.id, attempt: lease.token.attempt, spec: spec, inputs: inputs,
                           codeDirectory: codeDirectory, workDirectory: scratch, warmStart: warmStart, progress: recorder)
    }

    /// Records how the attempt ended; returns whether its log is worth archiving.
    func finish(_ attempt: Attempt, ending: Ending) async -> Bool {
        let store = services.store
        let token = attempt.token
        let logger = attempt.logger
        do {
            switch ending {
            case .succeeded(let output, let parentVersion, let incumbent):
                do {
                    let version = try await register(attempt, output: output, parentVersion: parentVersion, incumbent: incumbent)
                    logger.info("job succeeded", metadata: ["trainyard.version": "\(version.map(String.init) ?? "-")"])
                    return version != nil
                } catch let error as TrainyardError where error.code == .leaseLost {
                    throw error
                } catch {
                    // A full, over-quota or read-only disk: said at once with the system's words,
                    // and retried (the reserved version number stays this job's).
                    let reason = "could not register \(attempt.lease.job.spec.name): \(Self.describe(error))"
                    let job = try await recordEnd(attempt, line: "attempt failed: \(reason)") { try await store.fail(token, reason: reason, retryable: true) }
                    logger.warning("registration failed", metadata: ["trainyard.job.state": "\(job.state.rawValue)", "reason": "\(reason)"])
                }
            case .failed(let reason, let retryable):
                let job = try await recordEnd(attempt, line: "attempt failed: \(reason)") { try await store.fail(token, reason: reason, retryable: retryable) }
                logger.info("attempt failed", metadata: ["trainyard.job.state": "\(job.state.rawValue)"])
            case .timedOut:
                let reason = "timed out after \(DurationText.format(attempt.lease.job.spec.timeout))"
                _ = try await recordEnd(attempt, line: reason) { try await store.fail(token, reason: reason, retryable: true) }
            case .cancelled:
                _ = try await recordEnd(attempt, line: "cancelled") { try await store.acknowledgeCancellation(token) }
                return false
            case .shutdown:
                _ = try await recordEnd(attempt, line: "worker shutting down; job returned to the queue") { try await store.release(token) }
                return false
            case .leaseLost:
                logger.warning("lease lost; attempt abandoned")
                return false
            }
        } catch let error as TrainyardError where error.code == .leaseLost {
            logger.warning("lease lost before the attempt could be recorded")
            return false
        } catch {
            logger.error("could not record the end of the attempt: \(error)")
            let reason = "internal error while recording the result: \(Self.describe(error))"
            _ = try? await recordEnd(attempt, line: reason) { try await store.fail(token, reason: reason, retryable: true) }
        }
        return true
    }

    /// Writes the last log lines and then the attempt's end (`transition`), with no heartbeat
    /// in between or after.
    func recordEnd(_ attempt: Attempt, line: String, _ transition: @Sendable () async throws -> Job) async throws -> Job {
        try await attempt.logLock.withLock {
            attempt.recorder.log(line)
            try? await services.store.appendLog(attempt.token.jobID, lines: attempt.recorder.drain().lines)
            let job = try await transition()
            attempt.flags.setEnded()
            return job
        }
    }

    /// Writes the lines logged so far (in order with the heartbeat's writes).
    func flushLogs(_ attempt: Attempt) async {
        await attempt.logLock.withLock {
            try? await services.store.appendLog(attempt.token.jobID, lines: attempt.recorder.drain().lines)
        }
    }

    /// An error as a job's failure reason: the message of our own errors, the system's words
    /// for file-system errors.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as TrainyardError: return error.message
        case let error as TrainingFailure: return error.reason
        case let error as POSIXError: return String(cString: strerror(error.code.rawValue))
        default:
            let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            if let underlying, underlying.domain == NSPOSIXErrorDomain {
                return "\(String(cString: strerror(Int32(underlying.code)))): \(error.localizedDescription)"
            }
            return "\(error)"
        }
    }

    /// For `promote` with a validation file: the alias's current version scored on that file,
    /// so promotion compares both versions on the same rows. nil when there is no such file
    /// (a held-out fraction lives inside the learner), no incumbent, or the trainer cannot score.
    func scoreIncumbent(_ run: TrainingRun, trainer: any Trainer, recorder: JobProgressRecorder) async -> IncumbentScore? {
        guard let promote = run.spec.promote, let data = run.inputs["validation"] else { return nil }
        guard let current = try? await services.store.resolve(ModelReference(name: run.spec.name, selector: .alias(promote.alias))),
              current.manifest.task == run.spec.task else { return nil }
        do {
            guard let value = try await trainer.score(current, data: data, spec: run.spec, artifacts: services.artifacts)?[promote.metric] else { return nil }
            recorder.log("\(run.spec.name):\(current.version) (\(promote.alias)) scores \(promote.metric)=\(String(format: "%.6g", value)) on this job's validation data")
            return IncumbentScore(version: current.version, metric: promote.metric, value: value)
        } catch {
            recorder.log("could not score \(run.spec.name):\(current.version) on this job's validation data (\(error)); promotion compares stored metrics")
            return nil
        }
    }

    /// Artifacts first (each with its digest), then `manifest.json`, all into this attempt's own
    /// staging area; then the whole version is published in one step (put-if-absent), and the
    /// registry row is committed last: no reader ever sees a version whose files are not all in
    /// place, and an attempt whose lease was lost while it wrote can never overwrite the files of
    /// the version a later attempt registered (`VersionPublication`). The heartbeat keeps the
    /// lease meanwhile; once it is lost nothing more is written.
    func register(_ attempt: Attempt, output: TrainingOutput, parentVersion: Int?, incumbent: IncumbentScore? = nil) async throws -> Int? {
        let lease = attempt.lease
        let recorder = attempt.recorder
        let spec = lease.job.spec
        guard !output.artifacts.isEmpty else {
            // Nothing was produced, so there is nothing to version: the job just succeeds.
            recorder.log("the trainer produced no artifacts: no version registered")
            _ = try await completeFenced(attempt, registration: nil)
            return nil
        }
        let number = try await services.store.reserveVersion(lease.token)
        let publication = VersionPublication(artifacts: services.artifacts, store: services.store, token: lease.token,
                                             model: spec.name, version: number, leaseDuration: services.configuration.leaseDuration)
        try await publication.clearStaging()
        let manifest: Manifest
        do {
            var entries: [ArtifactEntry] = []
            for (name, file) in output.artifacts.sorted(by: { $0.key < $1.key }) {
                try checkLease(attempt)
                let stored = try await services.artifacts.put(publication.staging + name, file: file)
                entries.append(ArtifactEntry(name: name, sha256: stored.sha256, bytes: stored.bytes))
            }
            let lineage = Lineage(jobID: lease.job.id, attempt: lease.token.attempt,
                                  data: spec.staged.filter { $0.key != "code" }, code: spec.staged.first { $0.key == "code" },
                                  parentVersion: parentVersion, createdAt: services.clock.now(), worker: workerID)
            manifest = Manifest(model: spec.name, version: number, task: spec.task, algorithm: output.algorithm,
                                inputSchema: output.inputSchema, outputSchema: output.outputSchema, params: output.params,
                                metrics: output.metrics, history: output.history, lineage: lineage, artifacts: entries,
                                serve: spec.serve, tags: spec.tags)
            try checkLease(attempt)
            try await services.artifacts.put(publication.staging + "manifest.json", data: try JSON.encode(manifest, pretty: true))
            try checkLease(attempt)
            do {
                try await publication.publish()
            } catch let error as TrainyardError where error.code == .leaseLost {
                // Said in the job's own log (appendLog is not fenced), not only in the worker's.
                let line = "attempt \(lease.token.attempt) on \(workerID) lost its lease before publishing: \(error.message)"
                let store = services.store, jobID = lease.job.id
                await Task { try? await store.appendLog(jobID, lines: [line]) }.value
                throw error
            }
        } catch {
            // A full disk, a lost lease: nothing of this attempt stays staged.
            await publication.discardStaging()
            throw error
        }
        let metricsText = output.metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%.6g", $0.value))" }.joined(separator: " ")
        recorder.log("registered \(spec.name):\(number) \(metricsText)")
        let outcome = try await completeFenced(attempt, registration: VersionRegistration(manifest: manifest, promote: spec.promote, incumbent: incumbent))
        if let note = outcome.promotionNote { try? await services.store.appendLog(lease.job.id, lines: [note]) }
        return outcome.version
    }

    /// The fenced `complete`, with the last log lines, after which no heartbeat runs.
    func completeFenced(_ attempt: Attempt, registration: VersionRegistration?) async throws -> CompletionOutcome {
        try await attempt.logLock.withLock {
            let outcome = try await services.store.complete(attempt.token, registration: registration, finalLog: attempt.recorder.drain().lines)
            attempt.flags.setEnded()
            return outcome
        }
    }

    func checkLease(_ attempt: Attempt) throws {
        guard !attempt.flags.leaseLost else {
            throw TrainyardError(.leaseLost, "job \(attempt.token.jobID): attempt \(attempt.token.attempt) lost its lease during registration")
        }
    }
}
