import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardCore
@testable import TrainyardRuntime
@testable import TrainyardServer

/// What a separate worker process serves on `--metrics-port`: health, readiness and its metrics,
/// and nothing that reads or changes jobs and models.
@Suite("Operations: a worker process's own listener")
struct WorkerOperationsRoutesTests {
    @Test func healthReadinessAndMetricsAreServedAndNothingElse() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        _ = try await fixture.services.submitter.submit(Specs.command("queued-model"))
        // A job this process's counters saw start and succeed.
        fixture.services.workerMetrics.recordStarted(.train)
        fixture.services.workerMetrics.recordFinished(.train, .succeeded)
        let router = WorkerOperationsServer.buildRouter(services: fixture.services, options: Fixture.options)
        try await Application(router: router, logger: fixture.services.logger).test(.router) { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            let text = String(buffer: metrics.body)
            #expect(OperationsRoutesTests.value(text, #"trainyard_jobs{kind="train",state="queued"}"#) == 1, "\(text)")
            #expect(OperationsRoutesTests.value(text, #"trainyard_worker_jobs_started_total{kind="train"}"#) == 1)
            #expect(OperationsRoutesTests.value(text, #"trainyard_worker_jobs_finished_total{kind="train",outcome="succeeded"}"#) == 1)
            #expect(!text.contains("queued-model"), "the worker's metrics name no model")
            for path in ["/api/v1/jobs", "/api/v1/models", "/invocations", "/openapi.json"] {
                #expect(try await client.execute(uri: path, method: .get).status == .notFound, "\(path)")
            }
        }
    }

    @Test func metricsNeedAReadTokenWhenTokensAreConfigured() async throws {
        let fixture = try await Fixture.make(tokens: [AccessToken(name: "scraper", secret: "worker-metrics-secret", scopes: [.read])])
        defer { fixture.remove() }
        let router = WorkerOperationsServer.buildRouter(services: fixture.services, options: Fixture.options)
        try await Application(router: router, logger: fixture.services.logger).test(.router) { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            let scraped = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer worker-metrics-secret"])
            #expect(scraped.status == .ok)
        }
    }
}
