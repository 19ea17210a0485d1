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
///
/// When the metadata store is unreachable (a heartbeat fails with anything but a lost lease),
/// the attempt keeps running while its lease surely lasts (`LeaseDeadline`); its log lines
/// wait in memory. An attempt that fails while the store does not answer may have failed
/// because of it, so it is never recorded as failed: once the store answers it is released
/// (back to the queue, the attempt not counted). If the store stays away past the lease,
/// nothing is recorded (nothing can be) and the job returns to the queue when its lease
/// expires. Outages are logged once per pool (`StoreHealth`), not per call.
public struct JobRunner: Sendable {
    public let services: TrainyardServices
    public let workerID: String
    /// How often progress and logs are flushed and the lease extended.
    public var heartbeatInterval: Duration
    /// One handler per job kind.
    let handlers: [JobKind: any JobHandler]
    /// Whether the store answers, shared by the pool's workers (one log line per outage).
    let storeHealth: StoreHealth

    public init(services: TrainyardServices, workerID: String, heartbeatInterval: Duration? = nil, storeHealth: StoreHealth? = nil) {
        self.init(services: services, workerID: workerID, heartbeatInterval: heartbeatInterval,
                  handlers: [.train: TrainJobHandler(), .transform: TransformJobHandler(), .transformPart: TransformPartHandler()],
                  storeHealth: storeHealth)
    }

    /// With a chosen set of handlers (tests: a kind a build does not handle).
    init(services: TrainyardServices, workerID: String, heartbeatInterval: Duration? = nil, handlers: [JobKind: any JobHandler],
         storeHealth: StoreHealth? = nil) {
        self.services = services
        self.workerID = workerID
        self.heartbeatInterval = heartbeatInterval ?? min(.seconds(1), services.configuration.leaseDuration / 3)
        self.handlers = handlers
        self.storeHealth = storeHealth ?? StoreHealth(logger: services.logger, metrics: services.workerMetrics)
    }

    /// How long one reachability check of the store may take before it counts as unreachable.
    var pingTimeout: Duration { max(.milliseconds(500), min(.seconds(5), services.configuration.leaseDuration / 4)) }

    /// - Parameters:
    ///   - shutdown: returns true once the worker should stop (graceful shutdown with the grace
    ///     period over); the attempt is then released back to the queue.
    ///   - next: where the attempt's completion leaves the worker's next job when it leases one.
    public func run(_ lease: Lease, shutdown: @escaping @Sendable () -> Bool = { false }) async {
        await run(lease, shutdown: shutdown, next: nil)
    }

    func run(_ lease: Lease, shutdown: @escaping @Sendable () -> Bool, next: NextLeaseSlot?) async {
        let job = lease.job
        var jobLogger = services.logger
        jobLogger[metadataKey: "trainyard.job.id"] = "\(job.id)"
        jobLogger[metadataKey: "trainyard.job.attempt"] = "\(lease.token.attempt)"
        // "attempt N of M started on W" is in the job's log already: the store writes it with the
        // lease (JobLifecycle), so a worker killed in its first second still leaves it there.
        let work = AttemptFolders(dataDirectory: services.configuration.dataDirectory).folder(job: job.id, attempt: lease.token.attempt)
        let attempt = AttemptContext(lease: lease, services: services, workerID: workerID, work: work, recorder: JobProgressRecorder(),
                                     flags: AttemptFlags(), logLock: AsyncLock(), logger: jobLogger, next: next)
        // The lease as the store granted it, measured on this machine's monotonic clock: the
        // lease duration, or what the store says is left if that is less.
        let remaining = min(services.configuration.leaseDuration, .seconds(lease.expiresAt.timeIntervalSince(services.clock.now())))
        let deadline = LeaseDeadline(leasedAt: .now - services.configuration.leaseDuration + remaining,
                                     leaseDuration: services.configuration.leaseDuration)
        services.workerMetrics.recordStarted(job.kind)
        // Created only by those who need it (data, code, warm start, a trainer's files):
        // directory churn is not free, and a no-op job should cost a few transactions.
        defer { if FileManager.default.fileExists(atPath: work.path) { try? FileManager.default.removeItem(at: work) } }

        let archiveLog: Bool
        if let handler = handlers[job.kind] {
            archiveLog = await run(handler, attempt, deadline: deadline, shutdown: shutdown)
        } else {
            archiveLog = await withHeartbeat(attempt, deadline: deadline, shutdown: shutdown, stopWork: nil) {
                await record(attempt, .failed("job kind \(job.kind.rawValue) has no handler in this build", retryable: false) as AttemptEnding<Void>,
                             deadline: deadline, shutdown: shutdown)
            }
        }
        // The log is archived beside what a job leaves behind (a version, a failure); every
        // job's log stays queryable in the metadata store either way.
        if archiveLog, let lines = try? await services.store.logs(job.id, after: 0, limit: 1_000_000) {
            let text = lines.map(\.text).joined(separator: "\n") + "\n"
            _ = try? await services.artifacts.put(ArtifactKeys.jobLog(job.id), data: Data(text.utf8))
        }
    }

    /// The handler's work, stopped when its lease is lost or the spec's timeout passes, then its
    /// commit or the recorded end, with the heartbeat running throughout. Returns whether the
    /// log is worth archiving.
    func run<Handler: JobHandler>(_ handler: Handler, _ attempt: AttemptContext, deadline: LeaseDeadline,
                                  shutdown: @escaping @Sendable () -> Bool) async -> Bool {
        let flags = attempt.flags
        // A task of its own, so the heartbeat can cancel it; this task's cancellation reaches it too.
        let work = Task { () -> Result<Handler.Output?, any Error> in
            do { return .success(try await handler.perform(attempt)) } catch { return .failure(error) }
        }
        return await withHeartbeat(attempt, deadline: deadline, shutdown: shutdown, stopWork: { work.cancel() }) {
            let result = await withTaskCancellationHandler { await work.value } onCancel: { work.cancel() }
            flags.setWorkEnded()
            let ending = AttemptEnding.classify(result, timedOut: flags.timedOut, stopRequested: attempt.recorder.isCancelled,
                                                leaseLost: flags.leaseLost, shuttingDown: shutdown())
            return await end(handler, attempt, ending, deadline: deadline, shutdown: shutdown)
        }
    }

    /// Runs `body` with the attempt's heartbeat beside it (`startHeartbeat`), stopped once `body` returns.
    func withHeartbeat<Value: Sendable>(_ attempt: AttemptContext, deadline: LeaseDeadline, shutdown: @escaping @Sendable () -> Bool,
                                         stopWork: (@Sendable () -> Void)?, _ body: () async -> Value) async -> Value {
        let heartbeat = startHeartbeat(attempt, deadline: deadline, shutdown: shutdown, stopWork: stopWork)
        let result = await body()
        await heartbeat.stop()
        return result
    }

    /// Commits a success, or records another ending. Returns whether the log is worth archiving.
    func end<Handler: JobHandler>(_ handler: Handler, _ attempt: AttemptContext, _ ending: AttemptEnding<Handler.Output>,
                                  deadline: LeaseDeadline, shutdown: @escaping @Sendable () -> Bool) async -> Bool {
        guard case .succeeded(let output) = ending else { return await record(attempt, ending, deadline: deadline, shutdown: shutdown) }
        do {
            let archive = try await handler.commit(output, attempt)
            attempt.logger.info("job succeeded")
            services.workerMetrics.recordFinished(attempt.job.kind, .succeeded)
            return archive
        } catch let error as TrainyardError where error.code == .leaseLost {
            return await record(attempt, AttemptEnding<Void>.leaseLost, deadline: deadline, shutdown: shutdown)
        } catch let failure as TrainingFailure {
            return await record(attempt, AttemptEnding<Void>.failed(failure.reason, retryable: failure.retryable), deadline: deadline, shutdown: shutdown)
        } catch {
            return await record(attempt, AttemptEnding<Void>.failed(describe(error), retryable: true), deadline: deadline, shutdown: shutdown)
        }
    }

    /// The attempt's heartbeat: every interval it flushes logs and progress and extends the
    /// lease (`flush`). It runs for the whole attempt, commit included (copying a large model may
    /// take longer than the lease), until cancelled once the attempt's end is recorded.
    ///
    /// While the work runs, it also watches it: when the lease is lost or the spec's timeout
    /// passes, the work is told to stop (its recorder, and `stopWork`). The one task
    /// and the one sleep at a time serve both: a sleep for the whole timeout would hold its
    /// timer (and memory) for that long after the job ended, an hour by default, for every job
    /// a busy worker ran. The task starts at the first tick (`DeferredHeartbeat`), and sleeps on
    /// the process's shared timer.
    func startHeartbeat(_ attempt: AttemptContext, deadline: LeaseDeadline, shutdown: @escaping @Sendable () -> Bool,
                        stopWork: (@Sendable () -> Void)?) -> DeferredHeartbeat {
        let flags = attempt.flags, recorder = attempt.recorder, interval = heartbeatInterval
        let startedAt = ContinuousClock.now
        let timesOutAt = startedAt + attempt.job.spec.timeout
        // Its task starts at the first tick: the first flush, or the timeout if that comes first.
        let firstTick = stopWork == nil ? startedAt + interval : min(startedAt + interval, timesOutAt)
        return DeferredHeartbeat(firstTick: firstTick) { [self] in
            var lastFlush = startedAt
            while !Task.isCancelled && !flags.ended {
                var pause = interval - (.now - lastFlush)
                if let stopWork, !flags.workEnded, !flags.timedOut {
                    let left = timesOutAt - .now
                    if left <= .zero {
                        // Flagged first: the work may notice and throw at once, and that attempt
                        // must still be recorded as timed out.
                        flags.setTimedOut()
                        recorder.cancel()
                        stopWork()
                    } else {
                        pause = min(pause, left)
                    }
                }
                if pause > .zero {
                    // One timer for every attempt's heartbeat (most short jobs end long before it).
                    await SharedTimer.shared.sleep(for: pause)
                    if Task.isCancelled { break }
                    if .now - lastFlush < interval { continue }  // woken for the timeout
                }
                lastFlush = .now
                await flush(attempt, deadline: deadline)
                if flags.leaseLost || flags.cancelRequested || shutdown() { recorder.cancel() }
                if flags.leaseLost {
                    stopWork?()
                    break
                }
            }
        }
    }

    /// One heartbeat: writes the lines logged since the last one, extends the lease, learns
    /// about cancellation. A lost lease is said in the job's own log too, not only the worker's.
    /// Any other failure is the store's: the lines are kept for the next heartbeat, and once the
    /// lease has surely run out the attempt is abandoned (another worker may hold the job).
    func flush(_ attempt: AttemptContext, deadline: LeaseDeadline) async {
        await attempt.logLock.withLock {
            guard !attempt.flags.ended, !attempt.flags.leaseLost else { return }
            let (lines, progress) = attempt.recorder.drain()
            var written = false
            do {
                try await services.store.appendLog(attempt.token.jobID, lines: lines)
                written = true
                let sentAt = ContinuousClock.now
                let reply = try await services.store.heartbeat(attempt.token, leaseDuration: services.configuration.leaseDuration, progress: progress)
                deadline.extended(sentAt: sentAt)
                storeHealth.recordSuccess()
                if reply.cancelRequested { attempt.flags.setCancelRequested() }
            } catch let error as TrainyardError where error.code == .leaseLost {
                attempt.logger.warning("lease lost; abandoning attempt")
                // Written before the flag is set: the flag ends the attempt, which cancels this heartbeat.
                await attempt.tellJobLog("attempt \(attempt.token.attempt) on \(workerID) lost its lease (its heartbeat came too late); the attempt is abandoned")
                attempt.flags.setLeaseLost()
            } catch {
                attempt.recorder.restore(lines: written ? [] : lines, progress: progress)
                storeHealth.recordFailure(error, during: "heartbeat of job \(attempt.token.jobID)")
                if deadline.hasPassed {
                    // Nothing can be written to the job's log: the store is what is missing.
                    attempt.logger.warning("the lease ran out while the metadata store was unreachable; abandoning the attempt (the job returns to the queue when the store reclaims the lease)")
                    attempt.flags.setLeaseLost()
                }
            }
        }
    }

    /// Whether the store answers one bounded round trip now (told to `storeHealth`).
    func storeAnswers() async -> Bool {
        if let error = await StoreReachability.check(services.store, timeout: pingTimeout) {
            storeHealth.recordFailure(error, during: "reachability check")
            return false
        }
        storeHealth.recordSuccess()
        return true
    }

    /// Waits with backoff until the store answers; false when the lease surely ran out first,
    /// or the worker is shutting down with its grace period over.
    func waitForStore(deadline: LeaseDeadline, shutdown: @Sendable () -> Bool) async -> Bool {
        var backoff = StoreRetryBackoff(maximum: max(.milliseconds(200), min(.seconds(5), services.configuration.leaseDuration / 6)))
        while !deadline.hasPassed && !shutdown() {
            if await storeAnswers() { return true }
            let pause = min(backoff.nextDelay(), max(.zero, deadline.deadline - .now))
            try? await Task.sleep(for: pause)
        }
        return false
    }

    /// Records an attempt that did not succeed; returns whether its log is worth archiving.
    ///
    /// A failure while the store does not answer is not recorded as a failure (it may be the
    /// outage's doing): the job is released once the store answers. Any write that fails because
    /// the store went away is retried, with backoff, while the lease lasts.
    func record<Output>(_ attempt: AttemptContext, _ ending: AttemptEnding<Output>, deadline: LeaseDeadline,
                        shutdown: @escaping @Sendable () -> Bool) async -> Bool {
        let store = services.store, token = attempt.token, logger = attempt.logger, kind = attempt.job.kind
        let metrics = services.workerMetrics
        var ending = ending
        var releasedForOutage: String?
        if case .failed(let reason, _) = ending {
            let storeDown = storeHealth.isDown ? true : !(await storeAnswers())
            if storeDown {
                releasedForOutage = reason
                ending = .shutdown
            }
        }
        do {
            switch ending {
            case .succeeded:
                preconditionFailure("a success is committed by its handler")
            case .failed(let reason, let retryable):
                let job = try await recordEnd(attempt, line: "attempt failed: \(reason)", deadline: deadline, shutdown: shutdown) {
                    try await store.fail(token, reason: reason, retryable: retryable)
                }
                logger.info("attempt failed", metadata: ["trainyard.job.state": "\(job.state.rawValue)", "reason": "\(reason)"])
                metrics.recordFinished(kind, .failed)
            case .timedOut:
                let reason = "timed out after \(DurationText.format(attempt.job.spec.timeout))"
                _ = try await recordEnd(attempt, line: reason, deadline: deadline, shutdown: shutdown) { try await store.fail(token, reason: reason, retryable: true) }
                metrics.recordFinished(kind, .timedOut)
            case .cancelled:
                _ = try await recordEnd(attempt, line: "cancelled", deadline: deadline, shutdown: shutdown) { try await store.acknowledgeCancellation(token) }
                metrics.recordFinished(kind, .cancelled)
                return false
            case .shutdown:
                let line = releasedForOutage.map {
                    "attempt \(token.attempt) failed while the metadata store was unreachable (\($0)); the job returns to the queue without counting the attempt"
                } ?? "worker shutting down; job returned to the queue"
                _ = try await recordEnd(attempt, line: line, deadline: deadline, shutdown: shutdown) { try await store.release(token) }
                if let reason = releasedForOutage {
                    logger.warning("attempt released, not failed: it failed while the metadata store was unreachable", metadata: ["reason": "\(reason)"])
                }
                metrics.recordFinished(kind, .released)
                return false
            case .leaseLost:
                logger.warning("lease lost; attempt abandoned")
                metrics.recordFinished(kind, .leaseLost)
                return false
            }
        } catch let error as TrainyardError where error.code == .leaseLost {
            logger.warning("lease lost before the attempt could be recorded")
            metrics.recordFinished(kind, .leaseLost)
            return false
        } catch is StoreUnreachablePastLease {
            logger.error("the metadata store stayed unreachable until the lease ran out: the attempt's end is not recorded; the job returns to the queue when its lease expires")
            metrics.recordFinished(kind, .unrecorded)
            return false
        } catch {
            logger.error("could not record the end of the attempt: \(error)")
            let reason = "internal error while recording the result: \(describe(error))"
            _ = try? await attempt.recordEnd(line: reason) { try await store.fail(token, reason: reason, retryable: true) }
            metrics.recordFinished(kind, .failed)
        }
        return true
    }

    /// `attempt.recordEnd`, again after the store answers when it failed because the store
    /// went away; `StoreUnreachablePastLease` when the lease surely ran out first.
    func recordEnd(_ attempt: AttemptContext, line: String, deadline: LeaseDeadline, shutdown: @escaping @Sendable () -> Bool,
                   _ transition: @escaping @Sendable () async throws -> Job) async throws -> Job {
        if storeHealth.isDown, !(await waitForStore(deadline: deadline, shutdown: shutdown)) { throw StoreUnreachablePastLease() }
        var line = line
        while true {
            do {
                return try await attempt.recordEnd(line: line, transition)
            } catch let error as TrainyardError where error.code == .leaseLost {
                throw error
            } catch {
                // The store answers: the write itself was refused, which waiting will not change.
                if await storeAnswers() { throw error }
                guard await waitForStore(deadline: deadline, shutdown: shutdown) else { throw StoreUnreachablePastLease() }
                line += " (recorded once the metadata store answered again)"
            }
        }
    }
}

/// The store did not answer before the attempt's lease surely ran out: its end cannot be recorded.
struct StoreUnreachablePastLease: Error {}
