import Foundation
import Testing
import TrainyardCore

/// The behaviour every `MetadataStore` backend must show, written once over `any MetadataStore`.
///
/// Each backend gives a factory (given the clock the store must read, the retry policy it must
/// apply and the closure it calls when work may have become available); `MetadataStoreContractTests`
/// runs every check against every backend in `MetadataBackend`.
/// The retry policy used is deterministic: 10 s, doubling, capped at 100 s, no jitter.
struct MetadataStoreContract: Sendable {
    typealias Factory = @Sendable (_ clock: ManualClock, _ retryPolicy: RetryPolicy, _ onChange: @escaping @Sendable () -> Void) async throws
        -> any MetadataStore

    let factory: Factory
    static let retryPolicy = RetryPolicy(baseDelay: .seconds(10), maxDelay: .seconds(100), jitter: 0)
    static let long: Duration = .seconds(3600)

    func make() async throws -> (any MetadataStore, ManualClock) {
        let clock = ManualClock()
        return (try await factory(clock, Self.retryPolicy, {}), clock)
    }

    /// A store whose `onChange` calls are counted.
    func makeCounting() async throws -> (any MetadataStore, ManualClock, Counter) {
        let clock = ManualClock()
        let counter = Counter()
        return (try await factory(clock, Self.retryPolicy, { counter.increment() }), clock, counter)
    }

    static func spec(_ name: String = "iris", retries: Int = 1, priority: Int = 0,
                     promote: Promotion? = nil, task: TaskKind = .command) -> Spec {
        Spec(name: try! ModelName(name), task: task, promote: promote, retries: retries, priority: priority,
             command: ["python3", "train.py"])
    }

    static func registration(_ lease: Lease, version: Int, metrics: [String: Double] = [:], promote: Promotion? = nil,
                             incumbent: IncumbentScore? = nil, at date: Date) -> VersionRegistration {
        let manifest = Manifest(model: lease.job.model, version: version, task: lease.job.spec.task, algorithm: "test",
                                metrics: metrics,
                                lineage: Lineage(jobID: lease.job.id, attempt: lease.token.attempt, data: [], createdAt: date),
                                artifacts: [ArtifactEntry(name: "model.bin", sha256: "00", bytes: 1)])
        return VersionRegistration(manifest: manifest, promote: promote, incumbent: incumbent)
    }

    /// Dequeues, reserves and completes one job of `model` with `metrics`; returns the version.
    @discardableResult
    static func train(_ store: any MetadataStore, _ clock: ManualClock, _ model: String, metrics: [String: Double] = [:],
                      promote: Promotion? = nil, incumbent: IncumbentScore? = nil) async throws -> CompletionOutcome {
        _ = try await store.enqueue(EnqueueRequest(spec: spec(model, promote: promote)))
        let lease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: long))
        let number = try await store.reserveVersion(lease.token)
        return try await store.complete(lease.token, registration: registration(lease, version: number, metrics: metrics,
                                                                                 promote: promote, incumbent: incumbent, at: clock.now()))
    }

    static func expectCode(_ code: TrainyardError.Code, sourceLocation: Testing.SourceLocation = #_sourceLocation,
                           _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected error \(code)", sourceLocation: sourceLocation)
        } catch let error as TrainyardError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected TrainyardError \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Queue

    func dequeueOrder() async throws {
        let (store, clock) = try await make()
        let now = clock.now()
        let a = try await store.enqueue(EnqueueRequest(spec: Self.spec("a")))
        let b = try await store.enqueue(EnqueueRequest(spec: Self.spec("b"), priority: 5))
        let c = try await store.enqueue(EnqueueRequest(spec: Self.spec("c"), runAfter: now.addingTimeInterval(60)))
        let d = try await store.enqueue(EnqueueRequest(spec: Self.spec("d"), runAfter: now.addingTimeInterval(-10)))
        let e = try await store.enqueue(EnqueueRequest(spec: Self.spec("e")))
        #expect(a.state == .queued && a.attempt == 0 && a.maxAttempts == 2)
        #expect(c.runAfter == now.addingTimeInterval(60))

        var order: [JobID] = []
        while let lease = try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: Self.long) {
            order.append(lease.job.id)
            #expect(lease.job.state == .running)
            #expect(lease.job.attempt == 1)
            #expect(lease.token.attempt == 1)
            #expect(lease.job.workerID == "w1")
        }
        #expect(order == [b.id, d.id, a.id, e.id])
        // The delayed job becomes eligible once its time comes.
        let wake = try await store.nextWakeup()
        #expect(wake == now.addingTimeInterval(60))
        clock.advance(by: .seconds(59))
        #expect(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: Self.long) == nil)
        clock.advance(by: .seconds(1))
        let late = try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: Self.long)
        #expect(late?.job.id == c.id)
        // Kinds not asked for are not dequeued.
        _ = try await store.enqueue(EnqueueRequest(kind: .transform, spec: Self.spec("t")))
        #expect(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: Self.long) == nil)
        #expect(try await store.dequeue(workerID: "w1", kinds: [.transform], leaseDuration: Self.long)?.job.kind == .transform)
    }

    func leaseExclusivity() async throws {
        let (store, _) = try await make()
        _ = try await store.enqueue(EnqueueRequest(spec: Self.spec()))
        let first = try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: Self.long)
        let second = try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: Self.long)
        #expect(first != nil)
        #expect(second == nil)

        for i in 0..<200 { _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("m\(i % 7)"))) }
        let leased = try await withThrowingTaskGroup(of: [JobID].self) { group in
            for w in 0..<4 {
                group.addTask {
                    var mine: [JobID] = []
                    while let lease = try await store.dequeue(workerID: "w\(w)", kinds: [.train], leaseDuration: Self.long) {
                        mine.append(lease.job.id)
                    }
                    return mine
                }
            }
            var all: [JobID] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(leased.count == 200)
        #expect(Set(leased).count == 200)
        let running = try await store.jobs(JobFilter(states: [.running], limit: 1000))
        #expect(running.count == 201)
    }

    /// A completion asked to lease the worker's next job leases the job `dequeue` would have
    /// (or none, and `dequeue` then does); a completion with a registration too; a refused
    /// completion leases nothing; with nothing due it leases nothing.
    func completionLeasesTheNextJob() async throws {
        let (store, clock) = try await make()
        let first = try await store.enqueue(EnqueueRequest(spec: Self.spec("one"), priority: 9))
        let second = try await store.enqueue(EnqueueRequest(spec: Self.spec("two"), priority: 5))
        let third = try await store.enqueue(EnqueueRequest(spec: Self.spec("three"), priority: 1))
        let request = NextLeaseRequest(workerID: "w", kinds: [.train], leaseDuration: Self.long)
        let lease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(lease.job.id == first.id)

        /// The lease a completion gave, or the one `dequeue` gives when it gave none.
        func nextLease(_ granted: Lease?) async throws -> Lease {
            if let granted { return granted }
            return try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        }
        let (done, granted) = try await store.complete(lease.token, registration: nil, finalLog: ["done"], leasingNext: request)
        #expect(done.job.state == .succeeded)
        let secondLease = try await nextLease(granted)
        #expect(secondLease.job.id == second.id)
        let running = try #require(try await store.job(second.id))
        #expect(running.state == .running && running.workerID == "w" && running.attempt == 1)
        _ = try await store.heartbeat(secondLease.token, leaseDuration: Self.long, progress: nil)

        let number = try await store.reserveVersion(secondLease.token)
        let (registered, grantedThird) = try await store.complete(
            secondLease.token, registration: Self.registration(secondLease, version: number, at: clock.now()), finalLog: [], leasingNext: request)
        #expect(registered.version == number)
        let thirdLease = try await nextLease(grantedThird)
        #expect(thirdLease.job.id == third.id)

        // Refused (a forged token): nothing is leased, the queued job stays queued.
        let fourth = try await store.enqueue(EnqueueRequest(spec: Self.spec("four")))
        await Self.expectCode(.leaseLost) {
            _ = try await store.complete(LeaseToken(jobID: thirdLease.job.id, token: "forged", attempt: 1), registration: nil, finalLog: [],
                                         leasingNext: request)
        }
        #expect(try await store.job(fourth.id)?.state == .queued)
        let (_, grantedFourth) = try await store.complete(thirdLease.token, registration: nil, finalLog: [], leasingNext: request)
        let fourthLease = try await nextLease(grantedFourth)
        #expect(fourthLease.job.id == fourth.id)
        // Nothing due: nothing leased.
        let (last, none) = try await store.complete(fourthLease.token, registration: nil, finalLog: [], leasingNext: request)
        #expect(last.job.state == .succeeded)
        #expect(none == nil)
        #expect(try await store.jobs(JobFilter()).allSatisfy { $0.state == .succeeded && $0.attempt == 1 })
    }

    func heartbeatExtendsAndExpiredLeasesAreReclaimed() async throws {
        let (store, clock) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec(retries: 1)))
        let lease = try #require(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(lease.expiresAt == clock.now().addingTimeInterval(30))

        clock.advance(by: .seconds(20))
        let progress = JobProgress(epoch: 2, totalEpochs: 10, loss: 0.5, metrics: ["loss": 0.5])
        let reply = try await store.heartbeat(lease.token, leaseDuration: .seconds(30), progress: progress)
        #expect(reply.expiresAt == clock.now().addingTimeInterval(30))
        #expect(!reply.cancelRequested)
        #expect(try await store.job(job.id)?.progress == progress)

        clock.advance(by: .seconds(20)) // 40 s after dequeue, 20 s after the heartbeat: still held
        #expect(try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: .seconds(30)) == nil)
        _ = try await store.heartbeat(lease.token, leaseDuration: .seconds(30), progress: nil)

        clock.advance(by: .seconds(31)) // expired
        #expect(try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: .seconds(30)) == nil) // backoff
        let requeued = try #require(try await store.job(job.id))
        #expect(requeued.state == .queued)
        #expect(requeued.failureReason?.contains("lease expired") == true)
        #expect(requeued.runAfter == clock.now().addingTimeInterval(10))

        clock.advance(by: .seconds(10))
        let second = try #require(try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(second.job.id == job.id)
        #expect(second.token.attempt == 2)
        #expect(second.job.workerID == "w2")
        #expect(second.token != lease.token)

        // The old holder is fenced off from every write.
        let stale = lease.token
        await Self.expectCode(.leaseLost) { _ = try await store.heartbeat(stale, leaseDuration: .seconds(30), progress: nil) }
        await Self.expectCode(.leaseLost) { _ = try await store.complete(stale, registration: nil) }
        await Self.expectCode(.leaseLost) { _ = try await store.fail(stale, reason: "x", retryable: true) }
        await Self.expectCode(.leaseLost) { _ = try await store.reserveVersion(stale) }
        await Self.expectCode(.leaseLost) { _ = try await store.release(stale) }
        await Self.expectCode(.leaseLost) { _ = try await store.acknowledgeCancellation(stale) }
        #expect(try await store.job(job.id)?.state == .running)

        // The last attempt's lease expiring fails the job for good.
        clock.advance(by: .seconds(31))
        #expect(try await store.dequeue(workerID: "w3", kinds: [.train], leaseDuration: .seconds(30)) == nil)
        let failed = try #require(try await store.job(job.id))
        #expect(failed.state == .failed)
        #expect(failed.failureReason?.contains("lease expired") == true)
        #expect(failed.finishedAt != nil)
        await Self.expectCode(.leaseLost) { _ = try await store.heartbeat(second.token, leaseDuration: .seconds(30), progress: nil) }
    }

    /// A job that failed once and then succeeded has no failure reason; the failed attempt is
    /// still told in its log.
    func completeClearsFailureReason() async throws {
        let (store, clock) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec(retries: 1)))
        let first = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        try await store.appendLog(job.id, lines: ["attempt failed: no space left on device while writing models/iris/1/model.bin"])
        let retried = try await store.fail(first.token, reason: "no space left on device while writing models/iris/1/model.bin", retryable: true)
        #expect(retried.state == .queued)
        #expect(retried.failureReason?.contains("no space left") == true)
        clock.advance(by: .seconds(10))
        let second = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        let number = try await store.reserveVersion(second.token)
        let outcome = try await store.complete(second.token, registration: Self.registration(second, version: number, at: clock.now()))
        #expect(outcome.job.state == .succeeded)
        #expect(outcome.job.failureReason == nil)
        #expect(try await store.job(job.id)?.failureReason == nil)
        let log = try await store.logs(job.id, after: 0, limit: 100).map(\.text)
        #expect(log.contains("attempt failed: no space left on device while writing models/iris/1/model.bin"))
    }

    /// Reclaiming an expired lease says so in the job's own log (the worker that lost it may be
    /// dead and never write again).
    func reclaimTellsTheJobLog() async throws {
        let (store, clock) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec(retries: 1)))
        _ = try #require(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: .seconds(30)))
        // The lease writes the attempt's start into the job's log, in the same transaction.
        #expect(try await store.logs(job.id, after: 0, limit: 100).map(\.text) == ["attempt 1 of 2 started on w1"])
        clock.advance(by: .seconds(31))
        #expect(try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: .seconds(30)) == nil) // reclaimed, backing off
        let log = try await store.logs(job.id, after: 0, limit: 100).map(\.text)
        #expect(log == ["attempt 1 of 2 started on w1", "attempt 1 lost its lease (worker w1 stopped heartbeating)"])
    }

    func failRetriesWithBackoffThenFails() async throws {
        let (store, clock) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec(retries: 2)))
        #expect(job.maxAttempts == 3)
        var delays: [TimeInterval] = []
        for attempt in 1...3 {
            let lease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
            #expect(lease.token.attempt == attempt)
            let after = try await store.fail(lease.token, reason: "boom \(attempt)", retryable: true)
            #expect(after.failureReason == "boom \(attempt)")
            #expect(after.attempt == attempt)
            if attempt < 3 {
                #expect(after.state == .queued)
                let wait = after.runAfter.timeIntervalSince(clock.now())
                #expect(wait > 0)
                delays.append(wait)
                #expect(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long) == nil)
                clock.advance(by: .seconds(wait))
            } else {
                #expect(after.state == .failed)
                #expect(after.finishedAt != nil)
            }
        }
        #expect(delays == [10, 20])
        let deadLetters = try await store.jobs(JobFilter(states: [.failed]))
        #expect(deadLetters.map(\.id) == [job.id])
        #expect(deadLetters.first?.failureReason == "boom 3")
        #expect(try await store.jobs(JobFilter(states: [.queued, .running])).isEmpty)
    }

    func nonRetryableFailsAtOnce() async throws {
        let (store, _) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec(retries: 5)))
        let lease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        let failed = try await store.fail(lease.token, reason: "bad data", retryable: false)
        #expect(failed.state == .failed)
        #expect(failed.failureReason == "bad data")
        #expect(try await store.job(job.id)?.state == .failed)
    }

    func cancellation() async throws {
        let (store, _) = try await make()
        // Queued: cancelled at once.
        let queued = try await store.enqueue(EnqueueRequest(spec: Self.spec("q")))
        let cancelled = try await store.cancel(queued.id)
        #expect(cancelled.state == .cancelled)
        #expect(cancelled.finishedAt != nil)
        #expect(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long) == nil)

        // Running: asked to stop, the worker learns it on heartbeat and acknowledges.
        let running = try await store.enqueue(EnqueueRequest(spec: Self.spec("r")))
        let lease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(lease.job.id == running.id)
        let requested = try await store.cancel(running.id)
        #expect(requested.state == .running)
        #expect(requested.cancelRequested)
        let reply = try await store.heartbeat(lease.token, leaseDuration: Self.long, progress: nil)
        #expect(reply.cancelRequested)
        let acknowledged = try await store.acknowledgeCancellation(lease.token)
        #expect(acknowledged.state == .cancelled)
        #expect(acknowledged.finishedAt != nil)

        // Terminal: conflict; unknown: not found.
        await Self.expectCode(.conflict) { _ = try await store.cancel(running.id) }
        await Self.expectCode(.conflict) { _ = try await store.cancel(queued.id) }
        await Self.expectCode(.notFound) { _ = try await store.cancel(999_999) }

        // A failure reported after cancellation was asked for ends as cancelled, not retried.
        let third = try await store.enqueue(EnqueueRequest(spec: Self.spec("f", retries: 3)))
        let lease3 = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(lease3.job.id == third.id)
        _ = try await store.cancel(third.id)
        #expect(try await store.fail(lease3.token, reason: "stopped", retryable: true).state == .cancelled)
    }

    func runningCap() async throws {
        let (store, _) = try await make()
        try await store.setRunningCap(1, for: .train)
        let t1 = try await store.enqueue(EnqueueRequest(spec: Self.spec("a")))
        let t2 = try await store.enqueue(EnqueueRequest(spec: Self.spec("b")))
        let x = try await store.enqueue(EnqueueRequest(kind: .transform, spec: Self.spec("c")))
        let all = Set(JobKind.allCases)
        let first = try #require(try await store.dequeue(workerID: "w", kinds: all, leaseDuration: Self.long))
        #expect(first.job.id == t1.id)
        let second = try #require(try await store.dequeue(workerID: "w", kinds: all, leaseDuration: Self.long))
        #expect(second.job.id == x.id) // train is at its cap; transform is not capped
        #expect(try await store.dequeue(workerID: "w", kinds: all, leaseDuration: Self.long) == nil)
        _ = try await store.complete(first.token, registration: nil)
        let third = try #require(try await store.dequeue(workerID: "w", kinds: all, leaseDuration: Self.long))
        #expect(third.job.id == t2.id)

        // Removing the cap lets more run at once.
        try await store.setRunningCap(0, for: .train)
        _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("d")))
        #expect(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long) == nil)
        try await store.setRunningCap(nil, for: .train)
        #expect(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long) != nil)
    }

    func releaseDoesNotConsumeAnAttempt() async throws {
        let (store, _) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec(retries: 0)))
        let lease = try #require(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: Self.long))
        let released = try await store.release(lease.token)
        #expect(released.state == .queued)
        #expect(released.attempt == 0)
        #expect(released.workerID == nil)
        await Self.expectCode(.leaseLost) { _ = try await store.heartbeat(lease.token, leaseDuration: Self.long, progress: nil) }
        let again = try #require(try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: Self.long))
        #expect(again.job.id == job.id)
        #expect(again.token.attempt == 1)
        // Still the one and only attempt: a failure now is final.
        #expect(try await store.fail(again.token, reason: "x", retryable: true).state == .failed)
    }

    // MARK: Registry

    func versionReservationAndCompletion() async throws {
        let (store, clock) = try await make()
        _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("iris")))
        _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("iris")))
        _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("wine")))
        let l1 = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        let l2 = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        let l3 = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(try await store.reserveVersion(l1.token) == 1)
        #expect(try await store.reserveVersion(l1.token) == 1) // idempotent
        #expect(try await store.reserveVersion(l2.token) == 2)
        #expect(try await store.reserveVersion(l3.token) == 1) // per model

        // A manifest whose number was not reserved is refused.
        await Self.expectCode(.conflict) {
            _ = try await store.complete(l2.token, registration: Self.registration(l2, version: 7, at: clock.now()))
        }
        let outcome = try await store.complete(l2.token, registration: Self.registration(l2, version: 2, metrics: ["rmse": 1.5], at: clock.now()))
        #expect(outcome.version == 2)
        #expect(outcome.job.state == .succeeded)
        #expect(outcome.job.resultVersion == 2)
        #expect(outcome.job.finishedAt != nil)
        _ = try await store.complete(l1.token, registration: Self.registration(l1, version: 1, at: clock.now()))
        // Completing twice is refused (the lease is gone).
        await Self.expectCode(.leaseLost) {
            _ = try await store.complete(l1.token, registration: Self.registration(l1, version: 1, at: clock.now()))
        }

        let versions = try await store.versions(of: try ModelName("iris"))
        #expect(versions.map(\.version) == [2, 1])
        let v2 = try #require(try await store.version(try ModelName("iris"), 2))
        #expect(v2.metrics == ["rmse": 1.5])
        #expect(v2.jobID == l2.job.id)
        #expect(v2.status == .ready)
        #expect(v2.manifest.lineage.jobID == l2.job.id)
        let summary = try #require(try await store.model(try ModelName("iris")))
        #expect(summary.latestVersion == 2)
        #expect(summary.versionCount == 2)
        #expect(summary.task == .command)
        #expect(try await store.models().map(\.name.rawValue) == ["iris", "wine"])
        #expect(try await store.model(try ModelName("nope")) == nil)
        #expect(try await store.version(try ModelName("iris"), 9) == nil)
    }

    func retriedJobRegistersExactlyOneVersion() async throws {
        let (store, clock) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec("iris", retries: 2)))
        let first = try #require(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(try await store.reserveVersion(first.token) == 1)
        // The worker stalls; its lease expires and another worker takes over.
        clock.advance(by: .seconds(31))
        _ = try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: .seconds(30))
        clock.advance(by: .seconds(10))
        let second = try #require(try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(second.job.id == job.id)
        #expect(try await store.reserveVersion(second.token) == 1) // the same number
        let outcome = try await store.complete(second.token, registration: Self.registration(second, version: 1, at: clock.now()))
        #expect(outcome.version == 1)
        // The stalled worker wakes up and tries to finish: fenced.
        await Self.expectCode(.leaseLost) {
            _ = try await store.complete(first.token, registration: Self.registration(first, version: 1, at: clock.now()))
        }
        let versions = try await store.versions(of: try ModelName("iris"))
        #expect(versions.count == 1)
        #expect(versions.first?.jobID == job.id)
        // The next job gets the next number, none skipped.
        let next = try await Self.train(store, clock, "iris")
        #expect(next.version == 2)
    }

    /// With the incumbent scored on the new version's validation rows, promotion compares on
    /// those rows; a score of a version the alias no longer points at is ignored. Every
    /// decision is kept with its version and read back with it.
    func promotionComparesOnTheSameData() async throws {
        let (store, clock) = try await make()
        let rmse = Promotion(alias: .production, metric: "rmse")
        let name = try ModelName("iris")
        let o1 = try await Self.train(store, clock, "iris", metrics: ["rmse": 1.0], promote: rmse)
        #expect(o1.promoted)
        #expect(o1.promotion == PromotionRecord(alias: .production, metric: "rmse", promoted: true,
                                                reason: "promoted to production: production was unset", value: 1.0))
        // Stored: 1.0 beats 1.5. On the new data the incumbent scores 2.0, so version 2 wins.
        let o2 = try await Self.train(store, clock, "iris", metrics: ["rmse": 1.5], promote: rmse,
                                      incumbent: IncumbentScore(version: 1, metric: "rmse", value: 2.0))
        #expect(o2.promoted)
        #expect(o2.promotionNote?.contains("on the same validation data") == true, "\(o2.promotionNote ?? "nil")")
        // The other way round: better than the stored 1.5, worse than the incumbent on the same
        // rows (held out of the new job's training data).
        let o3 = try await Self.train(store, clock, "iris", metrics: ["rmse": 1.2], promote: rmse,
                                      incumbent: IncumbentScore(version: 2, metric: "rmse", value: 1.1, comparedOn: .heldOutRows, rows: 1200))
        #expect(!o3.promoted)
        #expect(o3.promotion == PromotionRecord(alias: .production, metric: "rmse", promoted: false,
                                                reason: "not promoted: rmse 1.2 is not better than production (v2) 1.1 on the same 1,200 held-out rows",
                                                value: 1.2, incumbentVersion: 2, incumbentValue: 1.1, comparedOn: .heldOutRows, rows: 1200))
        // A score for a version the alias no longer points at (or another metric) is not used.
        let o4 = try await Self.train(store, clock, "iris", metrics: ["rmse": 1.4], promote: rmse,
                                      incumbent: IncumbentScore(version: 1, metric: "rmse", value: 0.1))
        #expect(o4.promoted, "compared with version 2's stored 1.5: \(o4.promotionNote ?? "nil")")
        #expect(o4.promotion?.comparedOn == .storedMetrics && o4.promotion?.incumbentValue == 1.5 && o4.promotion?.rows == nil)
        #expect(try await store.aliases(of: name).first?.version == 4)

        // Kept with each version, in the listing and by number; a version without `promote` has none.
        let listed = try await store.versions(of: name)
        #expect(listed.first { $0.version == 1 }?.promotion == o1.promotion)
        #expect(listed.first { $0.version == 3 }?.promotion == o3.promotion)
        #expect(try await store.version(name, 2)?.promotion == o2.promotion)
        #expect(try await store.resolve(ModelReference(name: name, selector: .version(4))).promotion == o4.promotion)
        try await Self.train(store, clock, "iris", metrics: ["rmse": 0.1])
        #expect(try await store.version(name, 5)?.promotion == nil)
    }

    func promotionOnlyWhenBetter() async throws {
        let (store, clock) = try await make()
        let rmse = Promotion(alias: .production, metric: "rmse")
        let name = try ModelName("iris")
        let o1 = try await Self.train(store, clock, "iris", metrics: ["rmse": 1.0], promote: rmse)
        #expect(o1.promoted)
        let o2 = try await Self.train(store, clock, "iris", metrics: ["rmse": 2.0], promote: rmse)
        #expect(!o2.promoted)
        #expect(o2.promotionNote?.contains("not promoted") == true)
        #expect(try await store.aliases(of: name).first?.version == 1)
        let o3 = try await Self.train(store, clock, "iris", metrics: ["rmse": 0.5], promote: rmse)
        #expect(o3.promoted)
        let o4 = try await Self.train(store, clock, "iris", metrics: ["mae": 0.1], promote: rmse)
        #expect(!o4.promoted) // no such metric
        let aliases = try await store.aliases(of: name)
        #expect(aliases.map(\.version) == [3])
        #expect(aliases.first?.updatedBy == "job:\(o3.job.id)")
        let events = try await store.aliasEvents(of: name)
        #expect(events.map(\.fromVersion) == [nil, 1])
        #expect(events.map(\.toVersion) == [1, 3])
        #expect(events.allSatisfy { $0.actor.hasPrefix("job:") && $0.reason?.hasPrefix("promoted") == true })

        // An aliased version without the metric is beaten by any version that has it.
        try await store.setAlias(.production, of: name, to: 4, actor: "alice", reason: "manual")
        let o5 = try await Self.train(store, clock, "iris", metrics: ["rmse": 9.0], promote: rmse)
        #expect(o5.promoted)
        #expect(o5.promotionNote?.contains("production (v4) has no metric rmse") == true, "\(o5.promotionNote ?? "nil")")
        #expect(try await store.aliasEvents(of: name).map(\.toVersion) == [1, 3, 4, 5])

        // Higher is better for accuracy.
        let acc = Promotion(alias: try AliasName("staging"), metric: "accuracy")
        let wine = try ModelName("wine")
        #expect(try await Self.train(store, clock, "wine", metrics: ["accuracy": 0.8], promote: acc).promoted)
        #expect(try await !Self.train(store, clock, "wine", metrics: ["accuracy": 0.7], promote: acc).promoted)
        #expect(try await !Self.train(store, clock, "wine", metrics: ["accuracy": 0.8], promote: acc).promoted) // ties do not move
        #expect(try await Self.train(store, clock, "wine", metrics: ["accuracy": 0.9], promote: acc).promoted)
        #expect(try await store.resolve(ModelReference(name: wine, selector: .alias(acc.alias))).version == 4)
    }

    func aliasesAuditArchiveAndResolve() async throws {
        let (store, clock) = try await make()
        let name = try ModelName("iris")
        for _ in 1...3 { try await Self.train(store, clock, "iris") }
        let staging = try AliasName("staging")

        // Default resolution without production: the latest ready version.
        #expect(try await store.resolve(ModelReference(name: name)).version == 3)

        let alias = try await store.setAlias(.production, of: name, to: 2, actor: "alice", reason: "release")
        #expect(alias.version == 2)
        #expect(alias.updatedBy == "alice")
        try await store.setAlias(staging, of: name, to: 3, actor: "bob", reason: nil)
        try await store.setAlias(.production, of: name, to: 1, actor: "carol", reason: "rollback")
        #expect(try await store.resolve(ModelReference(name: name)).version == 1)
        #expect(try await store.resolve(try ModelReference(parsing: "iris@staging")).version == 3)
        #expect(try await store.resolve(try ModelReference(parsing: "iris:2")).version == 2)
        #expect(try await store.version(name, 1)?.aliases == [.production])
        #expect(try await store.versions(of: name).first { $0.version == 3 }?.aliases == [staging])
        #expect(try await store.model(name)?.aliases == ["production": 1, "staging": 3])

        await Self.expectCode(.notFound) { _ = try await store.setAlias(staging, of: name, to: 9, actor: "x", reason: nil) }
        await Self.expectCode(.notFound) { _ = try await store.resolve(try ModelReference(parsing: "iris:9")) }
        await Self.expectCode(.notFound) { _ = try await store.resolve(try ModelReference(parsing: "iris@canary")) }
        await Self.expectCode(.notFound) { _ = try await store.resolve(try ModelReference(parsing: "ghost")) }
        await Self.expectCode(.notFound) { _ = try await store.resolve(try ModelReference(parsing: "ghost@production")) }
        await Self.expectCode(.notFound) { _ = try await store.resolve(try ModelReference(parsing: "ghost:1")) }

        // Archive and delete are refused while an alias points at the version.
        await Self.expectCode(.conflict) { _ = try await store.setStatus(.archived, of: name, version: 1) }
        await Self.expectCode(.conflict) { try await store.deleteVersion(name, version: 3) }
        try await store.deleteAlias(staging, of: name, actor: "dave")
        await Self.expectCode(.notFound) { try await store.deleteAlias(staging, of: name, actor: "dave") }
        let archived = try await store.setStatus(.archived, of: name, version: 3)
        #expect(archived.status == .archived)
        await Self.expectCode(.conflict) { _ = try await store.setAlias(staging, of: name, to: 3, actor: "x", reason: nil) }
        // Archived versions are skipped by default resolution.
        try await store.deleteAlias(.production, of: name, actor: "erin")
        #expect(try await store.resolve(ModelReference(name: name)).version == 2)
        #expect(try await store.setStatus(.ready, of: name, version: 3).status == .ready)
        try await store.deleteVersion(name, version: 3)
        #expect(try await store.version(name, 3) == nil)
        #expect(try await store.resolve(ModelReference(name: name)).version == 2)
        await Self.expectCode(.notFound) { try await store.deleteVersion(name, version: 3) }

        let tagged = try await store.setTags(["owner": "ml"], of: name, version: 2)
        #expect(tagged.tags == ["owner": "ml"])

        // The audit trail, in order, with actors.
        let events = try await store.aliasEvents(of: name)
        #expect(events.map(\.actor) == ["alice", "bob", "carol", "dave", "erin"])
        #expect(events.map(\.alias.rawValue) == ["production", "staging", "production", "staging", "production"])
        #expect(events.map(\.fromVersion) == [nil, nil, 2, 3, 1])
        #expect(events.map(\.toVersion) == [2, 3, 1, nil, nil])
        #expect(events[0].reason == "release")
        #expect(events[0].at == clock.now())
    }

    // MARK: Logs

    func logs() async throws {
        let (store, _) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec()))
        let other = try await store.enqueue(EnqueueRequest(spec: Self.spec()))
        try await store.appendLog(job.id, lines: ["one", "two"])
        try await store.appendLog(job.id, lines: [])
        try await store.appendLog(other.id, lines: ["elsewhere"])
        try await store.appendLog(job.id, lines: ["three"])
        let all = try await store.logs(job.id, after: 0, limit: 100)
        #expect(all.map(\.text) == ["one", "two", "three"])
        #expect(all.map(\.sequence) == [1, 2, 3])
        #expect(try await store.logs(job.id, after: 1, limit: 1).map(\.text) == ["two"])
        #expect(try await store.logs(job.id, after: 3, limit: 100).isEmpty)
        #expect(try await store.logs(other.id, after: 0, limit: 100).map(\.sequence) == [1])
    }

    func listingFilters() async throws {
        let (store, _) = try await make()
        var ids: [JobID] = []
        for i in 0..<5 { ids.append(try await store.enqueue(EnqueueRequest(spec: Self.spec(i % 2 == 0 ? "even" : "odd"))).id) }
        #expect(try await store.jobs(JobFilter()).map(\.id) == ids.reversed())
        #expect(try await store.jobs(JobFilter(model: try ModelName("odd"))).map(\.id) == [ids[3], ids[1]])
        #expect(try await store.jobs(JobFilter(limit: 2)).map(\.id) == [ids[4], ids[3]])
        #expect(try await store.jobs(JobFilter(limit: 2, beforeID: ids[3])).map(\.id) == [ids[2], ids[1]])
        #expect(try await store.jobs(JobFilter(kind: .transform)).isEmpty)
        // A limit below 1 still lists one job (`JobFilter.effectiveLimit`).
        #expect(try await store.jobs(JobFilter(limit: 0)).map(\.id) == [ids[4]])
        #expect(try await store.job(999_999) == nil)
        let job = try #require(try await store.job(ids[0]))
        #expect(job.spec == Self.spec("even"))
        #expect(job.submittedBy == "local")
    }

    /// Enqueueing with a key already used returns the first job; other keys and no key enqueue.
    func idempotentEnqueue() async throws {
        let (store, _) = try await make()
        let first = try await store.enqueue(EnqueueRequest(spec: Self.spec("a"), idempotencyKey: "upload-42"))
        let again = try await store.enqueue(EnqueueRequest(spec: Self.spec("b"), idempotencyKey: "upload-42"))
        #expect(again.id == first.id)
        #expect(again.model.rawValue == "a")
        let other = try await store.enqueue(EnqueueRequest(spec: Self.spec("a"), idempotencyKey: "upload-43"))
        let plain1 = try await store.enqueue(EnqueueRequest(spec: Self.spec("a")))
        let plain2 = try await store.enqueue(EnqueueRequest(spec: Self.spec("a")))
        #expect(Set([first.id, other.id, plain1.id, plain2.id]).count == 4)
        #expect(try await store.jobs(JobFilter()).count == 4)
        // The key keeps its job after the job ends: a late retry still finds it.
        let lease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(lease.job.id == first.id)
        _ = try await store.complete(lease.token, registration: nil, finalLog: [])
        #expect(try await store.enqueue(EnqueueRequest(spec: Self.spec("a"), idempotencyKey: "upload-42")).id == first.id)
        await Self.expectCode(.invalidArgument) { _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("a"), idempotencyKey: "")) }
        await Self.expectCode(.invalidArgument) {
            _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("a"), idempotencyKey: String(repeating: "k", count: 256)))
        }
    }
}

// MARK: Fencing, wake-ups, atomicity

extension MetadataStoreContract {
    /// A lease is held up to and including its expiry instant, and reclaimed only after it.
    func leaseHeldUntilItsExpiryInstant() async throws {
        let (store, clock) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec(retries: 1)))
        let lease = try #require(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: .seconds(30)))
        clock.advance(by: .seconds(30))
        #expect(try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: .seconds(30)) == nil)
        #expect(try await store.job(job.id)?.state == .running)
        let reply = try await store.heartbeat(lease.token, leaseDuration: .seconds(30), progress: nil)
        #expect(reply.expiresAt == clock.now().addingTimeInterval(30))
    }

    /// A job asked to cancel whose worker died (its lease ran out) ends `cancelled`, not retried.
    func cancelRequestedJobWhoseWorkerVanishedEndsCancelled() async throws {
        let (store, clock) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec(retries: 3)))
        let lease = try #require(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(try await store.cancel(job.id).cancelRequested)
        clock.advance(by: .seconds(31))
        #expect(try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: .seconds(30)) == nil)
        let after = try #require(try await store.job(job.id))
        #expect(after.state == .cancelled)
        #expect(after.finishedAt != nil)
        #expect(after.failureReason?.contains("lease expired") == true)
        await Self.expectCode(.leaseLost) { _ = try await store.heartbeat(lease.token, leaseDuration: .seconds(30), progress: nil) }
        await Self.expectCode(.conflict) { _ = try await store.cancel(job.id) }
    }

    /// A token that is not the job's current lease (forged, failed, released, completed) gets
    /// `.leaseLost` on every write and changes nothing; an unknown job is `.notFound`.
    func staleAndForgedTokensAreFenced() async throws {
        let (store, clock) = try await make()
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec(retries: 2)))
        let first = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))

        func expectFenced(_ token: LeaseToken, _ code: TrainyardError.Code = .leaseLost, sourceLocation: Testing.SourceLocation = #_sourceLocation) async {
            await Self.expectCode(code, sourceLocation: sourceLocation) { _ = try await store.heartbeat(token, leaseDuration: Self.long, progress: nil) }
            await Self.expectCode(code, sourceLocation: sourceLocation) { _ = try await store.complete(token, registration: nil, finalLog: ["x"]) }
            await Self.expectCode(code, sourceLocation: sourceLocation) { _ = try await store.fail(token, reason: "x", retryable: true) }
            await Self.expectCode(code, sourceLocation: sourceLocation) { _ = try await store.reserveVersion(token) }
            await Self.expectCode(code, sourceLocation: sourceLocation) { _ = try await store.release(token) }
            await Self.expectCode(code, sourceLocation: sourceLocation) { _ = try await store.acknowledgeCancellation(token) }
        }

        await expectFenced(LeaseToken(jobID: job.id, token: "forged", attempt: first.token.attempt))
        await expectFenced(LeaseToken(jobID: 999_999, token: first.token.token, attempt: 1), .notFound)
        let untouched = try #require(try await store.job(job.id))
        #expect(untouched.state == .running && untouched.attempt == 1 && untouched.workerID == "w")
        #expect(try await store.logs(job.id, after: 0, limit: 100).map(\.text) == ["attempt 1 of 3 started on w"])

        // A failed attempt's token is stale once the job is back in the queue.
        _ = try await store.fail(first.token, reason: "boom", retryable: true)
        await expectFenced(first.token)
        clock.advance(by: .seconds(10))
        // So is a released one.
        let second = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        _ = try await store.release(second.token)
        await expectFenced(second.token)
        // And a completed one.
        let third = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        _ = try await store.complete(third.token, registration: nil)
        await expectFenced(third.token)
        let done = try #require(try await store.job(job.id))
        #expect(done.state == .succeeded)
        #expect(done.attempt == 2) // the released attempt is not counted
    }

    /// When the next queued job becomes due or the next lease expires, whichever is first.
    func nextWakeup() async throws {
        let (store, clock) = try await make()
        #expect(try await store.nextWakeup() == nil)
        let now = clock.now()
        let later = try await store.enqueue(EnqueueRequest(spec: Self.spec("later"), runAfter: now.addingTimeInterval(100)))
        #expect(try await store.nextWakeup() == now.addingTimeInterval(100))
        _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("now")))
        #expect(try await store.nextWakeup() == now)
        let lease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(lease.job.model.rawValue == "now")
        #expect(try await store.nextWakeup() == now.addingTimeInterval(30))
        _ = try await store.complete(lease.token, registration: nil)
        #expect(try await store.nextWakeup() == now.addingTimeInterval(100))
        _ = try await store.cancel(later.id)
        #expect(try await store.nextWakeup() == nil)
    }

    /// The store calls `onChange` after every write that may give idle workers something to do
    /// (in-process workers sleep until it is called).
    func onChangeSignalsWork() async throws {
        let (store, clock, changes) = try await makeCounting()
        func expectSignal(after before: Int, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
            #expect(changes.value > before, "no onChange after \(what)", sourceLocation: sourceLocation)
        }
        var before = changes.value
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec(retries: 2)))
        expectSignal(after: before, "enqueue")

        let first = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        before = changes.value
        _ = try await store.fail(first.token, reason: "boom", retryable: true)
        expectSignal(after: before, "a failure that is retried")

        clock.advance(by: .seconds(10))
        let second = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        before = changes.value
        _ = try await store.release(second.token)
        expectSignal(after: before, "release")

        let third = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        before = changes.value
        _ = try await store.complete(third.token, registration: nil)
        expectSignal(after: before, "complete")
        #expect(try await store.job(job.id)?.state == .succeeded)

        let queued = try await store.enqueue(EnqueueRequest(spec: Self.spec("q")))
        before = changes.value
        _ = try await store.cancel(queued.id)
        expectSignal(after: before, "cancelling a queued job")

        _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("r")))
        let running = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        _ = try await store.cancel(running.job.id)
        before = changes.value
        _ = try await store.acknowledgeCancellation(running.token)
        expectSignal(after: before, "an acknowledged cancellation")

        before = changes.value
        try await store.setRunningCap(3, for: .train)
        expectSignal(after: before, "a new running cap")
    }
}

// MARK: Registry: reservation and atomic completion

extension MetadataStoreContract {
    /// A job's reserved number survives failed, released and reclaimed attempts, while other
    /// jobs of the model reserve the next numbers.
    func reservedVersionIsStableAcrossAttempts() async throws {
        let (store, clock) = try await make()
        let name = try ModelName("iris")
        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec("iris", retries: 3)))
        let first = try #require(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(try await store.reserveVersion(first.token) == 1)

        let other = try await store.enqueue(EnqueueRequest(spec: Self.spec("iris")))
        let otherLease = try #require(try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: Self.long))
        #expect(otherLease.job.id == other.id)
        #expect(try await store.reserveVersion(otherLease.token) == 2)

        _ = try await store.fail(first.token, reason: "boom", retryable: true)
        clock.advance(by: .seconds(10))
        let second = try #require(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(second.job.id == job.id)
        #expect(try await store.reserveVersion(second.token) == 1)

        _ = try await store.release(second.token)
        let third = try #require(try await store.dequeue(workerID: "w1", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(try await store.reserveVersion(third.token) == 1)
        clock.advance(by: .seconds(31)) // this attempt's worker dies
        #expect(try await store.dequeue(workerID: "w3", kinds: [.train], leaseDuration: .seconds(30)) == nil)
        clock.advance(by: .seconds(20))
        let fourth = try #require(try await store.dequeue(workerID: "w3", kinds: [.train], leaseDuration: Self.long))
        #expect(fourth.job.id == job.id)
        #expect(fourth.token.attempt == 3)
        #expect(try await store.reserveVersion(fourth.token) == 1)
        #expect(try await store.reserveVersion(fourth.token) == 1)
        await Self.expectCode(.leaseLost) { _ = try await store.reserveVersion(first.token) }
        await Self.expectCode(.leaseLost) { _ = try await store.reserveVersion(third.token) }

        let outcome = try await store.complete(fourth.token, registration: Self.registration(fourth, version: 1, at: clock.now()))
        #expect(outcome.version == 1)
        #expect(outcome.job.resultVersion == 1)
        let summary = try #require(try await store.model(name))
        #expect(summary.versionCount == 1)
        #expect(summary.latestVersion == 1)
        #expect(try await store.version(name, 1)?.jobID == job.id)
    }

    /// A refused completion (unreserved number, lost lease) writes nothing: no version, no
    /// alias move, no audit event, no final log line; a refused-but-held lease can still complete.
    func refusedCompletionChangesNothing() async throws {
        let (store, clock) = try await make()
        let name = try ModelName("iris")
        let rmse = Promotion(alias: .production, metric: "rmse")
        #expect(try await Self.train(store, clock, "iris", metrics: ["rmse": 1.0], promote: rmse).promoted)

        let job = try await store.enqueue(EnqueueRequest(spec: Self.spec("iris", promote: rmse)))
        let lease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(try await store.reserveVersion(lease.token) == 2)
        let logBefore = try await store.logs(job.id, after: 0, limit: 100)
        await Self.expectCode(.conflict) {
            _ = try await store.complete(lease.token, registration: Self.registration(lease, version: 5, metrics: ["rmse": 0.1], promote: rmse, at: clock.now()),
                                         finalLog: ["final line"])
        }
        #expect(try await store.logs(job.id, after: 0, limit: 100) == logBefore)
        #expect(try await store.versions(of: name).map(\.version) == [1])
        #expect(try await store.aliases(of: name).map(\.version) == [1])
        #expect(try await store.aliasEvents(of: name).count == 1)
        #expect(try await store.job(job.id)?.state == .running)

        let outcome = try await store.complete(lease.token, registration: Self.registration(lease, version: 2, metrics: ["rmse": 0.1], promote: rmse,
                                                                                            at: clock.now()),
                                               finalLog: ["final line"])
        #expect(outcome.promoted)
        #expect(outcome.promotionNote?.hasPrefix("promoted to production: rmse 0.1 is better than production (v1) 1") == true, "\(outcome.promotionNote ?? "nil")")
        #expect(try await store.logs(job.id, after: 0, limit: 100).last?.text == "final line")

        // A worker whose lease ran out finishes late: fenced, and nothing of it lands.
        let late = try await store.enqueue(EnqueueRequest(spec: Self.spec("iris", retries: 1, promote: rmse)))
        let lateLease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(try await store.reserveVersion(lateLease.token) == 3)
        clock.advance(by: .seconds(31))
        #expect(try await store.dequeue(workerID: "w2", kinds: [.train], leaseDuration: .seconds(30)) == nil)
        let lateLogBefore = try await store.logs(late.id, after: 0, limit: 100)
        await Self.expectCode(.leaseLost) {
            _ = try await store.complete(lateLease.token, registration: Self.registration(lateLease, version: 3, metrics: ["rmse": 0.01], promote: rmse,
                                                                                          at: clock.now()),
                                         finalLog: ["late line"])
        }
        #expect(try await store.logs(late.id, after: 0, limit: 100) == lateLogBefore)
        #expect(try await store.versions(of: name).map(\.version) == [2, 1])
        #expect(try await store.aliases(of: name).map(\.version) == [2])
        #expect(try await store.aliasEvents(of: name).map(\.toVersion) == [1, 2])
        #expect(try await store.job(late.id)?.state == .queued)
    }

    /// Deleting a version never frees its number; a model with a reservation but no version yet
    /// is listed, with nothing to resolve to.
    func versionNumbersAreNeverReused() async throws {
        let (store, clock) = try await make()
        let iris = try ModelName("iris")
        try await Self.train(store, clock, "iris")
        try await Self.train(store, clock, "iris")
        try await store.deleteVersion(iris, version: 2)
        let summary = try #require(try await store.model(iris))
        #expect(summary.latestVersion == 1)
        #expect(summary.versionCount == 1)
        #expect(try await Self.train(store, clock, "iris").version == 3)

        _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("wine")))
        let lease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(try await store.reserveVersion(lease.token) == 1)
        let wine = try #require(try await store.model(try ModelName("wine")))
        #expect(wine.versionCount == 0)
        #expect(wine.latestVersion == nil)
        #expect(wine.task == .command)
        #expect(try await store.models().map(\.name.rawValue) == ["iris", "wine"])
        await Self.expectCode(.notFound) { _ = try await store.resolve(try ModelReference(parsing: "wine")) }
        await Self.expectCode(.notFound) { _ = try await store.resolve(try ModelReference(parsing: "wine@production")) }
    }

    /// The idempotency key finds the job it first made, whatever happened to it since; a second
    /// request with the key changes nothing about that job.
    func idempotencyKeyFindsTheFirstJobInAnyState() async throws {
        let (store, _) = try await make()
        #expect(try await store.job(idempotencyKey: "k1") == nil)
        let first = try await store.enqueue(EnqueueRequest(spec: Self.spec("a"), idempotencyKey: "k1"))
        #expect(try await store.job(idempotencyKey: "k1")?.id == first.id)
        let lease = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        let again = try await store.enqueue(EnqueueRequest(spec: Self.spec("b"), priority: 9, idempotencyKey: "k1"))
        #expect(again.id == first.id)
        #expect(again.state == .running)
        #expect(again.model.rawValue == "a")
        #expect(again.priority == first.priority)
        #expect(try await store.jobs(JobFilter()).count == 1)
        _ = try await store.fail(lease.token, reason: "bad data", retryable: false)
        let afterFailure = try await store.enqueue(EnqueueRequest(spec: Self.spec("a"), idempotencyKey: "k1"))
        #expect(afterFailure.id == first.id)
        #expect(afterFailure.state == .failed)
        #expect(try await store.job(idempotencyKey: "k2") == nil)
        await Self.expectCode(.invalidArgument) { _ = try await store.enqueue(EnqueueRequest(spec: Self.spec("a"), idempotencyKey: "a\nb")) }
        #expect(try await store.jobs(JobFilter()).count == 1)
    }
}

// MARK: Operations

extension MetadataStoreContract {
    /// `queueCounts` counts jobs per kind and state and every reclaimed lease per kind (the
    /// queue depth `/metrics` serves), whatever the reclaimed job became.
    func queueCountsPerKindAndStateWithLeaseExpiries() async throws {
        let (store, clock) = try await make()
        #expect(try await store.queueCounts() == QueueCounts(jobs: [], leaseExpiries: [:]))

        for name in ["a", "b", "c"] { _ = try await store.enqueue(EnqueueRequest(spec: Self.spec(name, retries: 0))) }
        for name in ["t1", "t2"] { _ = try await store.enqueue(EnqueueRequest(kind: .transform, spec: Self.spec(name, retries: 1))) }
        var counts = try await store.queueCounts()
        #expect(counts.count(.train, .queued) == 3 && counts.count(.transform, .queued) == 2)
        #expect(counts.jobs.count == 2, "only pairs that have jobs: \(counts.jobs)")

        let failing = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        _ = try await store.fail(failing.token, reason: "boom", retryable: false)
        let succeeding = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        _ = try await store.complete(succeeding.token, registration: nil)
        _ = try #require(try await store.dequeue(workerID: "w", kinds: [.transform], leaseDuration: .seconds(30)))
        _ = try #require(try await store.dequeue(workerID: "w", kinds: [.transform], leaseDuration: .seconds(30)))
        counts = try await store.queueCounts()
        #expect(Set(counts.jobs) == [JobCount(kind: .train, state: .failed, count: 1), JobCount(kind: .train, state: .succeeded, count: 1),
                                     JobCount(kind: .train, state: .queued, count: 1), JobCount(kind: .transform, state: .running, count: 2)])
        #expect(counts.leaseExpiries.isEmpty)

        // Both transform leases expire: the next dequeue reclaims them (back to the queue after a
        // backoff, as each has a retry left) and each counts once.
        clock.advance(by: .seconds(31))
        _ = try await store.dequeue(workerID: "w2", kinds: [.transform], leaseDuration: .seconds(30))
        counts = try await store.queueCounts()
        #expect(counts.count(.transform, .queued) == 2 && counts.count(.transform, .running) == 0)
        #expect(counts.leaseExpiries == [.transform: 2])

        // A reclaim that fails the job for good counts too.
        clock.advance(by: .seconds(10))
        _ = try #require(try await store.dequeue(workerID: "w2", kinds: [.transform], leaseDuration: .seconds(30)))
        clock.advance(by: .seconds(31))
        _ = try await store.dequeue(workerID: "w3", kinds: [.train], leaseDuration: .seconds(30))
        counts = try await store.queueCounts()
        #expect(counts.count(.transform, .failed) == 1 && counts.count(.transform, .queued) == 1)
        #expect(counts.leaseExpiries == [.transform: 3])
    }

    /// `ping` answers on an open store and changes nothing.
    func pingAnswersAndChangesNothing() async throws {
        let (store, _) = try await make()
        try await store.ping()
        #expect(try await store.queueCounts().jobs.isEmpty)
        #expect(try await store.models().isEmpty)
    }
}
