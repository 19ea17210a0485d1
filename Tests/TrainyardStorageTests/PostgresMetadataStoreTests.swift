import Foundation
import Logging
import Synchronization
import PostgresNIO
import Testing
import TrainyardCore
import TrainyardTestServices
@testable import TrainyardPostgres

/// What only PostgreSQL has to show (the contract suites run on it too): several processes —
/// here several stores, each with its own pool and listener — sharing one namespace.
@Suite("PostgreSQL metadata store", .postgresSchemasDropped, .enabled(if: TestService.postgres.shouldRun, Comment(rawValue: TestService.postgres.skipReason)))
struct PostgresMetadataStoreTests {
    static let long: Duration = .seconds(3600)

    /// Two pools on one schema, two dequeuers on each, 500 jobs: every job is leased exactly once.
    @Test func concurrentDequeuersOnTwoPoolsLeaseEachJobOnce() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let clock = ManualClock()
        let a = try await PostgresTestStores.open(namespace: namespace, clock: clock)
        let b = try await PostgresTestStores.open(namespace: namespace, clock: clock)
        var enqueued: [JobID] = []
        for i in 0..<500 {
            let kind: JobKind = i % 3 == 0 ? .transform : .train
            enqueued.append(try await (i.isMultiple(of: 2) ? a : b).enqueue(EnqueueRequest(kind: kind, spec: MetadataStoreContract.spec("m\(i % 5)"),
                                                                                              priority: i % 4)).id)
        }
        let leased = try await withThrowingTaskGroup(of: [JobID].self) { group in
            for (w, store) in [a, a, b, b].enumerated() {
                group.addTask {
                    var mine: [JobID] = []
                    while let lease = try await store.dequeue(workerID: "w\(w)", kinds: [.train, .transform], leaseDuration: Self.long) {
                        mine.append(lease.job.id)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(leased.count == 500)
        #expect(Set(leased) == Set(enqueued))
        #expect(try await a.queueCounts().count(.train, .running) + a.queueCounts().count(.transform, .running) == 500)
        let logs = try await b.logs(enqueued[0], after: 0, limit: 10)
        #expect(logs.count == 1 && logs.first?.text.hasPrefix("attempt 1 of 2 started on w") == true)
    }

    /// A change made through one store wakes the other store's `onChange` (its process's
    /// workers) through LISTEN/NOTIFY; a store's own notifications do not call it twice.
    @Test func notificationsFromOneStoreWakeTheOther() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let changes = Counter()
        let a = try await PostgresTestStores.open(namespace: namespace)
        let b = try await PostgresTestStores.open(namespace: namespace, onChange: { changes.increment() })
        // A worker of b's waits (b listens only then) and is told to look once b listens.
        b.changeInterest(true)
        #expect(await Self.eventually { changes.value == 1 && b.listener.isListening })

        let beforeEnqueue = changes.value
        let job = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("iris")))
        #expect(await Self.eventually { changes.value > beforeEnqueue }, "no wake-up after another store enqueued")

        let lease = try #require(try await b.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        let beforeCancel = changes.value
        _ = try await a.cancel(job.id)
        #expect(await Self.eventually { changes.value > beforeCancel }, "no wake-up after another store asked to cancel")
        _ = try await b.acknowledgeCancellation(lease.token)

        // b's own change calls onChange once, directly; its notification is not counted again.
        let beforeOwn = changes.value
        _ = try await b.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("iris")))
        #expect(changes.value == beforeOwn + 1)
        let marker = changes.value
        _ = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("wine")))
        #expect(await Self.eventually { changes.value > marker })
        #expect(changes.value == marker + 1, "b's own notification was delivered to b as well")
    }

    /// A completion is not announced to every process (each would handle one notification per
    /// job for nothing): only when the kind has a running cap, whose waiting workers a free
    /// slot concerns. A retry (the job is runnable again) is announced.
    ///
    /// The notifications are read on a connection of the test's own, in commit order, so each
    /// change is counted between two marker enqueues from a third store: what `a` sent between
    /// them is exactly what its change sent.
    @Test func completionsNotifyOnlyWhenSomeoneMayWait() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let a = try await PostgresTestStores.open(namespace: namespace)
        let markers = try await PostgresTestStores.open(namespace: namespace)
        let payloads = NotificationLog()
        let connection = try await PostgresConnection.connect(
            configuration: a.settings.connectionConfiguration(applicationName: "test-listener"), id: 1, logger: Logger(label: "test"))
        defer { Task { try? await connection.close() } }
        let reader = Task { [channel = a.schema.channel] in
            try await connection.listen(on: channel) { delivered in
                payloads.listening()
                for try await notification in delivered { payloads.append(notification.payload) }
            }
        }
        defer { reader.cancel() }
        #expect(await Self.eventually { payloads.isListening })

        /// Enqueues a marker from the third store and waits until it was delivered.
        func marker() async throws {
            let seen = payloads.all.filter { $0 == markers.instanceID }.count
            _ = try await markers.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("marker"), priority: -1))
            #expect(await Self.eventually { payloads.all.filter { $0 == markers.instanceID }.count > seen },
                    "the marker's notification never came")
        }
        /// How many notifications `a` sent for `body`'s change.
        func sent(by body: () async throws -> Void) async throws -> Int {
            try await marker()
            try await body()
            try await marker()
            let all = payloads.all
            let marks = all.indices.filter { all[$0] == markers.instanceID }
            return all[marks[marks.count - 2]..<marks[marks.count - 1]].filter { $0 == a.instanceID }.count
        }

        _ = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("plain", retries: 0), priority: 10))
        let plain = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(try await sent { _ = try await a.complete(plain.token, registration: nil, finalLog: []) } == 0,
                "an uncapped completion was announced")

        _ = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("retried", retries: 1), priority: 10))
        let retried = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(try await sent { _ = try await a.fail(retried.token, reason: "exit 1", retryable: true) } == 1,
                "a retry was not announced")

        try await a.setRunningCap(5, for: .transform)
        _ = try await a.enqueue(EnqueueRequest(kind: .transform, spec: MetadataStoreContract.spec("capped", retries: 0), priority: 10))
        let capped = try #require(try await a.dequeue(workerID: "w", kinds: [.transform], leaseDuration: Self.long))
        #expect(try await sent { _ = try await a.complete(capped.token, registration: nil, finalLog: []) } == 1,
                "a completion that frees a capped slot was not announced")
    }

    /// A worker's completion reads its next candidates in the same statement; the next
    /// dequeue leases from them, passes over one another process took meanwhile, and this
    /// process's own enqueue (made after the completion) is not hidden by them.
    @Test func aCompletionReadsTheNextCandidatesWithoutHidingLaterWork() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let a = try await PostgresTestStores.open(namespace: namespace)
        let b = try await PostgresTestStores.open(namespace: namespace)
        var jobs: [Job] = []
        for name in ["one", "two", "three", "four"] { jobs.append(try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec(name)))) }

        let first = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(first.job.id == jobs[0].id)
        _ = try await a.complete(first.token, registration: nil, finalLog: [])
        #expect(a.prefetch.keptCount(for: "w") == 3, "the completion kept no candidates")
        // Another process takes the best kept candidate: the next dequeue passes over it.
        let taken = try #require(try await b.dequeue(workerID: "other", kinds: [.train], leaseDuration: Self.long))
        #expect(taken.job.id == jobs[1].id)
        let second = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(second.job.id == jobs[2].id)
        // What the dequeue did not lease is kept for the worker's next completion only.
        #expect(a.prefetch.keptCount(for: "w") == 2)

        // This process enqueues a more urgent job after the completion: its dequeue sees it.
        _ = try await a.complete(second.token, registration: nil, finalLog: [])
        #expect(a.prefetch.keptCount(for: "w") == 1)
        let urgent = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("urgent"), priority: 50))
        let third = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(third.job.id == urgent.id)
        // Kept candidates are for the kinds they were read for.
        _ = try await a.complete(third.token, registration: nil, finalLog: [])
        #expect(try await a.dequeue(workerID: "w", kinds: [.transform], leaseDuration: Self.long) == nil)
        let fourth = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(fourth.job.id == jobs[3].id)
        // Every job ran once.
        let states = try await a.jobs(JobFilter()).filter { $0.state == .queued }
        #expect(states.isEmpty)
    }

    /// A worker's completion leases its next job in its own statement, from the candidates its
    /// last dequeue or completion read: it passes over one another process took meanwhile,
    /// leaves a second dequeue to read afresh, and leases nothing of a kind with a running cap
    /// (counted under the kind's lock by the dequeue that follows).
    @Test func aCompletionLeasesTheWorkersNextJob() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let a = try await PostgresTestStores.open(namespace: namespace)
        let b = try await PostgresTestStores.open(namespace: namespace)
        let request = NextLeaseRequest(workerID: "w", kinds: [.train], leaseDuration: Self.long)
        var jobs: [Job] = []
        for name in ["one", "two", "three", "four"] { jobs.append(try await b.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec(name)))) }

        let first = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(first.job.id == jobs[0].id)
        #expect(a.prefetch.keptCount(for: "w") == 3)
        let (_, granted) = try await a.complete(first.token, registration: nil, finalLog: ["done"], leasingNext: request)
        let second = try #require(granted, "the completion leased nothing")
        #expect(second.job.id == jobs[1].id)
        #expect(second.job.state == .running && second.job.workerID == "w" && second.job.attempt == 1)
        let stored = try #require(try await b.job(jobs[1].id))
        #expect(stored.state == .running && stored.workerID == "w" && stored.leaseExpiresAt == second.expiresAt)
        #expect(try await b.logs(jobs[1].id, after: 0, limit: 10).contains { $0.text.contains("started on w") },
                "the lease's log line was not written")
        #expect(try await b.logs(jobs[0].id, after: 0, limit: 10).last?.text == "done")
        // The leased job is not among the candidates kept for the next completion.
        #expect(a.prefetch.keptCount(for: "w") == 2)

        // Another process takes the best kept candidate: the next completion passes over it.
        let taken = try #require(try await b.dequeue(workerID: "other", kinds: [.train], leaseDuration: Self.long))
        #expect(taken.job.id == jobs[2].id)
        let (_, grantedFourth) = try await a.complete(second.token, registration: nil, finalLog: [], leasingNext: request)
        let fourth = try #require(grantedFourth)
        #expect(fourth.job.id == jobs[3].id)
        _ = try await a.heartbeat(fourth.token, leaseDuration: Self.long, progress: nil)

        // A dequeue's leftovers are for the next completion: a second dequeue reads afresh and
        // sees a more urgent job another process enqueued since.
        let more = try await b.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("more")))
        _ = try await b.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("later")))
        let other = try #require(try await a.dequeue(workerID: "v", kinds: [.train], leaseDuration: Self.long))
        #expect(other.job.id == more.id)
        #expect(a.prefetch.keptCount(for: "v") == 1)
        let urgent = try await b.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("urgent"), priority: 50))
        let afresh = try #require(try await a.dequeue(workerID: "v", kinds: [.train], leaseDuration: Self.long))
        #expect(afresh.job.id == urgent.id)

        // A capped kind is leased by the dequeue, which counts it under its lock.
        try await a.setRunningCap(1, for: .transform)
        let transformRequest = NextLeaseRequest(workerID: "t", kinds: [.transform], leaseDuration: Self.long)
        for name in ["t1", "t2"] { _ = try await b.enqueue(EnqueueRequest(kind: .transform, spec: MetadataStoreContract.spec(name))) }
        let capped = try #require(try await a.dequeue(workerID: "t", kinds: [.transform], leaseDuration: Self.long))
        let (_, grantedCapped) = try await a.complete(capped.token, registration: nil, finalLog: [], leasingNext: transformRequest)
        #expect(grantedCapped == nil)
        #expect(try await a.dequeue(workerID: "t", kinds: [.transform], leaseDuration: Self.long) != nil)
        #expect(try await b.jobs(JobFilter()).allSatisfy { $0.attempt <= 1 })
    }

    /// The queue may have changed since the candidates a completion leases from were read: a
    /// running cap another process set on their kind, or a lease that expired since, makes the
    /// completion lease nothing (the dequeue that follows counts the cap, or returns the
    /// expired job to the queue first).
    @Test func aCompletionLeasesNothingTheQueueNoLongerAllows() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let clock = ManualClock()
        let a = try await PostgresTestStores.open(namespace: namespace, clock: clock)
        let b = try await PostgresTestStores.open(namespace: namespace)
        let request = NextLeaseRequest(workerID: "w", kinds: [.train], leaseDuration: Self.long)
        for i in 0..<8 { _ = try await b.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("m\(i)"))) }

        let first = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        try await b.setRunningCap(5, for: .train)
        let (_, underCap) = try await a.complete(first.token, registration: nil, finalLog: [], leasingNext: request)
        #expect(underCap == nil, "a job of a kind capped since its candidates were read was leased")

        try await b.setRunningCap(nil, for: .train)
        // The candidates read with the cap go through the counting dequeue; the next ones do not.
        let counted = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        _ = try await a.complete(counted.token, registration: nil, finalLog: [], leasingNext: request)
        let second = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(a.prefetch.keptCount(for: "w") > 0)
        // Another process's worker holds a job for a second and vanishes.
        let vanished = try #require(try await b.dequeue(workerID: "gone", kinds: [.train], leaseDuration: .seconds(1)))
        clock.advance(by: .seconds(2))
        let (_, pastExpiry) = try await a.complete(second.token, registration: nil, finalLog: [], leasingNext: request)
        #expect(pastExpiry == nil, "a job was leased while an expired lease waited to be reclaimed")
        _ = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        #expect(try await b.job(vanished.job.id)?.workerID != "gone", "the dequeue did not reclaim the expired lease")

        // Candidates older than `CandidatePrefetch.freshness` (on the store's clock) are not leased from.
        let held = try #require(try await a.dequeue(workerID: "x", kinds: [.train], leaseDuration: Self.long))
        #expect(a.prefetch.keptCount(for: "x") > 0)
        clock.advance(by: .seconds(2))
        let (_, stale) = try await a.complete(held.token, registration: nil, finalLog: [],
                                              leasingNext: NextLeaseRequest(workerID: "x", kinds: [.train], leaseDuration: Self.long))
        #expect(stale == nil)
    }

    /// A job a completion leased for nobody (the call failed after the statement committed, or
    /// the leased row could not be read back) goes back to the queue at once, its attempt not
    /// counted; jobs the plan's token does not hold are left alone.
    @Test func aLeaseNobodyWillRunIsGivenBack() async throws {
        let a = try await PostgresTestStores.open()
        let request = NextLeaseRequest(workerID: "w", kinds: [.train], leaseDuration: Self.long)
        for i in 0..<3 { _ = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("m\(i)"))) }
        let first = try #require(try await a.dequeue(workerID: "w", kinds: [.train], leaseDuration: Self.long))
        let now = a.now
        let plan = try #require(a.nextLeasePlan(request, kinds: ["train"], now: now))
        _ = try await a.complete(first.token, finalLog: [], now: now, leasing: plan)
        let leased = try #require(plan.leased)
        let other = try #require(try await a.dequeue(workerID: "v", kinds: [.train], leaseDuration: Self.long))

        // From a cancelled task, as when the completion's caller was cancelled.
        await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await a.releaseLeases(of: plan, now: now)
        }.value
        let returned = try #require(try await a.job(leased.job.id))
        #expect(returned.state == .queued && returned.attempt == 0 && returned.workerID == nil)
        #expect(try await a.job(other.job.id)?.state == .running)
    }

    /// A store listens for other processes' changes only while someone in its process waits
    /// (and briefly after): a process whose workers are all busy is not sent a notification per
    /// job. Each time it starts listening it calls `onChange` once, since what was committed
    /// before was not announced to it.
    @Test func listensOnlyWhileSomeoneWaits() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let changes = Counter()
        let a = try await PostgresTestStores.open(namespace: namespace)
        let b = try await PostgresTestStores.open(namespace: namespace, onChange: { changes.increment() })

        // Nobody waits in b: a's enqueue is not announced to it.
        _ = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("iris")))
        try await Task.sleep(for: .milliseconds(300))
        #expect(changes.value == 0 && !b.listener.isListening)

        // A worker waits: b listens and tells it to look at the queue (the job above is there).
        b.changeInterest(true)
        #expect(await Self.eventually { changes.value == 1 && b.listener.isListening }, "no look after listening began")
        _ = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("wine")))
        #expect(await Self.eventually { changes.value == 2 }, "no wake-up while a worker waited")

        // The worker is busy again: once the linger passed, b stops listening.
        b.changeInterest(false)
        #expect(await Self.eventually { !b.listener.isListening }, "still listening with nobody waiting")
        let quiet = changes.value
        _ = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("iris")))
        try await Task.sleep(for: .milliseconds(300))
        #expect(changes.value == quiet)

        // Waiting again listens again.
        b.changeInterest(true)
        #expect(await Self.eventually { changes.value == quiet + 1 && b.listener.isListening })
        _ = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("wine")))
        #expect(await Self.eventually { changes.value == quiet + 2 })
    }

    /// A `LISTEN` the server never answers (its backend stopped, as a vanished peer or a
    /// dropped NAT entry looks from here) does not leave the process deaf: the connection is
    /// given up after `listenTimeout` and a new one listens.
    @Test func anUnansweredListenIsGivenUp() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let changes = Counter()
        let a = try await PostgresTestStores.open(namespace: namespace)
        let channel = a.schema.channel
        let others = Set(try await Self.listenerProcesses(a, channel: channel))
        let b = try await PostgresTestStores.open(namespace: namespace, onChange: { changes.increment() })
        let stopped = try #require(Set(try await Self.listenerProcesses(a, channel: channel)).subtracting(others).first)
        // Only a PostgreSQL backend on this machine is stopped (a pid from another host could be anything here).
        let command = (try? String(contentsOfFile: "/proc/\(stopped)/comm", encoding: .utf8)) ?? ""
        try #require(command.hasPrefix("postgres"), "b's listener backend \(stopped) is not a local PostgreSQL process (\(command))")
        try #require(kill(pid_t(stopped), SIGSTOP) == 0, "cannot stop backend \(stopped)")
        defer { kill(pid_t(stopped), SIGCONT) }

        b.changeInterest(true)
        #expect(await Self.eventually { changes.value == 1 && b.listener.isListening }, "the unanswered LISTEN was not given up")
        let marker = changes.value
        _ = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("iris")))
        #expect(await Self.eventually { changes.value > marker }, "no wake-up on the new connection")
    }

    /// The listening connection dropped (a server restart, a proxy timeout): the store listens
    /// again and other stores' changes wake it as before.
    @Test func listenerReconnectsWhenItsConnectionDrops() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let changes = Counter()
        let a = try await PostgresTestStores.open(namespace: namespace)
        let b = try await PostgresTestStores.open(namespace: namespace, onChange: { changes.increment() })
        b.changeInterest(true)
        #expect(await Self.eventually { changes.value == 1 && b.listener.isListening })
        let listeners = try await Self.listenerProcesses(a, channel: b.schema.channel)
        #expect(listeners.count == 2) // a's and b's
        let terminated = try await PostgresTestStores.rows(a, """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(\(listeners))
            """)
        #expect(terminated.count == 2)
        #expect(await Self.eventually {
            let now = (try? await Self.listenerProcesses(a, channel: b.schema.channel)) ?? []
            return now.count == 2 && Set(now).isDisjoint(with: listeners)
        }, "the listeners did not come back")
        // Listening again, b tells its waiter to look: changes made meanwhile were not announced.
        #expect(await Self.eventually { changes.value == 2 }, "no look after listening again")
        let before = changes.value
        _ = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("iris")))
        #expect(await Self.eventually { changes.value > before }, "no wake-up after the listener reconnected")
    }

    /// Several processes starting at once on a new namespace: every one opens, each migration
    /// is applied once.
    @Test func migrationsAppliedConcurrentlySucceedOnce() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let stores = try await withThrowingTaskGroup(of: PostgresMetadataStore.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresTestStores.open(namespace: namespace) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(stores.count == 4)
        let schema = stores[0].schema
        let applied = try await PostgresTestStores.rows(stores[0], "SELECT id, count(*) FROM \(unescaped: schema.migrations) GROUP BY id")
            .map { try $0.decode((String, Int).self) }
        #expect(applied.map(\.0).sorted() == PostgresMigrations.all(schema).map(\.id).sorted())
        #expect(applied.allSatisfy { $0.1 == 1 })
        // Each works on the same tables.
        let job = try await stores[1].enqueue(EnqueueRequest(spec: MetadataStoreContract.spec()))
        #expect(try await stores[3].job(job.id)?.id == job.id)
    }

    /// A worker in one process whose lease expired and was taken over by another process is
    /// fenced out of every write, and its late writes change nothing.
    @Test func staleLeaseFromAnotherStoreIsRefused() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let clock = ManualClock()
        let a = try await PostgresTestStores.open(namespace: namespace, clock: clock)
        let b = try await PostgresTestStores.open(namespace: namespace, clock: clock)
        let job = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("iris", retries: 2)))
        let stale = try #require(try await a.dequeue(workerID: "wa", kinds: [.train], leaseDuration: .seconds(30)))
        #expect(try await a.reserveVersion(stale.token) == 1)
        clock.advance(by: .seconds(31))
        #expect(try await b.dequeue(workerID: "wb", kinds: [.train], leaseDuration: .seconds(30)) == nil) // reclaimed, backing off
        clock.advance(by: .seconds(10))
        let current = try #require(try await b.dequeue(workerID: "wb", kinds: [.train], leaseDuration: Self.long))
        #expect(current.job.id == job.id && current.token.attempt == 2)

        await MetadataStoreContract.expectCode(.leaseLost) { _ = try await a.heartbeat(stale.token, leaseDuration: .seconds(30), progress: nil) }
        await MetadataStoreContract.expectCode(.leaseLost) { _ = try await a.reserveVersion(stale.token) }
        await MetadataStoreContract.expectCode(.leaseLost) {
            _ = try await a.complete(stale.token, registration: MetadataStoreContract.registration(stale, version: 1, at: clock.now()),
                                     finalLog: ["late"])
        }
        await MetadataStoreContract.expectCode(.leaseLost) { _ = try await a.fail(stale.token, reason: "late", retryable: true) }
        await MetadataStoreContract.expectCode(.leaseLost) { _ = try await a.release(stale.token) }
        let seen = try #require(try await a.job(job.id))
        #expect(seen.state == .running && seen.workerID == "wb" && seen.attempt == 2)
        #expect(try await b.logs(job.id, after: 0, limit: 100).map(\.text).contains("late") == false)
        // The current holder registers the number the stale attempt reserved.
        #expect(try await b.reserveVersion(current.token) == 1)
        let outcome = try await b.complete(current.token, registration: MetadataStoreContract.registration(current, version: 1, at: clock.now()))
        #expect(outcome.version == 1 && outcome.job.state == .succeeded)
        #expect(try await a.versions(of: job.model).map(\.version) == [1])
        #expect(try await a.queueCounts().leaseExpiries == [.train: 1])
    }

    /// A running cap holds across processes: concurrent dequeues on two stores lease at most
    /// the cap; a finished job lets exactly one more start. Uncapped kinds are not held back.
    @Test func runningCapHoldsAcrossStores() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let a = try await PostgresTestStores.open(namespace: namespace)
        let b = try await PostgresTestStores.open(namespace: namespace)
        try await a.setRunningCap(2, for: .train)
        for i in 0..<10 { _ = try await b.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("m\(i)"))) }
        func race(_ attempts: Int) async throws -> [Lease] {
            try await withThrowingTaskGroup(of: Lease?.self) { group in
                for w in 0..<attempts {
                    group.addTask { try await (w.isMultiple(of: 2) ? a : b).dequeue(workerID: "w\(w)", kinds: [.train], leaseDuration: Self.long) }
                }
                return try await group.reduce(into: []) { if let lease = $1 { $0.append(lease) } }
            }
        }
        let first = try await race(8)
        #expect(first.count == 2)
        _ = try await a.complete(first[0].token, registration: nil)
        #expect(try await race(8).count == 1)
        #expect(try await a.queueCounts().count(.train, .running) == 2)
        _ = try await b.enqueue(EnqueueRequest(kind: .transform, spec: MetadataStoreContract.spec("t")))
        #expect(try await a.dequeue(workerID: "w", kinds: [.train, .transform], leaseDuration: Self.long)?.job.kind == .transform)
    }

    /// Two processes recording the same file of a trigger: one record, counted once.
    @Test func triggerFiringsFromTwoStoresRecordOnce() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let a = try await PostgresTestStores.open(namespace: namespace)
        let b = try await PostgresTestStores.open(namespace: namespace)
        let trigger = try await a.createTrigger(try TriggerStoreContract.watch(), createdBy: "cli")
        let file = TriggerStoreContract.file()
        let slot = Date(timeIntervalSince1970: 1_800_003_600)
        let recorded = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<20 {
                let store = i.isMultiple(of: 2) ? a : b
                group.addTask { try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .file(file), jobID: 7)) }
                group.addTask { try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .slot(slot), jobID: 8)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(recorded.allSatisfy { $0 })
        let status = try #require(try await b.trigger(trigger.name)).status
        #expect(status.firedCount == 2 && status.lastSlot == slot)
        #expect(try await b.firedFile(trigger: trigger.id, identity: file.identity(trigger: trigger.id))?.jobID == 7)
        try await b.deleteTrigger(trigger.name)
        let files = try await PostgresTestStores.rows(a, "SELECT count(*) FROM \(unescaped: a.schema.triggerFiles)")
        #expect(try files.first?.decode(Int.self) == 0)
    }

    /// Log lines appended by several processes to one job are numbered without gaps or repeats.
    @Test func concurrentLogAppendsGetDistinctSequences() async throws {
        let namespace = PostgresTestStores.uniqueNamespace()
        let a = try await PostgresTestStores.open(namespace: namespace)
        let b = try await PostgresTestStores.open(namespace: namespace)
        let job = try await a.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec()))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask { try await (i.isMultiple(of: 2) ? a : b).appendLog(job.id, lines: ["\(i)a", "\(i)b"]) }
            }
            try await group.waitForAll()
        }
        let lines = try await b.logs(job.id, after: 0, limit: -1)
        #expect(lines.map(\.sequence) == Array(1...80))
        #expect(Set(lines.map(\.text)).count == 80)
        for i in 0..<40 {
            let a = try #require(lines.firstIndex { $0.text == "\(i)a" })
            #expect(lines[a + 1].text == "\(i)b", "one call's lines stay together")
        }
    }

    /// Pooled connections the server closed (a restart, an administrator, an idle timeout) do
    /// not fail reads: the store reads again on another connection.
    @Test func readsSurviveConnectionsClosedByTheServer() async throws {
        let store = try await PostgresTestStores.open()
        let observer = try await PostgresTestStores.open()
        let job = try await store.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec()))
        for _ in 0..<5 {
            let closed = try await PostgresTestStores.rows(observer, """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = \("trainyard:" + store.schema.name)
                """)
            #expect(!closed.isEmpty)
            #expect(try await store.job(job.id)?.id == job.id)
            #expect(try await store.jobs(JobFilter()).map(\.id) == [job.id])
        }
    }

    /// A closed store answers with `.unavailable` naming the store, not with a hang.
    @Test func aClosedStoreIsUnavailable() async throws {
        let store = try await PostgresTestStores.open()
        await store.close()
        await MetadataStoreContract.expectCode(.unavailable) { _ = try await store.job(1) }
        await MetadataStoreContract.expectCode(.unavailable) { _ = try await store.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec())) }
        await MetadataStoreContract.expectCode(.unavailable) { try await store.ping() }
        do {
            _ = try await store.models()
        } catch let error as TrainyardError {
            #expect(error.message.contains(store.description.prefix(while: { $0 != " " })), "\(error.message)")
        }
    }

    /// A store the application lets go of without `close()` stops its pool and its listener.
    @Test func aReleasedStoreClosesItsConnections() async throws {
        let url = try TestService.postgres.require()
        let observer = try await PostgresTestStores.open()
        let namespace = PostgresTestStores.uniqueNamespace()
        var store: PostgresMetadataStore? = try await PostgresMetadataStore.open(url: url, namespace: namespace)
        let schema = try #require(store).schema.name
        _ = try await store?.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec()))
        @Sendable func connections() async throws -> Int {
            try await PostgresTestStores.rows(observer, """
                SELECT count(*) FROM pg_stat_activity WHERE application_name IN (\("trainyard:" + schema), \("trainyard-listener:" + schema))
                """).first?.decode(Int.self) ?? 0
        }
        #expect(try await connections() >= 2)
        store = nil
        #expect(await Self.eventually { (try? await connections()) == 0 }, "the released store's connections stayed open")
        _ = try await PostgresTestStores.rows(observer, PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"))
    }

    /// Text PostgreSQL cannot store (NUL, which a program's output may carry) does not make a
    /// failure or a log line fail: it is kept with U+FFFD in its place. Quotes, backslashes and
    /// control characters come back as written.
    @Test func textWithNULAndControlCharactersIsKept() async throws {
        let store = try await PostgresTestStores.open()
        let job = try await store.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec(retries: 1), submittedBy: "cli:a\u{0}b"))
        #expect(job.submittedBy == "cli:a\u{FFFD}b")
        let lease = try #require(try await store.dequeue(workerID: "w\"\\\t1", kinds: [.train], leaseDuration: Self.long))
        try await store.appendLog(job.id, lines: ["out\u{0}put", "tab\there \"quoted\" \\ \u{1}"])
        let failed = try await store.fail(lease.token, reason: "exit 1: \u{0}garbage", retryable: true)
        #expect(failed.state == .queued)
        let read = try #require(try await store.job(job.id))
        #expect(read.failureReason == "exit 1: \u{FFFD}garbage")
        #expect(read.submittedBy == "cli:a\u{FFFD}b")
        let log = try await store.logs(job.id, after: 0, limit: 10).map(\.text)
        #expect(log == ["attempt 1 of 2 started on w\"\\\t1", "out\u{FFFD}put", "tab\there \"quoted\" \\ \u{1}"])
    }

    /// The dequeue's statements are planned once per connection, generically, while a fresh
    /// namespace's jobs table is still empty: that plan must still reach rows by index, or
    /// every dequeue scans the whole table once it has grown (it did, until the pool's
    /// connections priced sequential scans out).
    @Test func theDequeueStatementsUseIndexesWhenPlannedOnAnEmptyTable() async throws {
        let store = try await PostgresTestStores.open()
        // A completion's arguments: the transition's 20, then the lease's proposals, the candidates' read.
        let transition = "'succeeded', 1, 0, NULL, NULL, NULL, false, NULL, NULL, 0, NULL, NULL, '{}', 1, 0, 0, 'channel', 'payload', false, false"
        let statements: [(sql: String, arguments: String, indexes: [String])] = [
            (Statements.DequeueCandidates.sql, "('{train,transform}', 0, 1000, 4)", ["jobs_queued"]),
            (Statements.LeaseFirstUnheld.sql, "('[]', 0)", ["jobs_pkey"]),
            (Statements.WriteTransitionReadingCandidates.sql, "(\(transition), '{train}', 0, 1000, 4)", ["jobs_pkey", "jobs_queued"]),
            (Statements.WriteTransitionLeasingNext.sql, "(\(transition), '[]', '{train}', 0, 1000, 4)", ["jobs_pkey", "jobs_queued"]),
        ]
        let plans = try await store.transaction("explaining") { connection -> [String] in
            _ = try await connection.query("SET LOCAL plan_cache_mode = force_generic_plan", logger: store.queryLogger)
            var plans: [String] = []
            for statement in statements {
                _ = try await connection.query(PostgresQuery(unsafeSQL: "PREPARE explained AS \(statement.sql)"), logger: store.queryLogger)
                let lines = try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN EXECUTE explained\(statement.arguments)"), logger: store.queryLogger)
                    .collect().map { try $0.decode(String.self) }
                _ = try await connection.query("DEALLOCATE explained", logger: store.queryLogger)
                plans.append(lines.joined(separator: "\n"))
            }
            return plans
        }
        #expect(plans.count == statements.count)
        for (plan, statement) in zip(plans, statements) {
            for index in statement.indexes { #expect(plan.contains(index), "\(plan)") }
            #expect(!plan.contains("Seq Scan on jobs"), "\(plan)")
        }
    }

    // MARK: Helpers

    /// The backend pids of the listener connections of the stores on `channel`'s namespace.
    static func listenerProcesses(_ store: PostgresMetadataStore, channel: String) async throws -> [Int32] {
        try await PostgresTestStores.rows(store, """
            SELECT pid FROM pg_stat_activity WHERE application_name = \("trainyard-listener:" + channel)
            """).map { try $0.decode(Int32.self) }
    }

    /// Whether `condition` holds within 60 s (checked every 20 ms).
    static func eventually(_ condition: @Sendable () async -> Bool) async -> Bool {
        await Polling.until(timeout: .seconds(60), every: .milliseconds(20), condition)
    }
}

/// Opening a store: settings, names and failures, without a server where none is needed.
@Suite("PostgreSQL metadata store: opening")
struct PostgresStoreOpeningTests {
    /// The lease proposals' JSON strings, written by hand, read back by a JSON parser as the
    /// text they were made from: every control character, quotes, backslashes, non-ASCII text;
    /// NUL (which PostgreSQL text cannot hold) as U+FFFD.
    @Test func handWrittenJSONStringsReadBackAsTheirText() throws {
        var texts = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) }
        texts += ["", "plain", "say \"hi\"\\n", "données été 😀 \u{10FFFF}", "a\u{0}b\u{1F}c\r\n\t", String(repeating: "é\"", count: 300)]
        for text in texts {
            let json = "[" + LeaseProposal.quoted(text) + "]"
            let read = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String])
            #expect(read == [text.postgresText], "\(json)")
        }
    }

    @Test func urlPartsAndRedaction() throws {
        let settings = try PostgresConnectionSettings(url: URL(string: "postgresql://ana:s3cr%40t@db.example:6543/models?sslmode=require")!)
        #expect(settings.host == "db.example" && settings.port == 6543 && settings.username == "ana" && settings.password == "s3cr@t")
        #expect(settings.database == "models" && settings.sslMode == .require)
        #expect(settings.redacted == "postgresql://ana:***@db.example:6543/models?sslmode=require")
        let plain = try PostgresConnectionSettings(url: URL(string: "postgres://ana@[::1]/models")!)
        #expect(plain.host == "::1" && plain.port == 5432 && plain.password == nil && plain.sslMode == .prefer)
    }

    @Test func badURLsAreRefusedWithoutThePassword() {
        for text in ["postgres://ana:hunter2@db/models?sslmode=sometimes", "postgres://ana:hunter2@db/models?timeout=3",
                     "postgres://:hunter2@db/models", "postgres://ana:hunter2@db/a/b"] {
            #expect {
                _ = try PostgresConnectionSettings(url: URL(string: text)!)
            } throws: { error in
                guard let error = error as? TrainyardError else { return false }
                return error.code == .invalidArgument && error.message.hasPrefix("metadata:") && !error.message.contains("hunter2")
            }
        }
    }

    @Test func schemaNamesAreCheckedForLength() throws {
        #expect(try PostgresSchema(Namespace(project: "shop", environment: "prod")).name == "trainyard_shop_prod")
        #expect(throws: TrainyardError.self) {
            try PostgresSchema(Namespace(project: String(repeating: "p", count: 32), environment: String(repeating: "e", count: 32)))
        }
    }

    /// Nothing listens on the port: a clear `.unavailable` naming the store, at once, without
    /// the password.
    @Test func unreachableServerIsReportedWithoutThePassword() async throws {
        await #expect {
            _ = try await PostgresMetadataStore.open(url: URL(string: "postgres://ana:hunter2@127.0.0.1:1/models?sslmode=disable")!)
        } throws: { error in
            guard let error = error as? TrainyardError else { return false }
            return error.code == .unavailable && error.message.contains("postgres://ana:***@127.0.0.1:1/models") && !error.message.contains("hunter2")
        }
    }

    /// A server that accepts the connection and never answers (a wrong port, a stuck proxy):
    /// opening fails as unavailable, naming the store, instead of waiting forever.
    @Test func aServerThatNeverAnswersIsUnavailable() async throws {
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { _ in MultiThreadedEventLoopGroup.singleton.any().makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let port = try #require(silent.localAddress?.port)
        await #expect {
            _ = try await PostgresMetadataStore.open(url: URL(string: "postgres://ana:hunter2@127.0.0.1:\(port)/models?sslmode=disable")!)
        } throws: { error in
            guard let error = error as? TrainyardError else { return false }
            return error.code == .unavailable && error.message.contains("postgres://ana:***@127.0.0.1:\(port)/models") && !error.message.contains("hunter2")
        }
    }

    /// A wrong database name or user is reported as the server said it, naming the store.
    @Test(.enabled(if: TestService.postgres.shouldRun, Comment(rawValue: TestService.postgres.skipReason)))
    func serverRefusalIsReported() async throws {
        var components = URLComponents(url: try TestService.postgres.require(), resolvingAgainstBaseURL: false)!
        components.path = "/no_such_database_\(UInt32.random(in: 0...UInt32.max))"
        await #expect {
            _ = try await PostgresMetadataStore.open(url: components.url!)
        } throws: { error in
            guard let error = error as? TrainyardError else { return false }
            return error.code == .unavailable && error.message.contains("no_such_database") && error.message.contains("3D000")
        }
    }
}

/// The payloads of the notifications a test's own listening connection received, in order.
final class NotificationLog: Sendable {
    private let state = Mutex<(listening: Bool, payloads: [String])>((false, []))
    func listening() { state.withLock { $0.listening = true } }
    func append(_ payload: String) { state.withLock { $0.payloads.append(payload) } }
    var isListening: Bool { state.withLock { $0.listening } }
    var all: [String] { state.withLock { $0.payloads } }
}
