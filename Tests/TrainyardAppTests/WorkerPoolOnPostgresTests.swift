import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardPostgres
@testable import TrainyardRuntime
import TrainyardTestServices
import TrainyardTestSupport

/// A trainer for `task: command` that trains nothing and runs `onRun` first.
struct HookedTrainer: Trainer {
    let onRun: @Sendable (JobID) async -> Void
    func validate(_ spec: ParsedSpec) throws(TrainyardError) {}
    func train(_ run: TrainingRun) async throws -> TrainingOutput {
        await onRun(run.jobID)
        return TrainingOutput(algorithm: "none", artifacts: [:], metrics: [:])
    }
}

/// The worker pool on PostgreSQL, where a completion leases the worker's next job in the same
/// statement: every job still runs once, and a worker that stops holding such a lease gives
/// the job back.
@Suite("Worker pool on PostgreSQL", .enabled(if: TestService.postgres.shouldRun, Comment(rawValue: TestService.postgres.skipReason)))
struct WorkerPoolOnPostgresTests {
    let root: URL
    let logger: Logger

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-pool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var logger = Logger(label: "pool-test")
        logger.logLevel = .critical
        self.logger = logger
    }

    /// An app on a schema of its own, its store wrapped to count the leases completions granted.
    func build(_ trainer: HookedTrainer) async throws -> (TrainyardServices, FaultInjectingMetadataStore, schema: String, url: URL) {
        let url = try TestService.postgres.require()
        var configuration = TrainyardConfiguration(dataDirectory: root.appendingPathComponent("data"))
        configuration.metadata = .postgres(url: url)
        let (namespace, schema) = try uniqueTestNamespace("pool")
        configuration.namespace = namespace
        // A clock that stands still: the candidates a completion leases from are fresh for as
        // long as a loaded machine takes (freshness is measured on the store's clock).
        var services = try await TrainyardApp.build(configuration, trainers: TrainerRegistry([.command: trainer]), clock: ManualClock(),
                                                    logger: logger).services
        let counting = FaultInjectingMetadataStore(base: services.store)
        services.store = counting
        return (services, counting, schema, url)
    }


    static let spec = Spec(name: try! ModelName("noop"), task: .command, command: ["true"])

    @Test func jobsLeasedByCompletionsRunOnceEach() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let runs = Mutex<[JobID: Int]>([:])
        let (services, counting, schema, url) = try await build(HookedTrainer { id in runs.withLock { $0[id, default: 0] += 1 } })
        var jobs: [Job] = []
        for _ in 0..<40 { jobs.append(try await services.store.enqueue(EnqueueRequest(spec: Self.spec))) }
        let pool = WorkerPool(services: services, options: .init(workers: 2, exitWhenIdle: .milliseconds(600)))
        try await pool.run()

        #expect(runs.withLock { $0 } == Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, 1) }))
        let ended = try await services.store.jobs(JobFilter(limit: 100))
        #expect(ended.count == 40 && ended.allSatisfy { $0.state == .succeeded && $0.attempt == 1 })
        #expect(counting.nextLeasesGranted > 0, "no completion leased the next job")
        try await dropTestSchema(schema, at: url, logger: logger)
    }

    /// Told to stop just as a completion leased its next job, the worker gives that job back
    /// (its attempt not counted, its log saying why); told to stop while a job runs, its
    /// completion leases nothing.
    @Test func aStoppingWorkerGivesBackTheJobItsCompletionLeased() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let running = Mutex<(ServiceGroup, WorkerPool)?>(nil)
        /// Asks the running pool to stop, and returns once it has heard (the group tells its
        /// services in a task of its own).
        @Sendable func stop() async {
            guard let (group, pool) = running.withLock({ $0 }) else { return }
            await group.triggerGracefulShutdown()
            _ = await Polling.until(timeout: .seconds(60), every: .milliseconds(5)) { pool.shuttingDown }
        }
        func runPool(_ services: TrainyardServices) async throws {
            let pool = WorkerPool(services: services, options: .init(workers: 1))
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: pool)], logger: logger))
            running.withLock { $0 = (group, pool) }
            try await group.run()
        }
        let stopDuringThird = Mutex<JobID?>(nil)
        let (services, counting, schema, url) = try await build(HookedTrainer { id in
            if id == stopDuringThird.withLock({ $0 }) { await stop() }
        })
        let first = try await services.store.enqueue(EnqueueRequest(spec: Self.spec))
        let second = try await services.store.enqueue(EnqueueRequest(spec: Self.spec))
        counting.setAfterLeasingCompletion { await stop() }
        try await runPool(services)

        #expect(try await services.store.job(first.id)?.state == .succeeded)
        #expect(counting.nextLeasesGranted == 1, "the completion did not lease the second job")
        let returned = try #require(try await services.store.job(second.id))
        #expect(returned.state == .queued && returned.attempt == 0 && returned.workerID == nil)
        #expect(try await services.store.logs(second.id, after: 0, limit: 10).contains { $0.text.contains("returned to the queue") })

        // Stopping while the job runs: the completion asks for nothing.
        counting.setAfterLeasingCompletion {}
        let third = try await services.store.enqueue(EnqueueRequest(spec: Self.spec))
        let fourth = try await services.store.enqueue(EnqueueRequest(spec: Self.spec))
        stopDuringThird.withLock { $0 = third.id }
        // `second` runs first (it is older), then `third`, which stops the pool while it runs.
        try await runPool(services)
        #expect(try await services.store.job(third.id)?.state == .succeeded)
        #expect(try await services.store.job(second.id)?.state == .succeeded)
        #expect(counting.nextLeasesGranted == 2, "a completion during shutdown leased a job")
        #expect(try await services.store.job(fourth.id)?.state == .queued)
        #expect(try await !services.store.logs(fourth.id, after: 0, limit: 10).contains { $0.text.contains("returned to the queue") })
        try await dropTestSchema(schema, at: url, logger: logger)
    }
}
