import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TrainyardCore

/// N workers taking jobs from the queue: a `Service`, so `trainyard up` runs it beside the HTTP
/// server in one ServiceGroup and `trainyard worker` runs it alone.
///
/// - A worker asks each job's completion to lease its next job in the same write
///   (`NextLeaseSlot`; PostgreSQL does, one round trip for both) and runs that job without a
///   dequeue; stopping before it runs, it gives the job back to the queue.
/// - Idle workers wait on the in-process `WakeupSignal` (enqueues in the same process wake them
///   at once) with a bounded timeout, backing off exponentially up to `maxPoll` so an
///   enqueue from another process (a separate server) is still seen promptly.
/// - Graceful shutdown (SIGTERM/SIGINT): stop taking jobs; a running job gets `shutdownGrace`
///   to finish, then is stopped and its lease released back to the queue.
/// - `exitWhenIdle`: return once no worker has run a job for that long (scale to zero); a
///   worker with nothing to do never stops a sibling in the middle of a job.
/// - At start, what dead attempts left on disk is removed (`removeLeftoversOfDeadAttempts`).
/// - When the metadata store stops answering (a dequeue fails), workers take no job and check
///   it with backoff (`MetadataStore.ping`, `StoreRetryBackoff`) until it answers; the outage
///   is logged once for the pool (`StoreHealth`). Running jobs are handled by `JobRunner`.
public final class WorkerPool: Service, Sendable {
    public struct Options: Sendable {
        public var workers: Int
        public var kinds: Set<JobKind>
        public var exitWhenIdle: Duration?
        public var shutdownGrace: Duration
        public var minPoll: Duration
        public var maxPoll: Duration
        public var namePrefix: String

        public init(workers: Int = 2, kinds: Set<JobKind> = Set(JobKind.allCases), exitWhenIdle: Duration? = nil,
                    shutdownGrace: Duration = .seconds(10), minPoll: Duration = .milliseconds(50), maxPoll: Duration = .seconds(2),
                    namePrefix: String = WorkerPool.defaultNamePrefix) {
            self.workers = workers
            self.kinds = kinds
            self.exitWhenIdle = exitWhenIdle
            self.shutdownGrace = shutdownGrace
            self.minPoll = minPoll
            self.maxPoll = maxPoll
            self.namePrefix = namePrefix
        }
    }

    public static var defaultNamePrefix: String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    public let services: TrainyardServices
    public let options: Options
    private let shutdownState = Mutex<ContinuousClock.Instant?>(nil)

    public init(services: TrainyardServices, options: Options) {
        self.services = services
        self.options = options
        storeHealth = StoreHealth(logger: services.logger, metrics: services.workerMetrics)
    }

    /// Whether the store answers, as this pool's workers see it.
    public let storeHealth: StoreHealth

    /// Jobs run to an end by this pool (for tests and `--exit-when-idle` reporting).
    public let completed = Atomic<Int>(0)
    /// Workers running a job right now: the pool is idle only when none is (a worker with
    /// nothing to do must not stop a sibling in the middle of a long job).
    let running = Atomic<Int>(0)

    public func run() async throws {
        guard options.workers > 0 else { return }
        await removeLeftoversOfDeadAttempts()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<options.workers {
                    group.addTask { await self.workerLoop(index) }
                }
            }
        } onGracefulShutdown: {
            self.shutdownState.withLock { $0 = ContinuousClock.now }
            self.services.wakeup.signal()
        }
    }

    /// What killed workers left behind: the working folders of attempts that no longer run,
    /// the staged version files of jobs that ended, and half-written `.tmp-*` files in the artifact folder untouched for twice the lease (a
    /// live writer touches its file with every chunk, and holds a lease while it writes).
    func removeLeftoversOfDeadAttempts() async {
        let folders = await AttemptFolders(dataDirectory: services.configuration.dataDirectory).removeDead(store: services.store)
        if !folders.isEmpty {
            services.logger.info("removed the working folders of \(folders.count) attempt(s) that no longer run", metadata: ["folders": "\(folders.joined(separator: " "))"])
        }
        do {
            let jobs = try await VersionPublication.removeStagingOfEndedJobs(artifacts: services.artifacts, store: services.store)
            if !jobs.isEmpty {
                services.logger.info("removed the staged version files of \(jobs.count) ended job(s)", metadata: ["jobs": "\(jobs.map(String.init).joined(separator: " "))"])
            }
        } catch {
            services.logger.warning("could not sweep staged version files: \(error)")
        }
        if let files = services.artifacts as? any InterruptedWriteSweeping {
            let stale = files.removeStaleTemporaryFiles(olderThan: services.configuration.leaseDuration.seconds * 2, now: Date())
            if stale.files > 0 {
                services.logger.info("removed \(stale.files) stale temporary artifact file(s) (\(stale.bytes) bytes) left by interrupted writes")
            }
        }
    }

    var shuttingDown: Bool { shutdownState.withLock { $0 != nil } }

    /// True once shutdown began and the grace period is over.
    var graceOver: Bool {
        shutdownState.withLock { started in
            guard let started else { return false }
            return ContinuousClock.now - started >= options.shutdownGrace
        }
    }

    func workerLoop(_ index: Int) async {
        let workerID = "\(options.namePrefix)-w\(index)"
        var logger = services.logger
        logger[metadataKey: "trainyard.worker"] = "\(workerID)"
        let runner = JobRunner(services: services, workerID: workerID, storeHealth: storeHealth)
        var poll = options.minPoll
        var idleSince = ContinuousClock.now
        // The next job, leased by the last one's completion (one round trip for both).
        var carried: Lease?
        while !shuttingDown && !Task.isCancelled {
            let lease: Lease?
            do {
                if let held = carried {
                    carried = nil
                    lease = try await stillHeld(held)
                } else {
                    lease = try await services.store.dequeue(workerID: workerID, kinds: options.kinds, leaseDuration: services.configuration.leaseDuration)
                    storeHealth.recordSuccess()
                }
            } catch is CancellationError {
                break  // the pool is stopping (a CLI's `--wait` ended): not a failure
            } catch {
                storeHealth.recordFailure(error, during: "dequeue")
                await waitForStore()
                // Time without the store is not idle time: the queue may be full.
                idleSince = ContinuousClock.now
                poll = options.minPoll
                continue
            }
            if let lease {
                running.add(1, ordering: .relaxed)
                let next = NextLeaseSlot(NextLeaseRequest(workerID: workerID, kinds: options.kinds, leaseDuration: services.configuration.leaseDuration),
                                         wanted: { [self] in !shuttingDown })
                await runner.run(lease, shutdown: { [self] in graceOver }, next: next)
                carried = next.take()
                running.subtract(1, ordering: .relaxed)
                completed.add(1, ordering: .relaxed)
                poll = options.minPoll
                idleSince = ContinuousClock.now
                continue
            }
            if let limit = options.exitWhenIdle, ContinuousClock.now - idleSince >= limit, running.load(ordering: .relaxed) == 0 {
                logger.info("idle for \(DurationText.format(limit)); exiting")
                // Stop the sibling workers too: the pool is idle as a whole.
                shutdownState.withLock { if $0 == nil { $0 = ContinuousClock.now } }
                services.wakeup.signal()
                return
            }
            var wait = poll
            if let next = try? await services.store.nextWakeup() {
                let until = next.timeIntervalSince(services.clock.now())
                if until > 0 { wait = min(wait, .milliseconds(Int64(until * 1000) + 1)) }
            }
            await services.wakeup.wait(timeout: wait)
            poll = min(poll * 2, options.maxPoll)
        }
        // Stopping with a job the last completion leased: it goes back to the queue now.
        if let carried { await release(carried, logger: logger) }
    }

    /// A lease a completion handed over, as it stands when its job is about to run: the attempt's
    /// end took time after the lease was written (archiving a log, removing files), so one with
    /// less than half its duration left is extended first; nil when it was lost meanwhile (the
    /// worker dequeues instead).
    func stillHeld(_ lease: Lease) async throws -> Lease? {
        let duration = services.configuration.leaseDuration
        guard lease.expiresAt.timeIntervalSince(services.clock.now()) < (duration / 2).seconds else { return lease }
        do {
            let reply = try await services.store.heartbeat(lease.token, leaseDuration: duration, progress: nil)
            var extended = lease
            extended.expiresAt = reply.expiresAt
            return extended
        } catch let error as TrainyardError where error.code == .leaseLost || error.code == .notFound {
            return nil
        }
    }

    /// Gives a job leased by a completion back to the queue when the worker stops before running
    /// it (without counting an attempt; its log says so), in a task of its own so the pool's
    /// cancellation cannot drop it; a release that fails leaves the job to its lease's expiry.
    func release(_ lease: Lease, logger: Logger) async {
        let store = services.store
        await Task {
            do {
                try? await store.appendLog(lease.job.id, lines: ["the worker stopped before running the job; job returned to the queue"])
                _ = try await store.release(lease.token)
                logger.info("job \(lease.job.id), leased for this worker's next run, returned to the queue")
            } catch {
                logger.warning("could not return job \(lease.job.id) to the queue (it returns when its lease expires): \(error)")
            }
        }.value
    }

    /// Checks the store with backoff until it answers, or the pool stops. Shutdown wakes the
    /// wait (`wakeup.signal()`), so a stopping worker does not sit out a long backoff.
    func waitForStore() async {
        var backoff = StoreRetryBackoff()
        let timeout = max(.milliseconds(500), min(.seconds(5), services.configuration.leaseDuration / 4))
        while !shuttingDown && !Task.isCancelled {
            await services.wakeup.wait(timeout: backoff.nextDelay())
            if shuttingDown || Task.isCancelled { return }
            if let error = await StoreReachability.check(services.store, timeout: timeout) {
                storeHealth.recordFailure(error, during: "reachability check")
            } else {
                storeHealth.recordSuccess()
                return
            }
        }
    }
}
