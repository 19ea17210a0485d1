import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TrainyardTestServices

/// `trainyard worker --metrics-port`: a separate worker process serves its own counters (and
/// health) while it takes jobs, and a port out of range is a usage error.
@Suite("worker --metrics-port")
struct WorkerMetricsPortTests {
    @Test func aWorkerProcessServesItsCountersWhileItRuns() async throws {
        let cli = try CLIHarness()
        let spec = try cli.writeIrisSpec(name: "flowers")
        #expect(try await cli.run(["train", spec.path]).status == 0)
        let port = try CrossProcessAliasTests.freePort()
        let worker = cli.start(["worker", "--workers", "1", "--metrics-port", String(port)])
        defer { worker.terminate(); worker.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        let counted = #"trainyard_worker_jobs_finished_total{kind="train",outcome="succeeded"} 1"#
        let served = await Polling.until(timeout: .seconds(120), every: .milliseconds(100)) {
            (try? await Self.get("\(base)/metrics"))?.text.contains(counted) == true
        }
        #expect(served, "the worker's /metrics never counted its job")
        let metrics = try await Self.get("\(base)/metrics")
        #expect(metrics.text.contains(#"trainyard_jobs{kind="train",state="succeeded"} 1"#), "\(metrics.text)")
        #expect(try await Self.get("\(base)/healthz").status == 200)
        // Readiness pings the store with a 2 s bound, which a loaded machine may miss once.
        let ready = await Polling.until(timeout: .seconds(60), every: .milliseconds(200)) {
            (try? await Self.get("\(base)/readyz"))?.status == 200
        }
        #expect(ready, "the worker's /readyz never answered 200")
        #expect(try await Self.get("\(base)/api/v1/jobs").status == 404, "a worker serves no control API")
    }

    @Test func aPortOutOfRangeIsAUsageError() async throws {
        let cli = try CLIHarness()
        let result = try await cli.run(["worker", "--metrics-port", "70000", "--exit-when-idle", "1s"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("--metrics-port 70000"))
    }

    static func get(_ url: String) async throws -> (status: Int, text: String) {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 5
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }
}
