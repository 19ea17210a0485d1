import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardRuntime
import TrainyardServing
import TrainyardTestSupport
@testable import TrainyardServer

/// `/metrics` job series (queue depth per kind and state from the store, lease expiries, this
/// process's worker counters) and `/readyz` / `/healthz` when the metadata store is away.
@Suite("Operations: job metrics and readiness against the store")
struct OperationsRoutesTests {
    /// The fixture's services with the store behind a fault injector, served with the inference
    /// routes (which carry `/metrics`).
    struct FaultyServer {
        let fixture: Fixture
        let faults: FaultInjectingMetadataStore
        var services: TrainyardServices

        init() async throws {
            fixture = try await Fixture.make()
            faults = FaultInjectingMetadataStore(base: fixture.services.store)
            var services = fixture.services
            services.store = faults
            self.services = services
        }

        func test(readinessTimeout: Duration = Fixture.options.storeCheckTimeout, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
            let readiness = Readiness()
            let app = TrainyardApp(services: services)
            let inference = app.inference(readiness: readiness, options: ServingOptions())
            let router = TrainyardHTTPServer.buildRouter(services: services, readiness: readiness, options: .init(storeCheckTimeout: readinessTimeout),
                                                         extraRoutes: inference.routes)
            do {
                try await Application(router: router, logger: services.logger).test(.router) { client in try await body(client) }
            } catch {
                await inference.server.shutdown()
                throw error
            }
            await inference.server.shutdown()
        }
    }

    /// The value of the series `line` (its name and labels, exactly as exposed).
    static func value(_ metrics: String, _ series: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func metricsExposeQueueDepthPerKindAndStateAndLeaseExpiries() async throws {
        let server = try await FaultyServer()
        defer { server.fixture.remove() }
        let store = server.faults.base
        for name in ["a", "b", "c"] { _ = try await server.fixture.services.submitter.submit(Specs.command(name)) }
        // One job leased with a lease that is already over, then reclaimed by the next dequeue.
        _ = try #require(try await store.dequeue(workerID: "gone", kinds: [.train], leaseDuration: .milliseconds(1)))
        try await Task.sleep(for: .milliseconds(20))
        let second = try #require(try await store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(600)))
        _ = try await store.complete(second.token, registration: nil)

        try await server.test { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            let text = response.text
            #expect(Self.value(text, "trainyard_metadata_store_up") == 1)
            // a: reclaimed with no retry left (failed), b: succeeded, c: queued.
            #expect(Self.value(text, #"trainyard_jobs{kind="train",state="queued"}"#) == 1, "\(text)")
            #expect(Self.value(text, #"trainyard_jobs{kind="train",state="failed"}"#) == 1)
            #expect(Self.value(text, #"trainyard_jobs{kind="train",state="succeeded"}"#) == 1)
            #expect(Self.value(text, #"trainyard_jobs{kind="train",state="running"}"#) == 0)
            #expect(Self.value(text, #"trainyard_jobs{kind="transform",state="queued"}"#) == 0, "every kind and state is exposed")
            #expect(Self.value(text, #"trainyard_lease_expiries_total{kind="train"}"#) == 1)
            #expect(text.contains("# TYPE trainyard_jobs gauge") && text.contains("# TYPE trainyard_lease_expiries_total counter"))
            // This process ran no worker: its counters are there, at zero.
            #expect(Self.value(text, #"trainyard_worker_jobs_started_total{kind="train"}"#) == 0)
            // The serving metrics are still first.
            #expect(text.contains("trainyard_models_loaded"))
        }
    }

    @Test func workerCountersShowWhatThisProcessRan() async throws {
        let server = try await FaultyServer()
        defer { server.fixture.remove() }
        let job = try await server.fixture.services.submitter.submit(Specs.command("counted"))
        // The fixture's trainer for `command` trains nothing and registers an empty version.
        let pool = WorkerPool(services: server.services, options: .init(workers: 1, exitWhenIdle: .milliseconds(300), minPoll: .milliseconds(20),
                                                                         maxPoll: .milliseconds(50), namePrefix: "metrics"))
        try await pool.run()
        #expect(try await server.faults.base.job(job.id)?.state.isTerminal == true)
        try await server.test { client in
            let text = try await client.execute(uri: "/metrics", method: .get).text
            #expect(Self.value(text, #"trainyard_worker_jobs_started_total{kind="train"}"#) == 1, "\(text)")
            let succeeded = Self.value(text, #"trainyard_worker_jobs_finished_total{kind="train",outcome="succeeded"}"#) ?? 0
            let failed = Self.value(text, #"trainyard_worker_jobs_failed_total{kind="train"}"#) ?? 0
            #expect(succeeded + failed == 1)
            #expect(Self.value(text, #"trainyard_worker_jobs_running{kind="train"}"#) == 0)
        }
    }

    @Test func unreachableStoreFailsReadinessNotLivenessAndMetricsSayIt() async throws {
        let server = try await FaultyServer()
        defer { server.fixture.remove() }
        server.faults.setUnreachable(true)
        try await server.test { client in
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.headers[.retryAfter] != nil)
            #expect(try ready.json()["reason"]?.stringValue == "the metadata store is unreachable")
            #expect(!ready.text.contains("injected"), "the open probe tells no error text")
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)

            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            #expect(Self.value(metrics.text, "trainyard_metadata_store_up") == 0)
            // No stale or zero queue depth while the store is away: an autoscaler must not read "empty".
            #expect(!metrics.text.contains("trainyard_jobs{"))
            #expect(!metrics.text.contains("trainyard_lease_expiries_total{"))
        }
        server.faults.setUnreachable(false)
        try await server.test { client in
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
        }
    }

    /// A store that accepts the call and never answers: `/readyz` answers 503 at its timeout and
    /// `/metrics` answers without the store's series; neither hangs.
    @Test func hangingStoreIsBoundedByTheTimeouts() async throws {
        let server = try await FaultyServer()
        defer { server.fixture.remove() }
        server.faults.setHanging(true)
        try await server.test(readinessTimeout: .milliseconds(200)) { client in
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            #expect(Self.value(metrics.text, "trainyard_metadata_store_up") == 0)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
        #expect((server.faults.refusedCalls["ping"] ?? 0) >= 1 && (server.faults.refusedCalls["queueCounts"] ?? 0) >= 1)
    }

    @Test func renderingExposesEveryKindAndOutcome() {
        var worker = WorkerMetrics.Snapshot()
        worker.started[.transform] = 3
        worker.finished[.transform] = [.succeeded: 1, .failed: 1]
        worker.storeOutages = 2
        let text = JobMetrics.render(queue: QueueCounts(jobs: [JobCount(kind: .transformPart, state: .running, count: 4)], leaseExpiries: [.train: 5]),
                                     worker: worker)
        #expect(Self.value(text, #"trainyard_jobs{kind="transform-part",state="running"}"#) == 4)
        #expect(Self.value(text, #"trainyard_jobs{kind="train",state="failed"}"#) == 0)
        #expect(Self.value(text, #"trainyard_lease_expiries_total{kind="train"}"#) == 5)
        #expect(Self.value(text, #"trainyard_worker_jobs_running{kind="transform"}"#) == 1)
        #expect(Self.value(text, #"trainyard_worker_jobs_failed_total{kind="transform"}"#) == 1)
        #expect(Self.value(text, #"trainyard_worker_jobs_finished_total{kind="transform",outcome="unrecorded"}"#) == 0)
        #expect(Self.value(text, "trainyard_worker_store_outages_total") == 2)
        // Every series has one HELP and one TYPE line.
        let names = Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.prefix { $0 != "{" && $0 != " " } })
        for name in names {
            #expect(text.components(separatedBy: "# TYPE \(name) ").count == 2, "\(name)")
        }
    }
}
