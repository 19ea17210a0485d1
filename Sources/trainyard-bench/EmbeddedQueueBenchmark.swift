// The in-process queue benchmark on the embedded store: enqueue → complete throughput of no-op
// jobs with 1 and 2 workers in one process, and enqueue → start latency with an idle worker.
import Foundation
import Logging
import Synchronization
import TrainyardApp
import TrainyardCore
import TrainyardRuntime

final class Counter: Sendable { let value = Atomic<Int>(0) }

final class Box: Sendable { let starts = Mutex<[JobID: ContinuousClock.Instant]>([:]) }

func services(_ dir: URL, box: Box) async throws -> TrainyardServices {
    var config = TrainyardConfiguration()
    config.dataDirectory = dir
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return try await TrainyardApp.build(config, trainers: TrainerRegistry([.command: SharedNoop(box: box)]), logger: logger).services
}

/// A trainer that does nothing but note when it started.
struct SharedNoop: Trainer {
    let box: Box
    func validate(_ spec: ParsedSpec) throws(TrainyardError) {}
    func train(_ run: TrainingRun) async throws -> TrainingOutput {
        box.starts.withLock { $0[run.jobID] = ContinuousClock.now }
        return TrainingOutput(algorithm: "noop", artifacts: [:], metrics: [:])
    }
}

let spec = Spec(name: try! ModelName("noop"), task: .command, command: ["true"])

func throughput(workers: Int, jobs: Int) async throws -> Double {
    let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["BENCH_DIR"] ?? NSTemporaryDirectory()).appendingPathComponent("trainyard-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let box = Box()
    let s = try await services(dir, box: box)
    let pool = WorkerPool(services: s, options: .init(workers: workers))
    let start = ContinuousClock.now
    for _ in 0..<jobs { _ = try await s.store.enqueue(EnqueueRequest(spec: spec)) }
    let enqueued = ContinuousClock.now
    FileHandle.standardError.write(Data("enqueue: \(Double(jobs) / (enqueued - start).seconds) jobs/s\n".utf8))
    let poolTask = Task { try await pool.run() }
    while pool.completed.load(ordering: .relaxed) < jobs { try await Task.sleep(for: .milliseconds(1)) }
    let elapsed = (ContinuousClock.now - start).seconds
    poolTask.cancel()
    _ = try? await poolTask.value
    let succeeded = try await s.store.jobs(JobFilter(states: [.succeeded], limit: 1000)).count
    precondition(succeeded == min(jobs, 1000), "jobs did not all succeed")
    return Double(jobs) / elapsed
}

func latency(samples: Int) async throws -> (p50: Double, p99: Double) {
    let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["BENCH_DIR"] ?? NSTemporaryDirectory()).appendingPathComponent("trainyard-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let box = Box()
    let s = try await services(dir, box: box)
    let pool = WorkerPool(services: s, options: .init(workers: 1))
    let poolTask = Task { try await pool.run() }
    var latencies: [Double] = []
    for i in 0..<samples {
        try await Task.sleep(for: .milliseconds(2))  // the worker is idle when each job arrives
        let t0 = ContinuousClock.now
        let job = try await s.store.enqueue(EnqueueRequest(spec: spec))
        while pool.completed.load(ordering: .relaxed) <= i { try await Task.sleep(for: .microseconds(200)) }
        let started = box.starts.withLock { $0[job.id]! }
        latencies.append((started - t0).seconds * 1000)
    }
    poolTask.cancel()
    _ = try? await poolTask.value
    latencies.sort()
    return (latencies[samples / 2], latencies[Int(Double(samples) * 0.99)])
}

/// The queue alone: enqueue → dequeue (lease) → heartbeat → complete through the
/// MetadataStore, with `workers` concurrent consumers and the producer running alongside.
func storeThroughput(workers: Int, jobs: Int) async throws -> Double {
    let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["BENCH_DIR"] ?? NSTemporaryDirectory()).appendingPathComponent("trainyard-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let s = try await services(dir, box: Box())
    let store = s.store
    let counter = Counter()
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { for _ in 0..<jobs { _ = try await store.enqueue(EnqueueRequest(spec: spec)) } }
        for w in 0..<workers {
            group.addTask {
                while counter.value.load(ordering: .relaxed) < jobs {
                    guard let lease = try await store.dequeue(workerID: "w\(w)", kinds: [.train], leaseDuration: .seconds(30)) else {
                        await s.wakeup.wait(timeout: .milliseconds(5))
                        continue
                    }
                    _ = try await store.heartbeat(lease.token, leaseDuration: .seconds(30), progress: nil)
                    _ = try await store.complete(lease.token, registration: nil)
                    counter.value.add(1, ordering: .relaxed)
                }
            }
        }
        try await group.waitForAll()
    }
    return Double(jobs) / (ContinuousClock.now - start).seconds
}

/// The whole in-process benchmark: one JSON line on stdout, the store-level figures on stderr.
func embeddedBenchmark(jobs: Int, samples: Int) async throws {
    let storeOne = try await storeThroughput(workers: 1, jobs: jobs)
    let storeTwo = try await storeThroughput(workers: 2, jobs: jobs)
    FileHandle.standardError.write(Data("store-level: 1 worker \(storeOne) jobs/s, 2 workers \(storeTwo) jobs/s\n".utf8))
    let one = try await throughput(workers: 1, jobs: jobs)
    let two = try await throughput(workers: 2, jobs: jobs)
    let lat = try await latency(samples: samples)
    print(String(format: "{\"throughput_1_worker\": %.1f, \"throughput_2_workers\": %.1f, \"latency_p50_ms\": %.3f, \"latency_p99_ms\": %.3f}", one, two, lat.p50, lat.p99))
}
