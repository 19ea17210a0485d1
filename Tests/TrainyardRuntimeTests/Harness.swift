import Crypto
import Foundation
import Logging
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardTestServices
@testable import TrainyardRuntime
import TrainyardStorage

/// A temporary data folder with embedded services, a command trainer, and helpers to write
/// spec folders and run a worker pool until the queue is idle.
struct Harness {
    let root: URL
    let services: TrainyardServices

    static let retryPolicy = RetryPolicy(baseDelay: .milliseconds(50), maxDelay: .milliseconds(200), jitter: 0)

    /// - Parameters:
    ///   - leaseDuration: the default is long enough that heartbeats (every second) keep the
    ///     lease on a loaded 2-core machine.
    ///   - trainer: replaces the command trainer for `task: command` (test trainers).
    ///   - artifacts: wraps or replaces the artifact store (fault injection), given the folder store.
    ///   - clock: the stores' time (a `ManualClock` expires leases without waiting).
    ///   - inMemory: the in-memory metadata and artifact stores instead of SQLite and a folder.
    ///   - wrap: wraps whichever artifact store was built (fault injection on any backend).
    init(leaseDuration: Duration = .seconds(10), trainer: (any Trainer)? = nil,
         artifacts: ((FileArtifactStore) throws -> any ArtifactStore)? = nil, clock: any WallClock = SystemClock(),
         inMemory: Bool = false, wrap: (@Sendable (any ArtifactStore) -> any ArtifactStore)? = nil) async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-runtime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var config = TrainyardConfiguration()
        config.dataDirectory = root.appendingPathComponent("data")
        config.leaseDuration = leaseDuration
        if inMemory {
            config.metadata = .memory
            config.artifacts = .memory
        }
        var logger = Logger(label: "trainyard-test")
        logger.logLevel = .critical
        var services = try await TrainyardApp.build(config, trainers: TrainerRegistry([.command: trainer ?? CommandTrainer(terminationGrace: .seconds(1))]),
                                                    clock: clock, retryPolicy: Self.retryPolicy, logger: logger).services
        if let artifacts, let files = services.artifacts as? FileArtifactStore { services.artifacts = try artifacts(files) }
        if let wrap { services.artifacts = wrap(services.artifacts) }
        self.services = services
    }

    var store: any MetadataStore { services.store }

    static let csv = "x,y\n1,2\n2,4\n3,6\n4,8\n"

    /// A folder with `train.py`, `data/train.csv` and the spec; returns the folder.
    func specFolder(_ name: String = "spec") throws -> URL {
        let folder = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        try Self.script.write(to: folder.appendingPathComponent("train.py"), atomically: true, encoding: .utf8)
        try Self.csv.write(to: folder.appendingPathComponent("data/train.csv"), atomically: true, encoding: .utf8)
        return folder
    }

    func spec(name: String = "byom", params: String = "{}", extra: String = "") -> String {
        """
        name: \(name)
        task: command
        command: ["python3", "train.py"]
        data:
          train: data/train.csv
        model:
          params: \(params)
        \(extra)
        """
    }

    @discardableResult
    func submit(_ text: String, folder: URL) async throws -> Job {
        try await services.submitter.submit(text, options: .init(baseDirectory: folder))
    }

    func pool(workers: Int = 1, exitWhenIdle: Duration? = .milliseconds(600), shutdownGrace: Duration = .seconds(10)) -> WorkerPool {
        WorkerPool(services: services, options: .init(workers: workers, exitWhenIdle: exitWhenIdle, shutdownGrace: shutdownGrace,
                                                      minPoll: .milliseconds(20), maxPoll: .milliseconds(100), namePrefix: "test"))
    }

    /// Runs a pool until the queue has been idle a moment.
    func runUntilIdle(workers: Int = 1) async throws {
        try await pool(workers: workers).run()
    }

    /// Polls until `condition` holds (or fails the test after `timeout`).
    func eventually(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
        if try await Polling.until(timeout: timeout, every: .milliseconds(50), condition) { return }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    func logText(_ id: JobID) async throws -> String {
        try await store.logs(id, after: 0, limit: 10_000).map(\.text).joined(separator: "\n")
    }

    static func sha256(_ text: String) -> String { SHA256.hex(of: Data(text.utf8)) }

    static func processAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    /// A stdlib-only program honouring the training contract. Hyper-parameters:
    /// `epochs` (loss halves each), `mode` (`ok`, `fail`, `sleep`, `require_checkpoint`), `pid_file`.
    static let script = #"""
    import csv, glob, json, os, sys, time

    hp = json.load(open(os.environ["TRAINYARD_HYPERPARAMETERS"]))
    mode = hp.get("mode", "ok")
    if "pid_file" in hp:
        with open(hp["pid_file"] + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(hp["pid_file"] + ".tmp", hp["pid_file"])

    rows = []
    for path in sorted(glob.glob(os.path.join(os.environ["TRAINYARD_INPUT_DIR"], "train", "*.csv"))):
        with open(path) as f:
            rows += list(csv.DictReader(f))

    checkpoint = os.environ["TRAINYARD_CHECKPOINT_DIR"]
    state_file = os.path.join(checkpoint, "state.json")
    parent = json.load(open(state_file)) if os.path.exists(state_file) else None
    print("checkpoint:", "found generation %d" % parent["generation"] if parent else "none")

    if mode == "fail":
        with open(os.path.join(os.environ["TRAINYARD_OUTPUT_DIR"], "failure"), "w") as f:
            f.write("the data is cursed")
        print("failing on purpose", file=sys.stderr)
        sys.exit(1)
    if mode == "sleep":
        print("sleeping", flush=True)
        time.sleep(60)
    if mode == "require_checkpoint" and parent is None:
        with open(os.path.join(os.environ["TRAINYARD_OUTPUT_DIR"], "failure"), "w") as f:
            f.write("no checkpoint to warm start from")
        sys.exit(1)

    loss = 1.0
    for step in range(1, int(hp.get("epochs", 3)) + 1):
        loss /= 2
        print("metric: loss=%s step=%d" % (loss, step))

    model_dir = os.environ["TRAINYARD_MODEL_DIR"]
    slope = sum(float(r["y"]) for r in rows) / sum(float(r["x"]) for r in rows)
    with open(os.path.join(model_dir, "model.json"), "w") as f:
        json.dump({"slope": slope}, f)
    with open(os.path.join(model_dir, "metrics.json"), "w") as f:
        json.dump({"loss": loss, "rows": len(rows), "warm": 1 if parent else 0}, f)
    with open(state_file, "w") as f:
        json.dump({"generation": (parent["generation"] + 1) if parent else 1}, f)
    """#
}
