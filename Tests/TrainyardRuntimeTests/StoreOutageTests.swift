import Foundation
import Logging
import Synchronization
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardTestServices
@testable import TrainyardRuntime
import TrainyardTestSupport

/// A trainer that holds each attempt until the test opens its gate, logging a line meanwhile;
/// the attempts listed in `failingAttempts` then fail (not retryable) instead of succeeding.
struct GatedTrainer: Trainer {
    struct State: Sendable {
        var started = 0
        var open = false
        var failingAttempts: Set<Int> = []
        var cancelledAttempts = 0
    }
    let state: Shared<State>

    func validate(_ spec: ParsedSpec) throws(TrainyardError) {}

    func train(_ run: TrainingRun) async throws -> TrainingOutput {
        let attempt = state.withLock { s in s.started += 1; return s.started }
        run.progress.log("attempt \(attempt) is waiting at the gate")
        while !state.withLock({ $0.open }) {
            // Told to stop through the reporter, or by the task's cancellation (which ends the sleep).
            do {
                if run.progress.isCancelled { throw CancellationError() }
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                state.withLock { $0.cancelledAttempts += 1 }
                throw error
            }
        }
        run.progress.log("attempt \(attempt) passed the gate")
        if state.withLock({ $0.failingAttempts.contains(attempt) }) { throw TrainingFailure("attempt \(attempt) fails on purpose", retryable: false) }
        try FileManager.default.createDirectory(at: run.workDirectory, withIntermediateDirectories: true)
        let file = run.workDirectory.appendingPathComponent("model.bin")
        try Data("model".utf8).write(to: file)
        return TrainingOutput(algorithm: "gated", artifacts: ["model.bin": file], metrics: ["loss": 0.5])
    }
}

/// Log records kept for inspection (how often an outage is logged).
final class CapturedLog: Sendable {
    private let messages = Mutex<[String]>([])
    var all: [String] { messages.withLock { $0 } }
    func count(containing text: String) -> Int { all.filter { $0.contains(text) }.count }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { log.messages.withLock { $0.append(event.message.description) } }
    }

    var logger: Logger { Logger(label: "outage-test") { _ in Handler(log: self) } }
}

/// The system on a temporary folder (SQLite + folder) with its metadata store behind a
/// fault-injecting wrapper, and a gated trainer for `task: command`.
struct OutageHarness {
    let root: URL
    let services: TrainyardServices
    let faults: FaultInjectingMetadataStore
    let trainer: Shared<GatedTrainer.State>
    let log: CapturedLog

    init(leaseDuration: Duration = .seconds(30)) async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-outage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var configuration = TrainyardConfiguration()
        configuration.dataDirectory = root.appendingPathComponent("data")
        configuration.leaseDuration = leaseDuration
        trainer = Shared(GatedTrainer.State())
        log = CapturedLog()
        var services = try await TrainyardApp.build(configuration, trainers: TrainerRegistry([.command: GatedTrainer(state: trainer)]),
                                                    retryPolicy: RetryPolicy(baseDelay: .milliseconds(50), maxDelay: .milliseconds(200), jitter: 0),
                                                    logger: log.logger).services
        faults = FaultInjectingMetadataStore(base: services.store)
        services.store = faults
        self.services = services
    }

    var base: any MetadataStore { faults.base }

    func submit(retries: Int = 0) async throws -> Job {
        let folder = root.appendingPathComponent("spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "x,y\n1,2\n".write(to: folder.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        let spec = "name: gated\ntask: command\ncommand: [\"true\"]\ndata: { train: train.csv }\nretries: \(retries)\n"
        return try await services.submitter.submit(spec, options: .init(baseDirectory: folder))
    }

    /// A pool that runs until stopped (the test cancels the task that runs it).
    func startPool(workers: Int = 1) -> Task<Void, any Error> {
        let pool = WorkerPool(services: services, options: .init(workers: workers, minPoll: .milliseconds(20), maxPoll: .milliseconds(100),
                                                                 namePrefix: "outage"))
        return Task { try await pool.run() }
    }

    func eventually(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
        if try await Polling.until(timeout: timeout, every: .milliseconds(25), condition) { return }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    func logText(_ id: JobID) async throws -> String {
        try await base.logs(id, after: 0, limit: 10_000).map(\.text).joined(separator: "\n")
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

@Suite("Workers through a metadata-store outage", .serialized)
struct StoreOutageTests {
    /// Workers that cannot dequeue take nothing, fail nothing and log the outage once (not once
    /// per worker or per attempt); when the store answers again they take the queued job.
    @Test func idleWorkersWaitOutAnOutageAndResume() async throws {
        let h = try await OutageHarness()
        defer { h.remove() }
        let job = try await h.submit()
        h.faults.setUnreachable(true)
        h.trainer.withLock { $0.open = true }
        let pool = h.startPool(workers: 2)
        // Both workers fail to dequeue, then keep checking with backoff.
        try await h.eventually("the workers to retry") { (h.faults.refusedCalls["ping"] ?? 0) >= 4 }
        let waiting = try #require(try await h.base.job(job.id))
        #expect(waiting.state == .queued && waiting.attempt == 0)
        #expect(h.trainer.withLock { $0.started } == 0)

        h.faults.setUnreachable(false)
        try await h.eventually("the job to succeed") { try await h.base.job(job.id)?.state == .succeeded }
        pool.cancel()
        _ = await pool.result
        #expect(h.log.count(containing: "workers take no new job") == 1, "\(h.log.all)")
        #expect(h.log.count(containing: "workers take jobs again") == 1, "\(h.log.all)")
        #expect(h.faults.failCalls == 0)
        let metrics = h.services.workerMetrics.snapshot
        #expect(metrics.started[.train] == 1 && metrics.finished[.train]?[.succeeded] == 1)
        #expect(metrics.storeOutages == 1)
    }

    /// A running job whose heartbeats fail keeps running while its lease lasts; its log lines
    /// wait and reach the job's log once the store answers; it succeeds on its first attempt.
    @Test func runningJobKeepsItsLeaseThroughFailedHeartbeats() async throws {
        let h = try await OutageHarness(leaseDuration: .seconds(60))
        defer { h.remove() }
        let job = try await h.submit()
        let pool = h.startPool()
        try await h.eventually("the attempt to start") { h.trainer.withLock { $0.started } == 1 }
        h.faults.setUnreachable(true)
        try await h.eventually("heartbeats to fail") { (h.faults.refusedCalls["heartbeat"] ?? 0) + (h.faults.refusedCalls["appendLog"] ?? 0) >= 2 }
        h.faults.setUnreachable(false)
        h.trainer.withLock { $0.open = true }
        try await h.eventually("the job to succeed") { try await h.base.job(job.id)?.state == .succeeded }
        pool.cancel()
        _ = await pool.result
        let done = try #require(try await h.base.job(job.id))
        #expect(done.attempt == 1)
        #expect(h.trainer.withLock { $0.cancelledAttempts } == 0)
        let log = try await h.logText(job.id)
        #expect(log.contains("attempt 1 is waiting at the gate") && log.contains("attempt 1 passed the gate"), "\(log)")
        #expect(h.faults.failCalls == 0)
        #expect(h.log.count(containing: "workers take no new job") == 1, "\(h.log.all)")
    }

    /// An attempt that fails while the store does not answer may have failed because of it: it
    /// is released once the store answers (the attempt not counted), never recorded as failed,
    /// so a job without retries runs again and succeeds.
    @Test func failureDuringAnOutageIsReleasedNotFailed() async throws {
        let h = try await OutageHarness(leaseDuration: .seconds(60))
        defer { h.remove() }
        h.trainer.withLock { $0.failingAttempts = [1] }
        let job = try await h.submit(retries: 0)
        let pool = h.startPool()
        try await h.eventually("the attempt to start") { h.trainer.withLock { $0.started } == 1 }
        h.faults.setUnreachable(true)
        h.trainer.withLock { $0.open = true }
        // The attempt fails; recording waits for the store.
        try await h.eventually("the end to wait for the store") { (h.faults.refusedCalls["ping"] ?? 0) >= 2 }
        #expect(try await h.base.job(job.id)?.state == .running)
        h.faults.setUnreachable(false)
        try await h.eventually("the job to run again and succeed") { try await h.base.job(job.id)?.state == .succeeded }
        pool.cancel()
        _ = await pool.result
        #expect(h.faults.failCalls == 0)
        #expect(h.trainer.withLock { $0.started } == 2)
        let done = try #require(try await h.base.job(job.id))
        #expect(done.attempt == 1, "the released attempt is not counted")
        let log = try await h.logText(job.id)
        #expect(log.contains("failed while the metadata store was unreachable"), "\(log)")
        #expect(h.services.workerMetrics.snapshot.finished[.train]?[.released] == 1)
    }

    /// When the store stays away past the lease, the attempt is abandoned (another worker may
    /// hold the job by then) and nothing is recorded by this worker; the store reclaims the
    /// lease and the job runs again.
    @Test func attemptIsAbandonedWhenTheLeaseRunsOutDuringAnOutage() async throws {
        let h = try await OutageHarness(leaseDuration: .seconds(3))
        defer { h.remove() }
        let job = try await h.submit(retries: 1)
        let pool = h.startPool()
        try await h.eventually("the attempt to start") { h.trainer.withLock { $0.started } == 1 }
        h.faults.setUnreachable(true)
        // The trainer sees its cancellation before the worker counts the attempt's end.
        try await h.eventually("the attempt to be abandoned and counted") {
            h.trainer.withLock { $0.cancelledAttempts } == 1 && h.services.workerMetrics.snapshot.finished[.train]?[.leaseLost] != nil
        }
        #expect(h.services.workerMetrics.snapshot.finished[.train]?[.leaseLost] == 1)
        h.trainer.withLock { $0.open = true }
        h.faults.setUnreachable(false)
        try await h.eventually("the job to run again and succeed") { try await h.base.job(job.id)?.state == .succeeded }
        pool.cancel()
        _ = await pool.result
        #expect(h.faults.failCalls == 0)
        #expect(try await h.base.queueCounts().leaseExpiries[.train] == 1)
        #expect(h.log.count(containing: "the lease ran out while the metadata store was unreachable") == 1, "\(h.log.all)")
    }
}
