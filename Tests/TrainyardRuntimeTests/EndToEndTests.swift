import Foundation
import Logging
import ServiceLifecycle
import Testing
import TrainyardCore
@testable import TrainyardRuntime

@Suite("Command training end to end", .serialized)
struct EndToEndTests {
    @Test func successfulRunRegistersOneVersion() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let job = try await h.submit(h.spec(params: "{ epochs: 3 }", extra: "retries: 0\ntimeout: 60s\ntags: { team: ml }"), folder: folder)
        #expect(job.state == .queued)
        #expect(job.spec.data.train?.hasPrefix("artifact:sha256:") == true)

        try await h.runUntilIdle()

        let done = try #require(try await h.store.job(job.id))
        let firstLog = try await h.logText(job.id)
        #expect(done.state == .succeeded, "\(done.failureReason ?? "") \(firstLog)")
        #expect(done.resultVersion == 1)
        #expect(done.attempt == 1)
        let name = try ModelName("byom")
        let versions = try await h.store.versions(of: name)
        #expect(versions.count == 1)
        let version = try #require(versions.first)
        #expect(version.version == 1)
        #expect(version.jobID == job.id)
        #expect(version.metrics["loss"] == 0.125)
        #expect(version.metrics["rows"] == 4)
        #expect(version.metrics["warm"] == 0)
        #expect(version.manifest.history == [
            MetricPoint(step: 1, metrics: ["loss": 0.5]),
            MetricPoint(step: 2, metrics: ["loss": 0.25]),
            MetricPoint(step: 3, metrics: ["loss": 0.125]),
        ])
        #expect(version.manifest.task == .command)
        #expect(version.manifest.tags == ["team": "ml"])
        #expect(version.manifest.params["epochs"] == .int(3))

        // Lineage: the data's digest, the code's digest, the job.
        let lineage = version.manifest.lineage
        #expect(lineage.jobID == job.id)
        #expect(lineage.attempt == 1)
        #expect(lineage.parentVersion == nil)
        #expect(lineage.data.count == 1)
        #expect(lineage.data.first?.key == "data.train")
        #expect(lineage.data.first?.source == "data/train.csv")
        #expect(lineage.data.first?.sha256 == Harness.sha256(Harness.csv))
        #expect(lineage.data.first?.bytes == Int64(Harness.csv.utf8.count))
        #expect(lineage.code?.key == "code")
        #expect(lineage.code?.sha256.count == 64)
        #expect(lineage.worker?.hasPrefix("test-w") == true)

        // Artifacts: every file of the model dir and the checkpoint, then the manifest.
        let names = Set(version.manifest.artifacts.map(\.name))
        #expect(names == ["model.json", "metrics.json", "checkpoint/state.json"])
        let keys = try await h.services.artifacts.list(prefix: "models/byom/1/")
        #expect(Set(keys) == ["models/byom/1/model.json", "models/byom/1/metrics.json", "models/byom/1/checkpoint/state.json",
                              "models/byom/1/manifest.json"])
        let model = try await h.services.artifacts.get("models/byom/1/model.json")
        #expect(String(decoding: model, as: UTF8.self).contains("\"slope\": 2.0"))
        #expect(version.manifest.artifact(named: "model.json")?.sha256 == Harness.sha256(String(decoding: model, as: UTF8.self)))
        let manifest = try JSON.decode(Manifest.self, from: try await h.services.artifacts.get("models/byom/1/manifest.json"))
        #expect(manifest == version.manifest)

        // Logs: the program's output and the registration, also kept beside the job.
        let log = try await h.logText(job.id)
        #expect(log.contains("attempt 1 of 1 started"))
        #expect(log.contains("checkpoint: none"))
        #expect(log.contains("metric: loss=0.125 step=3"))
        #expect(log.contains("registered byom:1"))
        let stored = try await h.services.artifacts.get("jobs/\(job.id)/log")
        #expect(String(decoding: stored, as: UTF8.self).contains("registered byom:1"))
        #expect(try await h.store.resolve(ModelReference(name: name)).version == 1)
    }

    @Test func failingProgramFailsWithItsReason() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let once = try await h.submit(h.spec(params: "{ mode: fail }", extra: "retries: 0"), folder: folder)
        try await h.runUntilIdle()
        let failed = try #require(try await h.store.job(once.id))
        #expect(failed.state == .failed)
        #expect(failed.attempt == 1)
        #expect(failed.failureReason?.hasPrefix("the data is cursed") == true, "\(failed.failureReason ?? "nil")")
        #expect(failed.failureReason?.contains("failing on purpose") == true) // the stderr tail
        #expect(try await h.store.versions(of: try ModelName("byom")).isEmpty)

        let twice = try await h.submit(h.spec(params: "{ mode: fail }", extra: "retries: 1"), folder: folder)
        try await h.runUntilIdle()
        let failedTwice = try #require(try await h.store.job(twice.id))
        #expect(failedTwice.state == .failed)
        #expect(failedTwice.attempt == 2)
        #expect(failedTwice.failureReason?.hasPrefix("the data is cursed") == true)
        let log = try await h.logText(twice.id)
        #expect(log.contains("attempt 1 of 2 started"))
        #expect(log.contains("attempt 2 of 2 started"))
        #expect(try await h.store.jobs(JobFilter(states: [.failed])).count == 2)
    }

    @Test func programRunningPastItsTimeoutIsStopped() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let pidFile = h.root.appendingPathComponent("pid")
        let job = try await h.submit(h.spec(params: "{ mode: sleep, pid_file: \"\(pidFile.path)\" }", extra: "retries: 0\ntimeout: 2s"),
                                     folder: folder)
        // The program sleeps 60 s and would then succeed: failing "timed out" is the timeout at work.
        try await h.runUntilIdle()
        let failed = try #require(try await h.store.job(job.id))
        #expect(failed.state == .failed)
        #expect(failed.failureReason?.contains("timed out") == true, "\(failed.failureReason ?? "nil")")
        // On a loaded machine Python may not even have written its pid within the 2 s; when it
        // did, that process is gone.
        if let text = try? String(contentsOf: pidFile, encoding: .utf8), let pid = Int32(text) {
            #expect(!Harness.processAlive(pid))
        }
    }

    @Test func cancellingARunningJobStopsTheProgram() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let pidFile = h.root.appendingPathComponent("pid")
        let job = try await h.submit(h.spec(params: "{ mode: sleep, pid_file: \"\(pidFile.path)\" }", extra: "retries: 3"), folder: folder)
        let pool = h.pool(exitWhenIdle: .milliseconds(600))
        let running = Task { try await pool.run() }
        try await h.eventually("the program to start") { FileManager.default.fileExists(atPath: pidFile.path) }
        let pid = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8)))
        #expect(Harness.processAlive(pid))
        let requested = try await h.store.cancel(job.id)
        #expect(requested.cancelRequested)
        try await running.value
        let cancelled = try #require(try await h.store.job(job.id))
        #expect(cancelled.state == .cancelled)
        #expect(cancelled.attempt == 1)
        #expect(!Harness.processAlive(pid))
        #expect(try await h.logText(job.id).contains("cancelled"))
    }

    @Test func warmStartAndPromotion() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let promote = "promote: { alias: production, metric: loss }\nretries: 0"
        // v1: from scratch (the alias does not exist yet), promoted because production is unset.
        let first = try await h.submit(h.spec(params: "{ epochs: 3 }", extra: "warm_start: production\n" + promote), folder: folder)
        // v2: continues from production (v1) but is worse: not promoted.
        let second = try await h.submit(h.spec(params: "{ epochs: 2, mode: require_checkpoint }", extra: "warm_start: production\n" + promote),
                                        folder: folder)
        // v3: continues from version 1 by number and is better: promoted.
        let third = try await h.submit(h.spec(params: "{ epochs: 5, mode: require_checkpoint }", extra: "warm_start: 1\n" + promote),
                                       folder: folder)
        try await h.runUntilIdle()

        for job in [first, second, third] {
            let done = try #require(try await h.store.job(job.id))
            let log = try await h.logText(job.id)
            #expect(done.state == .succeeded, "job \(job.id): \(done.failureReason ?? "") \(log)")
        }
        let name = try ModelName("byom")
        let v1 = try #require(try await h.store.version(name, 1))
        let v2 = try #require(try await h.store.version(name, 2))
        let v3 = try #require(try await h.store.version(name, 3))
        #expect(v1.manifest.lineage.parentVersion == nil)
        #expect(v1.metrics["warm"] == 0)
        #expect(v2.manifest.lineage.parentVersion == 1)
        #expect(v2.metrics["warm"] == 1)
        #expect(v3.manifest.lineage.parentVersion == 1)
        #expect(v3.metrics["warm"] == 1)
        #expect(try await h.logText(first.id).contains("training from scratch"))
        #expect(try await h.logText(second.id).contains("checkpoint: found generation 1"))
        #expect(try await h.logText(second.id).contains("warm start from byom:1"))
        // The checkpoint written by v2 continues the generation count.
        let state = try await h.services.artifacts.get("models/byom/2/checkpoint/state.json")
        #expect(String(decoding: state, as: UTF8.self).contains("\"generation\": 2"))

        #expect(try await h.store.aliases(of: name).map(\.version) == [3])
        let events = try await h.store.aliasEvents(of: name)
        #expect(events.map(\.fromVersion) == [nil, 1])
        #expect(events.map(\.toVersion) == [1, 3])
        #expect(try await h.logText(second.id).contains("not promoted"))
        #expect(try await h.store.resolve(ModelReference(name: name)).version == 3)
    }

    @Test func gracefulShutdownReleasesTheRunningJob() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let pidFile = h.root.appendingPathComponent("pid")
        let job = try await h.submit(h.spec(params: "{ mode: sleep, pid_file: \"\(pidFile.path)\" }", extra: "retries: 0"), folder: folder)
        let pool = h.pool(exitWhenIdle: nil, shutdownGrace: .milliseconds(200))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: pool)], logger: logger))
        let running = Task { try await group.run() }
        try await h.eventually("the program to start") { FileManager.default.fileExists(atPath: pidFile.path) }
        let pid = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8)))
        await group.triggerGracefulShutdown()
        try await running.value
        let released = try #require(try await h.store.job(job.id))
        #expect(released.state == .queued)
        #expect(released.attempt == 0) // the attempt is not counted
        #expect(released.workerID == nil)
        #expect(!Harness.processAlive(pid))
        #expect(try await h.logText(job.id).contains("worker shutting down"))
    }
}

@Suite("JobSubmitter")
struct SubmitterTests {
    @Test func relativePathNeedsTheSpecFolder() async throws {
        let h = try await Harness()
        do {
            _ = try await h.services.submitter.submit(h.spec(), options: .init(baseDirectory: nil))
            Issue.record("expected an error")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidSpec)
            #expect(error.details.first?.path == "data.train")
            #expect(error.message.contains("relative path"))
        }
        #expect(try await h.store.jobs(JobFilter()).isEmpty)
    }

    @Test func missingFileNamesTheKeyAndLine() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let text = h.spec().replacingOccurrences(of: "data/train.csv", with: "data/missing.csv")
        do {
            _ = try await h.submit(text, folder: folder)
            Issue.record("expected an error")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidSpec)
            let detail = try #require(error.details.first)
            #expect(detail.path == "data.train")
            #expect(detail.line == 5)
            #expect(detail.column == 10)
            #expect(detail.message.contains("missing.csv"))
        }
        #expect(try await h.store.jobs(JobFilter()).isEmpty)
    }

    @Test func invalidSpecsAndUnknownTrainersEnqueueNothing() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        await #expect(throws: TrainyardError.self) { try await h.submit("name: byom\ntask: command\nretries: 99\n", folder: folder) }
        await #expect(throws: TrainyardError.self) { try await h.submit("name: m\ntask: ner\ndata: { train: data/train.csv }\n", folder: folder) }
        #expect(try await h.store.jobs(JobFilter()).isEmpty)
    }

    @Test func dataLocationForms() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let csv = folder.appendingPathComponent("data/train.csv")
        // Absolute paths and file:// URIs need no spec folder (no code is staged without one).
        for location in [csv.path, csv.absoluteString] {
            let text = h.spec().replacingOccurrences(of: "data/train.csv", with: location)
            let job = try await h.services.submitter.submit(text, options: .init(baseDirectory: nil))
            #expect(job.spec.data.train == "artifact:sha256:\(Harness.sha256(Harness.csv))")
            #expect(job.spec.staged.map(\.key) == ["data.train"])
            #expect(job.spec.staged.first?.source == location)
        }
        let empty = folder.appendingPathComponent("data/empty.csv")
        try Data().write(to: empty)
        // A process without S3 refuses s3:// data saying so (with S3: S3DataSpecTests).
        var withoutS3 = h.services
        withoutS3.dataObjects = nil
        for (location, message) in [("s3://bucket/x.csv", "needs S3"), ("http://example.com/x.csv", "scheme"), ("data", "folder"),
                                    ("data/empty.csv", "empty")] {
            let text = h.spec().replacingOccurrences(of: "data/train.csv", with: location)
            do {
                _ = try await withoutS3.submitter.submit(text, options: .init(baseDirectory: folder))
                Issue.record("expected \(location) to be refused")
            } catch let error as TrainyardError {
                #expect(error.details.first?.path == "data.train")
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
        #expect(try await h.store.jobs(JobFilter()).count == 2)
    }

    @Test func delayedAndPrioritisedSubmission() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let now = Date()
        let job = try await h.services.submitter.submit(h.spec(), options: .init(baseDirectory: folder, submittedBy: "ci", priority: 9,
                                                                                 delay: .seconds(3600)))
        #expect(job.priority == 9)
        #expect(job.submittedBy == "ci")
        #expect(job.runAfter.timeIntervalSince(now) > 3500)
        #expect(try await h.store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(5)) == nil)
        // Identical data is staged once.
        _ = try await h.submit(h.spec(), folder: folder)
        let blobs = try await h.services.artifacts.list(prefix: "blobs/sha256/\(Harness.sha256(Harness.csv))")
        #expect(blobs.count == 1)
    }
}
