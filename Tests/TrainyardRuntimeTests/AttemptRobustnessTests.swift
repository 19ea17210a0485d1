import Foundation
import GRDB
import Synchronization
import Testing
import TrainyardCore
@testable import TrainyardRuntime
@testable import TrainyardStorage

/// A trainer that writes `bytes` bytes as `model.bin` (after running `onStart`), so runner
/// behaviour can be tested without a child process.
struct FileWritingTrainer: Trainer {
    var bytes: Int
    var onStart: @Sendable (TrainingRun) async throws -> Void = { _ in }

    func validate(_ spec: ParsedSpec) throws(TrainyardError) {}

    func train(_ run: TrainingRun) async throws -> TrainingOutput {
        try await onStart(run)
        try FileManager.default.createDirectory(at: run.workDirectory, withIntermediateDirectories: true)
        let file = run.workDirectory.appendingPathComponent("model.bin")
        try Data(repeating: 42, count: bytes).write(to: file)
        return TrainingOutput(algorithm: "test", artifacts: ["model.bin": file], metrics: ["loss": 0.5])
    }
}

/// Forwards every call to `base`, first handing each `put(_:file:)`'s key to `beforeFileWrite`:
/// the one place the runner's fault-injection stores (a slow copy, a write held at a gate) differ.
struct FileWriteHook: ArtifactStore {
    let base: any ArtifactStore
    let beforeFileWrite: @Sendable (String) async throws -> Void

    func put(_ key: String, data: Data) async throws -> StoredObject { try await base.put(key, data: data) }
    func put(_ key: String, file: URL) async throws -> StoredObject {
        try await beforeFileWrite(key)
        return try await base.put(key, file: file)
    }
    func put<Chunks: AsyncSequence>(_ key: String, from chunks: Chunks) async throws -> StoredObject where Chunks.Element == Data {
        try await base.put(key, from: chunks)
    }
    func get(_ key: String) async throws -> Data { try await base.get(key) }
    func read(_ key: String, chunks consume: (Data) async throws -> Void) async throws -> StoredObject { try await base.read(key, chunks: consume) }
    func download(_ key: String, to file: URL) async throws -> StoredObject { try await base.download(key, to: file) }
    func exists(_ key: String) async throws -> Bool { try await base.exists(key) }
    func list(prefix: String) async throws -> [String] { try await base.list(prefix: prefix) }
    func delete(_ key: String) async throws { try await base.delete(key) }
    func publish(_ source: String, to destination: String) async throws -> PublicationOutcome { try await base.publish(source, to: destination) }
    var location: String { base.location }
}

/// Each version file written first waits `delay`: a model that takes longer than the lease to copy.
func slowVersionWrites(_ base: any ArtifactStore, delay: Duration) -> FileWriteHook {
    FileWriteHook(base: base) { key in if key.hasPrefix("staging/") { try await Task.sleep(for: delay) } }
}

/// A disk that fills up under `staging/` (where versions are written): the first `failures` version files written fail with
/// ENOSPC after their first MiB (a partial temporary file is on disk when the error comes).
final class FullVersionFolder: Sendable {
    private let failuresLeft: Mutex<Int>
    init(failures: Int) { failuresLeft = Mutex(failures) }

    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) -> Int {
        guard path.contains("/staging/") else { return Glibc.write(fd, bytes.baseAddress, bytes.count) }
        let offset = lseek(fd, 0, SEEK_CUR)
        let fail = offset >= 1 << 20 && failuresLeft.withLock { left in
            guard left > 0 else { return false }
            left -= 1
            return true
        }
        if fail { errno = ENOSPC; return -1 }
        return Glibc.write(fd, bytes.baseAddress, bytes.count)
    }
}

final class Box<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    var get: Value { value.withLock { $0 } }
    func set(_ new: Value) { value.withLock { $0 = new } }
}

/// Every `.tmp-*` file under `folder`.
func leftoverTemporaryFiles(_ folder: URL) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
    return walker.compactMap { $0 as? String }.filter { URL(fileURLWithPath: $0).lastPathComponent.hasPrefix(".tmp-") }
}

@Suite("Job attempts under faults", .serialized)
struct AttemptRobustnessTests {
    /// Registration copying for longer than the lease: the heartbeat keeps the lease, so the
    /// job registers once on its first attempt. The lease leaves a heartbeat (one a second)
    /// fourteen seconds of slack: a loaded CI machine stalled the store's writes for more than
    /// five. The copy outlasts the lease by five seconds, about five heartbeats.
    @Test func registrationLongerThanTheLeaseSucceeds() async throws {
        let h = try await Harness(leaseDuration: .seconds(15), trainer: FileWritingTrainer(bytes: 1 << 20),
                                  artifacts: { slowVersionWrites($0, delay: .seconds(20)) })
        let job = try await h.submit(h.spec(extra: "retries: 2"), folder: try h.specFolder())
        try await h.runUntilIdle()
        let done = try #require(try await h.store.job(job.id))
        let log = try await h.logText(job.id)
        #expect(done.state == .succeeded, "\(done.failureReason ?? "") \(log)")
        #expect(done.attempt == 1)
        #expect(done.failureReason == nil)
        #expect(try await h.store.versions(of: try ModelName("byom")).map(\.version) == [1])
        #expect(!log.contains("lost its lease"))
    }

    /// A full disk while copying the model: the attempt fails at once with the system's words,
    /// the partial file is removed, and the retry registers the one version; the succeeded job
    /// keeps no failure reason, its log keeps the failed attempt.
    @Test func diskFullDuringRegistrationFailsTheAttemptWithItsReason() async throws {
        let disk = FullVersionFolder(failures: 1)
        let h = try await Harness(trainer: FileWritingTrainer(bytes: 3 << 20),
                                  artifacts: { FileArtifactStore(namespacedRoot: $0.root, writeChunk: { disk.write($0, $1, $2) }) })
        let job = try await h.submit(h.spec(extra: "retries: 1"), folder: try h.specFolder())
        try await h.runUntilIdle()
        let done = try #require(try await h.store.job(job.id))
        let log = try await h.logText(job.id)
        #expect(done.state == .succeeded, "\(done.failureReason ?? "") \(log)")
        #expect(done.attempt == 2)
        #expect(done.failureReason == nil)
        #expect(log.contains("attempt failed: could not register byom: no space left on device while writing staging/jobs/\(job.id)/attempt-1/model.bin"), "\(log)")
        #expect(!log.contains("stopped heartbeating"))
        #expect(try await h.store.versions(of: try ModelName("byom")).map(\.version) == [1])
        #expect(leftoverTemporaryFiles(h.services.configuration.artifactDirectory).isEmpty)
    }

    @Test func diskFullWithNoRetriesLeftFailsTheJob() async throws {
        let disk = FullVersionFolder(failures: 1)
        let h = try await Harness(trainer: FileWritingTrainer(bytes: 3 << 20),
                                  artifacts: { FileArtifactStore(namespacedRoot: $0.root, writeChunk: { disk.write($0, $1, $2) }) })
        let job = try await h.submit(h.spec(extra: "retries: 0"), folder: try h.specFolder())
        try await h.runUntilIdle()
        let failed = try #require(try await h.store.job(job.id))
        #expect(failed.state == .failed)
        #expect(failed.failureReason == "could not register byom: no space left on device while writing staging/jobs/\(job.id)/attempt-1/model.bin")
        #expect(try await h.store.versions(of: try ModelName("byom")).isEmpty)
        #expect(leftoverTemporaryFiles(h.services.configuration.artifactDirectory).isEmpty)
    }

    /// The attempt's first line is in the store before the trainer starts, long before the
    /// first heartbeat: a worker killed in its first second leaves a trace.
    @Test func firstLogLineIsWrittenAtOnce() async throws {
        let store = Box<(any MetadataStore)?>(nil)
        let seenAtStart = Box("")
        let trainer = FileWritingTrainer(bytes: 10, onStart: { run in
            let lines = try await store.get?.logs(run.jobID, after: 0, limit: 100) ?? []
            seenAtStart.set(lines.map(\.text).joined(separator: "\n"))
        })
        let h = try await Harness(trainer: trainer)
        store.set(h.store)
        let job = try await h.submit(h.spec(extra: "retries: 0"), folder: try h.specFolder())
        let lease = try #require(try await h.store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(600)))
        await JobRunner(services: h.services, workerID: "w", heartbeatInterval: .seconds(300)).run(lease)
        #expect(seenAtStart.get.contains("attempt 1 of 1 started on w"), "\(seenAtStart.get)")
        #expect(try await h.store.job(job.id)?.state == .succeeded)
    }

    /// A worker whose lease was taken says so in the job's log, not only in its own.
    @Test func lostLeaseIsToldInTheJobLog() async throws {
        let store = Box<SQLiteMetadataStore?>(nil)
        let trainer = FileWritingTrainer(bytes: 10, onStart: { run in
            // Another worker takes the job over (as after a long pause past the lease).
            let sqlite = try #require(store.get)
            try await sqlite.pool.write { db in
                try db.execute(sql: "UPDATE \(sqlite.t.jobs) SET lease_token = 'taken' WHERE id = ?", arguments: [run.jobID])
            }
            // The next heartbeat finds out and stops the attempt.
            for _ in 0..<600 where !run.progress.isCancelled { try await Task.sleep(for: .milliseconds(50)) }
            throw CancellationError()
        })
        let h = try await Harness(trainer: trainer)
        store.set(h.store as? SQLiteMetadataStore)
        let job = try await h.submit(h.spec(extra: "retries: 0"), folder: try h.specFolder())
        let lease = try #require(try await h.store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(600)))
        await JobRunner(services: h.services, workerID: "w", heartbeatInterval: .milliseconds(100)).run(lease)
        let log = try await h.logText(job.id)
        #expect(log.contains("attempt 1 on w lost its lease"), "\(log)")
        #expect(try await h.store.versions(of: try ModelName("byom")).isEmpty)
    }

    /// Work that never looks at its progress recorder, only at its task's cancellation (an
    /// `await` on something slow), is still stopped: the heartbeat cancels its task when it
    /// finds the lease lost, and at the spec's timeout. Otherwise the work's ten-minute sleep
    /// would end by itself, uncancelled, and the test fails then (no wall-clock bound here).
    /// With a heartbeat interval of an hour, the timeout is the heartbeat's first tick (its task
    /// starts then, `DeferredHeartbeat`) and must still stop the work.
    @Test(arguments: [(true, 100), (false, 100), (false, 3_600_000)])
    func workThatOnlyHonoursTaskCancellationIsStopped(leaseLost: Bool, heartbeatMilliseconds: Int) async throws {
        let store = Box<SQLiteMetadataStore?>(nil)
        let cancelled = Box(false)
        let trainer = FileWritingTrainer(bytes: 10, onStart: { run in
            if leaseLost {
                let sqlite = try #require(store.get)
                try await sqlite.pool.write { db in
                    try db.execute(sql: "UPDATE \(sqlite.t.jobs) SET lease_token = 'taken' WHERE id = ?", arguments: [run.jobID])
                }
            }
            do {
                try await Task.sleep(for: .seconds(600))
            } catch {
                cancelled.set(true)
                throw error
            }
        })
        let h = try await Harness(trainer: trainer)
        store.set(h.store as? SQLiteMetadataStore)
        let job = try await h.submit(h.spec(extra: leaseLost ? "retries: 0" : "retries: 0\ntimeout: 1s"), folder: try h.specFolder())
        let lease = try #require(try await h.store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(600)))
        await JobRunner(services: h.services, workerID: "w", heartbeatInterval: .milliseconds(heartbeatMilliseconds)).run(lease)
        #expect(cancelled.get, "the work's sleep ended without being cancelled")
        let done = try #require(try await h.store.job(job.id))
        if leaseLost {
            #expect(try await h.logText(job.id).contains("attempt 1 on w lost its lease"))
        } else {
            #expect(done.state == .failed)
            #expect(done.failureReason?.hasPrefix("timed out after 1") == true, "\(done.failureReason ?? "")")
        }
        #expect(try await h.store.versions(of: try ModelName("byom")).isEmpty)
    }

    /// The data folder is private (0711, its contents 0700 / 0600), yet a program running as
    /// `runner.user` still reaches the job folder handed to it and registers its model.
    @Test(.enabled(if: geteuid() == 0, "switching users needs root"))
    func runnerUserTrainsInsideThePrivateDataFolder() async throws {
        let h = try await Harness(trainer: CommandTrainer(terminationGrace: .seconds(1), runner: RunnerOptions(user: "nobody")))
        let folder = h.root.appendingPathComponent("sh-spec")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        try Harness.csv.write(to: folder.appendingPathComponent("data/train.csv"), atomically: true, encoding: .utf8)
        try "id -u > \"$TRAINYARD_MODEL_DIR/uid.txt\"\nwc -l < \"$TRAINYARD_INPUT_DIR/train/train.csv\" > \"$TRAINYARD_MODEL_DIR/rows.txt\"\n"
            .write(to: folder.appendingPathComponent("train.sh"), atomically: true, encoding: .utf8)
        let job = try await h.submit("name: byom\ntask: command\ncommand: [\"sh\", \"train.sh\"]\ndata: { train: data/train.csv }\nretries: 0\n",
                                     folder: folder)
        try await h.runUntilIdle()
        let done = try #require(try await h.store.job(job.id))
        let log = try await h.logText(job.id)
        #expect(done.state == .succeeded, "\(done.failureReason ?? "") \(log)")
        let uid = try await h.services.artifacts.get("models/byom/1/uid.txt")
        #expect(String(decoding: uid, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == String(try RunnerIdentity.resolve("nobody").uid))
        #expect(try FileManager.default.attributesOfItem(atPath: h.services.configuration.dataDirectory.path)[.posixPermissions] as? Int == 0o711)
        #expect(try FileManager.default.attributesOfItem(atPath: h.services.configuration.databaseFile.path)[.posixPermissions] as? Int == 0o600)
    }

    /// A starting worker pool removes what killed attempts left: working folders of attempts
    /// that no longer run and stale temporary files; a running attempt's folder is kept.
    @Test func workerStartRemovesWhatDeadAttemptsLeft() async throws {
        let h = try await Harness()
        let job = try await h.submit(h.spec(extra: "retries: 0"), folder: try h.specFolder())
        // Running elsewhere (another worker, another process): its folder must survive.
        let lease = try #require(try await h.store.dequeue(workerID: "elsewhere", kinds: [.train], leaseDuration: .seconds(600)))
        let work = h.services.configuration.dataDirectory.appendingPathComponent("work")
        let live = work.appendingPathComponent("job-\(job.id)-\(lease.token.attempt)-aaaaaaaa")
        let deadAttempt = work.appendingPathComponent("job-\(job.id)-\(lease.token.attempt + 7)-bbbbbbbb")
        let goneJob = work.appendingPathComponent("job-999999-1-cccccccc")
        let unrelated = work.appendingPathComponent("notes")
        for folder in [live, deadAttempt, goneJob, unrelated] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("input"), withIntermediateDirectories: true)
            try Data(repeating: 1, count: 1000).write(to: folder.appendingPathComponent("input/data.csv"))
        }
        let artifacts = try #require(h.services.artifacts as? FileArtifactStore)
        try await artifacts.put("models/byom/1/model.bin", data: Data("m".utf8))
        let versionFolder = artifacts.root.appendingPathComponent("models/byom/1")
        let stale = versionFolder.appendingPathComponent(".tmp-stale"), fresh = versionFolder.appendingPathComponent(".tmp-fresh")
        try Data(repeating: 0, count: 100).write(to: stale)
        try Data(repeating: 0, count: 100).write(to: fresh)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: stale.path)

        try await h.runUntilIdle()

        #expect(FileManager.default.fileExists(atPath: live.path))
        #expect(!FileManager.default.fileExists(atPath: deadAttempt.path))
        #expect(!FileManager.default.fileExists(atPath: goneJob.path))
        #expect(FileManager.default.fileExists(atPath: unrelated.path))
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(FileManager.default.fileExists(atPath: fresh.path))
        #expect(try await artifacts.exists("models/byom/1/model.bin"))
    }
}
