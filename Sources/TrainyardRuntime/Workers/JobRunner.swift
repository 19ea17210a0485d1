import Foundation
import Logging
import TrainyardCore

/// The job execution shell: runs one leased job to its end, whatever its kind. It owns the
/// lease (heartbeat, lost-lease detection), the spec's timeout, cancellation and graceful
/// shutdown, classifies how the attempt ended (`AttemptEnding.classify`, no I/O) and records it.
/// What the job does is its kind's `JobHandler` (`TrainJobHandler` for `train`,
/// `TransformJobHandler` and `TransformPartHandler` for transforms); a new kind is
/// a new handler in `handlers`, with no change here.
///
/// Failure handling: a `TrainingFailure` carries its own retryability; any other error is
/// retryable; cancellation is acknowledged as `cancelled`; a lost lease (the job was handed to
/// another worker) abandons the attempt without writing anything more.
public struct JobRunner: Sendable {
    public let services: TrainyardServices
    public let workerID: String
    /// How often progress and logs are flushed and the lease extended.
    public var heartbeatInterval: Duration
    /// One handler per job kind.
    let handlers: [JobKind: any JobHandler]

    public init(services: TrainyardServices, workerID: String, heartbeatInterval: Duration? = nil) {
        self.init(services: services, workerID: workerID, heartbeatInterval: heartbeatInterval,
                  handlers: [.train: TrainJobHandler(), .transform: TransformJobHandler(), .transformPart: TransformPartHandler()])
    }

    /// With a chosen set of handlers (tests: a kind a build does not handle).
    init(services: TrainyardServices, workerID: String, heartbeatInterval: Duration? = nil, handlers: [JobKind: any JobHandler]) {
        self.services = services
        self.workerID = workerID
        self.heartbeatInterval = heartbeatInterval ?? min(.seconds(1), services.configuration.leaseDuration / 3)
        self.handlers = handlers
    }

    /// - Parameter shutdown: returns true once the worker should stop (graceful shutdown with
    ///   the grace period over); the attempt is then released back to the queue.
    public func run(_ lease: Lease, shutdown: @escaping @Sendable () -> Bool = { false }) async {
        let job = lease.job
        var jobLogger = services.logger
        jobLogger[metadataKey: "trainyard.job.id"] = "\(job.id)"
        jobLogger[metadataKey: "trainyard.job.attempt"] = "\(lease.token.attempt)"
        // "attempt N of M started on W" is in the job's log already: the store writes it with the
        // lease (JobLifecycle), so a worker killed in its first second still leaves it there.
        let work = AttemptFolders(dataDirectory: services.configuration.dataDirectory).folder(job: job.id, attempt: lease.token.attempt)
        let attempt = AttemptContext(lease: lease, services: services, workerID: workerID, work: work, recorder: JobProgressRecorder(),
                                     flags: AttemptFlags(), logLock: AsyncLock(), logger: jobLogger)
        // Created only by those who need it (data, code, warm start, a trainer's files):
        // directory churn is not free, and a no-op job should cost a few transactions.
        defer { if FileManager.default.fileExists(atPath: work.path) { try? FileManager.default.removeItem(at: work) } }

        // The heartbeat runs for the whole attempt, commit included (copying a large model may
        // take longer than the lease), and stops only once the attempt's end is recorded.
        let heartbeat = Task {
            while !Task.isCancelled && !attempt.flags.ended {
                try? await Task.sleep(for: heartbeatInterval)
                if Task.isCancelled { break }
                await flush(attempt)
                if attempt.flags.leaseLost || attempt.flags.cancelRequested || shutdown() { attempt.recorder.cancel() }
                if attempt.flags.leaseLost { break }
            }
        }
        let archiveLog: Bool
        if let handler = handlers[job.kind] {
            archiveLog = await run(handler, attempt, shutdown: shutdown)
        } else {
            archiveLog = await record(attempt, .failed("job kind \(job.kind.rawValue) has no handler in this build", retryable: false) as AttemptEnding<Void>)
        }
        heartbeat.cancel()
        await heartbeat.value
        // The log is archived beside what a job leaves behind (a version, a failure); every
        // job's log stays queryable in the metadata store either way.
        if archiveLog, let lines = try? await services.store.logs(job.id, after: 0, limit: 1_000_000) {
            let text = lines.map(\.text).joined(separator: "\n") + "\n"
            _ = try? await services.artifacts.put(ArtifactKeys.jobLog(job.id), data: Data(text.utf8))
        }
    }

    /// The handler's work raced against a lost lease and bounded by the spec's timeout, then
    /// its commit or the recorded end. Returns whether the log is worth archiving.
    func run<Handler: JobHandler>(_ handler: Handler, _ attempt: AttemptContext, shutdown: @escaping @Sendable () -> Bool) async -> Bool {
        let flags = attempt.flags, recorder = attempt.recorder, interval = heartbeatInterval
        let timeout = attempt.job.spec.timeout
        let ending: AttemptEnding<Handler.Output> = await withTaskGroup(of: AttemptEnding<Handler.Output>?.self) { group in
            // Ends the work's wait as soon as the heartbeat finds the lease lost.
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if flags.leaseLost { return .leaseLost }
                }
                return nil
            }
            group.addTask {
                let result: Result<Handler.Output?, any Error>
                do {
                    result = .success(try await Self.withTimeout(timeout, recorder: recorder, flags: flags) { try await handler.perform(attempt) })
                } catch {
                    result = .failure(error)
                }
                return AttemptEnding.classify(result, timedOut: flags.timedOut, stopRequested: recorder.isCancelled,
                                              leaseLost: flags.leaseLost, shuttingDown: shutdown())
            }
            var result: AttemptEnding<Handler.Output> = .leaseLost
            for await value in group {
                if let value { result = value; break }
            }
            group.cancelAll()
            return result
        }
        guard case .succeeded(let output) = ending else { return await record(attempt, ending) }
        do {
            let archive = try await handler.commit(output, attempt)
            attempt.logger.info("job succeeded")
            return archive
        } catch let error as TrainyardError where error.code == .leaseLost {
            return await record(attempt, AttemptEnding<Void>.leaseLost)
        } catch let failure as TrainingFailure {
            return await record(attempt, AttemptEnding<Void>.failed(failure.reason, retryable: failure.retryable))
        } catch {
            return await record(attempt, AttemptEnding<Void>.failed(describe(error), retryable: true))
        }
    }

    /// Runs `body`, returning nil if `timeout` passes first (the recorder is then cancelled so
    /// the work stops at its next check).
    static func withTimeout<Output: Sendable>(_ timeout: Duration, recorder: JobProgressRecorder, flags: AttemptFlags,
                                              _ body: @escaping @Sendable () async throws -> Output) async throws -> Output? {
        try await withThrowingTaskGroup(of: Output?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                // Flag first: the work may notice the cancellation and throw before this task
                // returns, and that attempt must still be recorded as timed out.
                flags.setTimedOut()
                recorder.cancel()
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
    }

    /// One heartbeat: writes the lines logged since the last one, extends the lease, learns
    /// about cancellation. A lost lease is said in the job's own log too, not only the worker's.
    func flush(_ attempt: AttemptContext) async {
        await attempt.logLock.withLock {
            guard !attempt.flags.ended, !attempt.flags.leaseLost else { return }
            let (lines, progress) = attempt.recorder.drain()
            do {
                try await services.store.appendLog(attempt.token.jobID, lines: lines)
                let reply = try await services.store.heartbeat(attempt.token, leaseDuration: services.configuration.leaseDuration, progress: progress)
                if reply.cancelRequested { attempt.flags.setCancelRequested() }
            } catch let error as TrainyardError where error.code == .leaseLost {
                attempt.logger.warning("lease lost; abandoning attempt")
                // Written before the flag is set: the flag ends the attempt, which cancels this heartbeat.
                await attempt.tellJobLog("attempt \(attempt.token.attempt) on \(workerID) lost its lease (its heartbeat came too late); the attempt is abandoned")
                attempt.flags.setLeaseLost()
            } catch {
                attempt.logger.warning("heartbeat failed: \(error)")
            }
        }
    }

    /// Records an attempt that did not succeed; returns whether its log is worth archiving.
    func record<Output>(_ attempt: AttemptContext, _ ending: AttemptEnding<Output>) async -> Bool {
        let store = services.store, token = attempt.token, logger = attempt.logger
        do {
            switch ending {
            case .succeeded:
                preconditionFailure("a success is committed by its handler")
            case .failed(let reason, let retryable):
                let job = try await attempt.recordEnd(line: "attempt failed: \(reason)") { try await store.fail(token, reason: reason, retryable: retryable) }
                logger.info("attempt failed", metadata: ["trainyard.job.state": "\(job.state.rawValue)", "reason": "\(reason)"])
            case .timedOut:
                let reason = "timed out after \(DurationText.format(attempt.job.spec.timeout))"
                _ = try await attempt.recordEnd(line: reason) { try await store.fail(token, reason: reason, retryable: true) }
            case .cancelled:
                _ = try await attempt.recordEnd(line: "cancelled") { try await store.acknowledgeCancellation(token) }
                return false
            case .shutdown:
                _ = try await attempt.recordEnd(line: "worker shutting down; job returned to the queue") { try await store.release(token) }
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
            let reason = "internal error while recording the result: \(describe(error))"
            _ = try? await attempt.recordEnd(line: reason) { try await store.fail(token, reason: reason, retryable: true) }
        }
        return true
    }
}
