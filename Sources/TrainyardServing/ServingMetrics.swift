import Foundation
import Synchronization

/// Prometheus metrics of the model server, kept as plain counters under one lock and rendered
/// in the text exposition format (version 0.0.4) by `render()`.
///
/// Names (public contract):
/// - `trainyard_inference_requests_total{protocol,model,version,status}`
/// - `trainyard_inference_request_duration_seconds{protocol,model,version,status}` (histogram)
/// - `trainyard_inference_batch_size{model,version}` (histogram of rows scored together)
/// - `trainyard_model_load_duration_seconds{model}` (histogram) and
///   `trainyard_model_loads_total{model,outcome}`
/// - `trainyard_models_loaded` (gauge) and `trainyard_model_loaded{model,version}` (1 per resident version)
/// - `trainyard_command_model_restarts_total{model,version}`
public final class ServingMetrics: Sendable {
    static let latencyBuckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    static let loadBuckets: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    struct Histogram {
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
        init(buckets: Int) { counts = Array(repeating: 0, count: buckets) }
        mutating func observe(_ value: Double, bounds: [Double]) {
            count += 1
            sum += value
            for (i, b) in bounds.enumerated() where value <= b { counts[i] += 1; break }
        }
    }

    struct RequestKey: Hashable { var proto: String; var model: String; var version: String; var status: Int }
    struct VersionKey: Hashable { var model: String; var version: String }

    struct State {
        var requests: [RequestKey: Histogram] = [:]
        var batches: [VersionKey: Histogram] = [:]
        var loads: [String: Histogram] = [:]
        var loadOutcomes: [String: [String: UInt64]] = [:]
        var loaded: Set<VersionKey> = []
        var restarts: [VersionKey: UInt64] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Records one inference request: its protocol (`native`, `v2`, `tfserving`, `mlflow`, `predict`, `ner`), the model
    /// and version that answered (empty when unknown), the HTTP status and the duration.
    public func recordRequest(protocol proto: String, model: String, version: String, status: Int, seconds: Double) {
        let key = RequestKey(proto: proto, model: model, version: version, status: status)
        state.withLock { s in
            s.requests[key, default: Histogram(buckets: Self.latencyBuckets.count)].observe(seconds, bounds: Self.latencyBuckets)
        }
    }

    public func recordBatch(model: String, version: Int, rows: Int) {
        let key = VersionKey(model: model, version: String(version))
        state.withLock { s in
            s.batches[key, default: Histogram(buckets: Self.batchBuckets.count)].observe(Double(rows), bounds: Self.batchBuckets)
        }
    }

    public func recordLoad(model: String, seconds: Double?, outcome: String) {
        state.withLock { s in
            s.loadOutcomes[model, default: [:]][outcome, default: 0] += 1
            if let seconds { s.loads[model, default: Histogram(buckets: Self.loadBuckets.count)].observe(seconds, bounds: Self.loadBuckets) }
        }
    }

    public func setLoaded(model: String, version: Int, _ loaded: Bool) {
        let key = VersionKey(model: model, version: String(version))
        state.withLock { s in
            if loaded { s.loaded.insert(key) } else { s.loaded.remove(key) }
        }
    }

    public func recordRestart(model: String, version: Int) {
        state.withLock { s in s.restarts[VersionKey(model: model, version: String(version)), default: 0] += 1 }
    }

    /// Total requests recorded for `model` with `status` (tests).
    public func requestCount(model: String? = nil, status: Int? = nil) -> UInt64 {
        state.withLock { s in
            s.requests.filter { (model == nil || $0.key.model == model) && (status == nil || $0.key.status == status) }.reduce(0) { $0 + $1.value.count }
        }
    }

    /// The Prometheus text format.
    public func render() -> String {
        let s = state.withLock { $0 }
        var out = ""
        func histogram(_ name: String, _ help: String, _ bounds: [Double], _ series: [(labels: String, h: Histogram)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            for (labels, h) in series {
                var cumulative: UInt64 = 0
                let sep = labels.isEmpty ? "" : ","
                for (i, b) in bounds.enumerated() {
                    cumulative += h.counts[i]
                    out += "\(name)_bucket{\(labels)\(sep)le=\"\(format(b))\"} \(cumulative)\n"
                }
                out += "\(name)_bucket{\(labels)\(sep)le=\"+Inf\"} \(h.count)\n"
                out += "\(name)_sum{\(labels)} \(format(h.sum))\n"
                out += "\(name)_count{\(labels)} \(h.count)\n"
            }
        }
        let requests = s.requests.sorted { ($0.key.proto, $0.key.model, $0.key.version, $0.key.status) < ($1.key.proto, $1.key.model, $1.key.version, $1.key.status) }
        out += "# HELP trainyard_inference_requests_total Inference requests by protocol, model, version and HTTP status.\n"
        out += "# TYPE trainyard_inference_requests_total counter\n"
        for (k, h) in requests {
            out += "trainyard_inference_requests_total{\(labels(k))} \(h.count)\n"
        }
        histogram("trainyard_inference_request_duration_seconds", "Inference request latency.", Self.latencyBuckets,
                  requests.map { (labels($0.key), $0.value) })
        histogram("trainyard_inference_batch_size", "Rows scored together by one model call (micro-batching).", Self.batchBuckets,
                  s.batches.sorted { ($0.key.model, $0.key.version) < ($1.key.model, $1.key.version) }
                    .map { ("model=\"\(escape($0.key.model))\",version=\"\($0.key.version)\"", $0.value) })
        histogram("trainyard_model_load_duration_seconds", "Time to download, load and warm a model version.", Self.loadBuckets,
                  s.loads.sorted { $0.key < $1.key }.map { ("model=\"\(escape($0.key))\"", $0.value) })
        out += "# HELP trainyard_model_loads_total Model version loads by outcome.\n# TYPE trainyard_model_loads_total counter\n"
        for (model, outcomes) in s.loadOutcomes.sorted(by: { $0.key < $1.key }) {
            for (outcome, n) in outcomes.sorted(by: { $0.key < $1.key }) {
                out += "trainyard_model_loads_total{model=\"\(escape(model))\",outcome=\"\(outcome)\"} \(n)\n"
            }
        }
        out += "# HELP trainyard_models_loaded Model versions resident in this server.\n# TYPE trainyard_models_loaded gauge\n"
        out += "trainyard_models_loaded \(s.loaded.count)\n"
        out += "# HELP trainyard_model_loaded 1 for each model version resident in this server.\n# TYPE trainyard_model_loaded gauge\n"
        for k in s.loaded.sorted(by: { ($0.model, $0.version) < ($1.model, $1.version) }) {
            out += "trainyard_model_loaded{model=\"\(escape(k.model))\",version=\"\(k.version)\"} 1\n"
        }
        out += "# HELP trainyard_command_model_restarts_total Restarts of bring-your-own serve processes.\n"
        out += "# TYPE trainyard_command_model_restarts_total counter\n"
        for (k, n) in s.restarts.sorted(by: { ($0.key.model, $0.key.version) < ($1.key.model, $1.key.version) }) {
            out += "trainyard_command_model_restarts_total{model=\"\(escape(k.model))\",version=\"\(k.version)\"} \(n)\n"
        }
        return out
    }

    private func labels(_ k: RequestKey) -> String {
        "protocol=\"\(k.proto)\",model=\"\(escape(k.model))\",version=\"\(escape(k.version))\",status=\"\(k.status)\""
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    private func format(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}
