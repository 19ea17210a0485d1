import Crypto
import Foundation
import Testing
import TrainyardCore
@testable import TrainyardRuntime
import TrainyardStorage

/// A trainer whose `model.bin` says which attempt made it.
struct AttemptStampingTrainer: Trainer {
    func validate(_ spec: ParsedSpec) throws(TrainyardError) {}

    func train(_ run: TrainingRun) async throws -> TrainingOutput {
        try FileManager.default.createDirectory(at: run.workDirectory, withIntermediateDirectories: true)
        let file = run.workDirectory.appendingPathComponent("model.bin")
        try Data("model of attempt \(run.attempt)".utf8).write(to: file)
        return TrainingOutput(algorithm: "test", artifacts: ["model.bin": file], metrics: ["loss": Double(run.attempt)])
    }
}

/// Holds every file write of one attempt's staging area until the gate opens: an attempt that
/// stalls mid-registration for longer than its lease.
func gatedAttemptWrites(_ base: any ArtifactStore, attempt: Int, reached: Box<Bool>, gate: Box<Bool>) -> FileWriteHook {
    FileWriteHook(base: base) { key in
        guard key.contains("/attempt-\(attempt)/") else { return }
        reached.set(true)
        // Bounded, so that a broken test ends instead of hanging.
        for _ in 0..<6000 where !gate.get { try await Task.sleep(for: .milliseconds(10)) }
    }
}

@Suite("Fenced, write-once versions", .serialized)
struct VersionFencingTests {
    /// Moves the stores' clock past the running attempt's lease and takes the job over: the
    /// dequeue returns the expired job to the queue (after its retry backoff, also passed) and
    /// hands it out again as the next attempt. No waiting on the wall clock.
    func takeOver(_ h: Harness, clock: ManualClock) async throws -> Lease {
        for _ in 0..<10 {
            clock.advance(by: .seconds(700))
            if let lease = try await h.store.dequeue(workerID: "fast", kinds: [.train], leaseDuration: .seconds(600)) { return lease }
        }
        Issue.record("the expired lease was not taken over")
        throw CancellationError()
    }

    /// Every file of the registered version matches its manifest digest; returns the manifest.
    func verifiedManifest(_ h: Harness, _ name: ModelName, _ number: Int) async throws -> Manifest {
        let version = try #require(try await h.store.version(name, number))
        for entry in version.manifest.artifacts {
            let bytes = try await h.services.artifacts.get(ArtifactKeys.versionFile(name, number, entry.name))
            #expect(SHA256.hex(of: bytes) == entry.sha256, "\(entry.name) no longer matches its manifest")
        }
        let published = try JSON.decode(Manifest.self, from: try await h.services.artifacts.get(ArtifactKeys.versionFile(name, number, "manifest.json")))
        #expect(published.lineage.attempt == version.manifest.lineage.attempt)
        return version.manifest
    }

    /// The issue's test: attempt 1 loses its lease while writing, attempt 2 registers, attempt 1
    /// finishes writing afterwards. The version stays attempt 2's, digests verified, and attempt
    /// 1 is told it lost its lease.
    /// Runs on SQLite + a folder and on the in-memory stores: the guarantee is the ports', not one backend's.
    @Test(arguments: [false, true]) func staleAttemptFinishingLateCannotOverwriteTheRegisteredVersion(inMemory: Bool) async throws {
        let reached = Box(false), gate = Box(false), clock = ManualClock(Date())
        let h = try await Harness(trainer: AttemptStampingTrainer(), clock: clock, inMemory: inMemory,
                                  wrap: { gatedAttemptWrites($0, attempt: 1, reached: reached, gate: gate) })
        let job = try await h.submit(h.spec(extra: "retries: 2"), folder: try h.specFolder())
        // No heartbeat, and the clock moved past the lease while attempt 1's write is held.
        let first = try #require(try await h.store.dequeue(workerID: "slow", kinds: [.train], leaseDuration: .seconds(600)))
        let slow = Task { await JobRunner(services: h.services, workerID: "slow", heartbeatInterval: .seconds(3600)).run(first) }
        try await h.eventually("attempt 1 to start writing its version", timeout: .seconds(60)) { reached.get }

        let second = try await takeOver(h, clock: clock)
        #expect(second.token.attempt == 2)
        await JobRunner(services: h.services, workerID: "fast").run(second)
        #expect(try await h.store.job(job.id)?.state == .succeeded)

        gate.set(true)
        await slow.value

        let name = try ModelName("byom")
        #expect(try await h.store.versions(of: name).map(\.version) == [1])
        let manifest = try await verifiedManifest(h, name, 1)
        #expect(manifest.lineage.attempt == 2)
        #expect(try await h.services.artifacts.get(ArtifactKeys.versionFile(name, 1, "model.bin")) == Data("model of attempt 2".utf8))
        let done = try #require(try await h.store.job(job.id))
        #expect(done.state == .succeeded && done.attempt == 2 && done.resultVersion == 1)
        let log = try await h.logText(job.id)
        #expect(log.contains("attempt 1 on slow lost its lease before publishing: byom:1 was already published by attempt 2"), "\(log)")
        #expect(try await h.services.artifacts.list(prefix: "staging/").isEmpty, "the stale attempt's files were discarded")
    }

    /// An earlier attempt that published and then died before registering: the attempt holding
    /// the lease sets those files aside and publishes its own; the earlier one, coming back,
    /// cannot publish over it.
    @Test(arguments: [false, true]) func publishedButUnregisteredFilesOfAnEarlierAttemptAreSetAside(inMemory: Bool) async throws {
        let clock = ManualClock(Date())
        let h = try await Harness(trainer: AttemptStampingTrainer(), clock: clock, inMemory: inMemory)
        let job = try await h.submit(h.spec(extra: "retries: 2"), folder: try h.specFolder())
        let first = try #require(try await h.store.dequeue(workerID: "slow", kinds: [.train], leaseDuration: .seconds(600)))
        let name = try ModelName("byom")
        let number = try await h.store.reserveVersion(first.token)
        func publication(_ lease: Lease) -> VersionPublication {
            VersionPublication(artifacts: h.services.artifacts, store: h.store, token: lease.token, model: name, version: number,
                               leaseDuration: .seconds(600))
        }
        func stage(_ lease: Lease) async throws {
            let lineage = Lineage(jobID: job.id, attempt: lease.token.attempt, data: [], createdAt: Date())
            let manifest = Manifest(model: name, version: number, task: .command, algorithm: "test", lineage: lineage)
            let staging = publication(lease).staging
            try await h.services.artifacts.put(staging + "model.bin", data: Data("model of attempt \(lease.token.attempt)".utf8))
            try await h.services.artifacts.put(staging + "manifest.json", data: try JSON.encode(manifest))
        }
        // Attempt 1 publishes, then dies before its `complete`.
        try await stage(first)
        try await publication(first).publish()
        let second = try await takeOver(h, clock: clock)
        try await stage(second)
        try await publication(second).publish()
        #expect(try await h.services.artifacts.get(ArtifactKeys.versionFile(name, number, "model.bin")) == Data("model of attempt 2".utf8))

        // Attempt 1 again (a retried call): refused, and the published version is untouched.
        try await stage(first)
        await #expect(throws: TrainyardError.self) { try await publication(first).publish() }
        #expect(try await h.services.artifacts.get(ArtifactKeys.versionFile(name, number, "model.bin")) == Data("model of attempt 2".utf8))
        #expect(try await h.services.artifacts.list(prefix: "staging/").isEmpty)
    }

    /// A worker killed mid-registration on a job's last attempt leaves its staged files; a
    /// starting worker pool removes those of ended (or unknown) jobs and keeps a live job's.
    @Test(arguments: [false, true]) func workerStartRemovesStagingOfEndedJobs(inMemory: Bool) async throws {
        let h = try await Harness(trainer: AttemptStampingTrainer(), inMemory: inMemory)
        let ended = try await h.submit(h.spec(extra: "retries: 0"), folder: try h.specFolder())
        _ = try await h.store.cancel(ended.id)
        let live = try await h.submit(h.spec(name: "other", extra: "retries: 0"), folder: try h.specFolder("other"))
        let lease = try #require(try await h.store.dequeue(workerID: "elsewhere", kinds: [.train], leaseDuration: .seconds(600)))
        #expect(lease.job.id == live.id)
        for id in [ended.id, live.id, 999_999] {
            try await h.services.artifacts.put(ArtifactKeys.attemptStaging(id, attempt: 1) + "model.bin", data: Data("partial".utf8))
        }
        try await h.runUntilIdle()
        #expect(try await h.services.artifacts.list(prefix: "staging/") == [ArtifactKeys.attemptStaging(live.id, attempt: 1) + "model.bin"])
    }

    /// Files of another job at the reserved version (a registry reset with the artifacts kept):
    /// the job fails at once, naming the folder, and those files are not overwritten.
    @Test(arguments: [false, true]) func foreignFilesAtTheVersionFailTheJobAndStay(inMemory: Bool) async throws {
        let h = try await Harness(trainer: AttemptStampingTrainer(), inMemory: inMemory)
        let name = try ModelName("byom")
        let foreign = Manifest(model: name, version: 1, task: .command, algorithm: "old", lineage: Lineage(jobID: 4242, attempt: 1, data: [], createdAt: Date()))
        try await h.services.artifacts.put(ArtifactKeys.versionFile(name, 1, "manifest.json"), data: try JSON.encode(foreign))
        try await h.services.artifacts.put(ArtifactKeys.versionFile(name, 1, "model.bin"), data: Data("old model".utf8))
        let job = try await h.submit(h.spec(extra: "retries: 2"), folder: try h.specFolder())
        try await h.runUntilIdle()
        let failed = try #require(try await h.store.job(job.id))
        #expect(failed.state == .failed && failed.attempt == 1, "not retried")
        #expect(failed.failureReason?.hasPrefix("could not register byom: models/byom/1/ already holds files of job 4242, which the registry does not know") == true,
                "\(failed.failureReason ?? "")")
        #expect(try await h.services.artifacts.get(ArtifactKeys.versionFile(name, 1, "model.bin")) == Data("old model".utf8))
        #expect(try await h.services.artifacts.list(prefix: "staging/").isEmpty)
    }
}
