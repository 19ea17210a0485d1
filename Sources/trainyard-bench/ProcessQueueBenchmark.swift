// The scaled-out queue benchmark: separate worker processes sharing one metadata store (a
// PostgreSQL database or an SQLite file), as a deployment runs them. The coordinator (this
// process) enqueues; each worker process (`trainyard-bench worker …`) runs a real WorkerPool
// with a trainer that does nothing but print when it started, so the figures are the queue's:
//   - throughput: `jobs` no-op jobs enqueued by 4 concurrent submitters while the workers run,
//     from the first enqueue until the store has none queued or running;
//   - latency: one job at a time into idle workers, from just before `enqueue` to the trainer's
//     start (both wall-clock times on one machine; a worker wakes through the store's change
//     signal, LISTEN/NOTIFY on PostgreSQL, file polling on SQLite).
import Foundation
import Logging
import Synchronization
import TrainyardApp
import TrainyardCore
import TrainyardRuntime

/// Builds the services a benchmark process uses: the given metadata store and namespace,
/// artifacts in a shared folder (no-op jobs write only a manifest), errors-only logging.
func sharedServices(metadata: String, namespace: Namespace, artifacts: URL, trainer: some Trainer) async throws -> TrainyardServices {
    var config = TrainyardConfiguration()
    config.dataDirectory = artifacts.deletingLastPathComponent()
    config.metadata = try MetadataBackend(parsing: metadata)
    config.artifacts = .folder(artifacts)
    config.namespace = namespace
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return try await TrainyardApp.build(config, trainers: TrainerRegistry([.command: trainer]), logger: logger).services
}

/// A trainer that prints `start <job> <unix seconds>` when it starts and does nothing else.
/// (One `write` per line: whole lines reach the coordinator even with jobs on several threads.)
struct AnnouncingNoop: Trainer {
    func validate(_ spec: ParsedSpec) throws(TrainyardError) {}
    func train(_ run: TrainingRun) async throws -> TrainingOutput {
        let line = String(format: "start %lld %.6f\n", run.jobID, Date().timeIntervalSince1970)
        FileHandle.standardOutput.write(Data(line.utf8))
        return TrainingOutput(algorithm: "noop", artifacts: [:], metrics: [:])
    }
}

/// `trainyard-bench worker METADATA PROJECT ARTIFACTS`: one worker process of the benchmark.
func workerProcess(metadata: String, project: String, artifacts: URL) async throws {
    let services = try await sharedServices(metadata: metadata, namespace: try Namespace(project: project, environment: "bench"),
                                            artifacts: artifacts, trainer: AnnouncingNoop())
    let pool = WorkerPool(services: services, options: .init(workers: 1))
    // The coordinator holds this process's standard input open: when it ends (also when the
    // coordinator crashed), this worker ends too instead of polling the store forever.
    Thread.detachNewThread {
        while !FileHandle.standardInput.availableData.isEmpty {}
        exit(0)
    }
    FileHandle.standardOutput.write(Data("ready\n".utf8))
    try await pool.run()
}

/// What the worker processes printed: when each job's trainer started.
final class StartTimes: Sendable {
    private let state = Mutex<(ready: Int, starts: [Int64: Double])>((0, [:]))
    func record(_ line: Substring) {
        let parts = line.split(separator: " ")
        state.withLock { s in
            if parts.first == "ready" { s.ready += 1 }
            if parts.count == 3, parts[0] == "start", let id = Int64(parts[1]), let t = Double(parts[2]) { s.starts[id] = t }
        }
    }
    var ready: Int { state.withLock { $0.ready } }
    var count: Int { state.withLock { $0.starts.count } }
    func start(of id: Int64) -> Double? { state.withLock { $0.starts[id] } }
}

/// Starts `count` worker processes and reads their lines on threads of their own.
func startWorkers(_ count: Int, metadata: String, project: String, artifacts: URL, into times: StartTimes) throws -> [Process] {
    let me = URL(fileURLWithPath: CommandLine.arguments[0])
    return try (0..<count).map { _ in
        let process = Process()
        process.executableURL = me
        process.arguments = ["worker", metadata, project, artifacts.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardInput = Pipe()
        try process.run()
        Thread.detachNewThread {
            var pending = Data()
            while true {
                let chunk = pipe.fileHandleForReading.availableData
                if chunk.isEmpty { return }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    times.record(Substring(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)))
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
        }
        return process
    }
}

struct ProcessFigures { var workers: Int; var throughput: Double; var enqueueRate: Double; var p50: Double; var p99: Double }

/// One measurement with `workers` processes on a namespace of its own.
func processBenchmark(metadata: String, workers: Int, jobs: Int, samples: Int) async throws -> ProcessFigures {
    let project = "bench\(UUID().uuidString.prefix(8).lowercased())"
    let artifacts = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("trainyard-bench-\(project)/artifacts")
    defer { try? FileManager.default.removeItem(at: artifacts.deletingLastPathComponent()) }
    // The coordinator opens the store first, so the migrations run once before the workers start.
    let services = try await sharedServices(metadata: metadata, namespace: try Namespace(project: project, environment: "bench"),
                                            artifacts: artifacts, trainer: AnnouncingNoop())
    let store = services.store
    let times = StartTimes()
    let processes = try startWorkers(workers, metadata: metadata, project: project, artifacts: artifacts, into: times)
    defer { for p in processes where p.isRunning { p.terminate() } ; for p in processes { p.waitUntilExit() } }
    while times.ready < workers { try await Task.sleep(for: .milliseconds(10)) }
    try await Task.sleep(for: .milliseconds(200))  // every worker is in its first wait

    // Throughput: 4 submitters enqueue while the workers drain.
    let start = ContinuousClock.now
    let submitters = 4
    try await withThrowingTaskGroup(of: Void.self) { group in
        for s in 0..<submitters {
            group.addTask { for _ in stride(from: s, to: jobs, by: submitters) { _ = try await store.enqueue(EnqueueRequest(spec: spec)) } }
        }
        try await group.waitForAll()
    }
    let enqueued = ContinuousClock.now
    // Every job has started (counted from the workers' lines, no query), then none is left
    // unfinished; the store is asked at most every 10 ms, so the watching adds little load.
    while times.count < jobs { try await Task.sleep(for: .milliseconds(1)) }
    while try await !store.jobs(JobFilter(states: [.queued, .running], limit: 1)).isEmpty {
        try await Task.sleep(for: .milliseconds(10))
    }
    let drained = ContinuousClock.now
    let throughput = Double(jobs) / (drained - start).seconds
    let enqueueRate = Double(jobs) / (enqueued - start).seconds

    // Latency: one job at a time into idle workers.
    var latencies: [Double] = []
    for _ in 0..<samples {
        try await Task.sleep(for: .milliseconds(5))
        let t0 = Date().timeIntervalSince1970
        let job = try await store.enqueue(EnqueueRequest(spec: spec))
        var started: Double?
        while started == nil {
            started = times.start(of: job.id)
            if started == nil { try await Task.sleep(for: .microseconds(100)) }
        }
        latencies.append((started! - t0) * 1000)
    }
    // Wait for the last job's completion before the workers are stopped.
    while try await !store.jobs(JobFilter(states: [.queued, .running], limit: 1)).isEmpty { try await Task.sleep(for: .milliseconds(2)) }
    latencies.sort()
    guard !latencies.isEmpty else {
        return ProcessFigures(workers: workers, throughput: throughput, enqueueRate: enqueueRate, p50: .nan, p99: .nan)
    }
    let p99Index = min(latencies.count - 1, Int((Double(latencies.count) * 0.99).rounded(.up)) - 1)
    return ProcessFigures(workers: workers, throughput: throughput, enqueueRate: enqueueRate,
                          p50: latencies[latencies.count / 2], p99: latencies[max(0, p99Index)])
}

/// `trainyard-bench processes METADATA JOBS SAMPLES W1 [W2 …]`: one JSON line per worker count.
func processesBenchmark(metadata: String, jobs: Int, samples: Int, workerCounts: [Int]) async throws {
    let backend = metadata.hasPrefix("postgres") ? "postgres" : "sqlite"
    for workers in workerCounts {
        let f = try await processBenchmark(metadata: metadata, workers: workers, jobs: jobs, samples: samples)
        print(String(format: "{\"backend\": \"%@\", \"workers\": %d, \"throughput\": %.1f, \"enqueue_rate\": %.1f, \"latency_p50_ms\": %.3f, \"latency_p99_ms\": %.3f}",
                     backend, f.workers, f.throughput, f.enqueueRate, f.p50, f.p99))
    }
}
