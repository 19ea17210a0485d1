import Foundation
import TrainyardCore
import TrainyardRuntime

/// Prometheus series about jobs, appended to `/metrics` after the serving metrics.
///
/// Names (public contract), in two groups that must not be confused:
///
/// Read from the metadata store at each scrape: the whole deployment, the same on every server
/// sharing the store (aggregate with `max`, not `sum`, across servers):
/// - `trainyard_metadata_store_up` (gauge): 1 when the store answered this scrape, else 0 — and
///   then the two series below are absent rather than stale or zero, so an autoscaler reading
///   queue depth does not scale workers down during an outage.
/// - `trainyard_jobs{kind,state}` (gauge): jobs per kind and state — `state="queued"` is the
///   queue depth to scale workers on, `running` what they hold; the terminal states only grow.
/// - `trainyard_lease_expiries_total{kind}` (counter): leases that expired and were reclaimed
///   (a worker died or stalled).
///
/// Counted by this process's workers since it started: meaningful in `up`, which serves
/// `/metrics` and runs workers; zero in a `server` (it runs none). A separate `worker` process
/// serves no HTTP, so its counters are not exposed: scale on `trainyard_jobs`, which any server
/// reads from the shared store, and find workers' ends in the store (terminal states,
/// `trainyard_lease_expiries_total`).
/// - `trainyard_worker_jobs_started_total{kind}` (counter): attempts started.
/// - `trainyard_worker_jobs_finished_total{kind,outcome}` (counter): attempts ended, by
///   `WorkerMetrics.Outcome` (succeeded, failed, timed_out, cancelled, released, lease_lost, unrecorded).
/// - `trainyard_worker_jobs_failed_total{kind}` (counter): attempts recorded as failed or timed out.
/// - `trainyard_worker_jobs_running{kind}` (gauge): attempts running now.
/// - `trainyard_worker_store_outages_total` (counter): times the workers found the store unreachable.
public enum JobMetrics {
    /// The series, in the text exposition format (0.0.4).
    /// - Parameter queue: what the store answered, or nil when it did not (unreachable, timed out).
    public static func render(queue: QueueCounts?, worker: WorkerMetrics.Snapshot) -> String {
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        let kinds = JobKind.allCases

        header("trainyard_metadata_store_up", "gauge", "1 when the metadata store answered this scrape's queue query, else 0.")
        out += "trainyard_metadata_store_up \(queue == nil ? 0 : 1)\n"
        if let queue {
            header("trainyard_jobs", "gauge", "Jobs in the metadata store by kind and state (the whole deployment; queued = queue depth).")
            for kind in kinds {
                for state in JobState.allCases {
                    out += "trainyard_jobs{kind=\"\(kind.rawValue)\",state=\"\(state.rawValue)\"} \(queue.count(kind, state))\n"
                }
            }
            header("trainyard_lease_expiries_total", "counter", "Leases that expired and were reclaimed, by job kind (the whole deployment).")
            for kind in kinds {
                out += "trainyard_lease_expiries_total{kind=\"\(kind.rawValue)\"} \(queue.leaseExpiries[kind, default: 0])\n"
            }
        }

        header("trainyard_worker_jobs_started_total", "counter", "Job attempts started by this process's workers.")
        for kind in kinds { out += "trainyard_worker_jobs_started_total{kind=\"\(kind.rawValue)\"} \(worker.started[kind, default: 0])\n" }
        header("trainyard_worker_jobs_finished_total", "counter", "Job attempts ended in this process's workers, by outcome.")
        for kind in kinds {
            for outcome in WorkerMetrics.Outcome.allCases {
                out += "trainyard_worker_jobs_finished_total{kind=\"\(kind.rawValue)\",outcome=\"\(outcome.rawValue)\"} \(worker.finished[kind, default: [:]][outcome, default: 0])\n"
            }
        }
        header("trainyard_worker_jobs_failed_total", "counter", "Job attempts this process's workers recorded as failed or timed out.")
        for kind in kinds { out += "trainyard_worker_jobs_failed_total{kind=\"\(kind.rawValue)\"} \(worker.failed(kind))\n" }
        header("trainyard_worker_jobs_running", "gauge", "Job attempts running in this process's workers.")
        for kind in kinds { out += "trainyard_worker_jobs_running{kind=\"\(kind.rawValue)\"} \(worker.running(kind))\n" }
        header("trainyard_worker_store_outages_total", "counter", "Times this process's workers found the metadata store unreachable.")
        out += "trainyard_worker_store_outages_total \(worker.storeOutages)\n"
        return out
    }

    /// The series for `services`: the store's counts within `serving.metricsStoreTimeout`
    /// (absent when it does not answer in time), and this process's worker counters.
    public static func render(services: TrainyardServices) async -> String {
        let store = services.store, timeout = services.configuration.serving.metricsStoreTimeout
        let queue = try? await StoreReachability.bounded(timeout, what: "the metadata store's queue counts") { try await store.queueCounts() }
        return render(queue: queue, worker: services.workerMetrics.snapshot)
    }
}
