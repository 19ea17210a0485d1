#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import Testing
import TrainyardApp
import TrainyardCore
@testable import TrainyardRuntime

/// What a submit reads: only regular files, within limits.stage_bytes and limits.stage_seconds,
/// and (over HTTP) only where the data-access policy allows. None of these may hang the submit.
@Suite("Staging: only regular files, within limits, where the policy allows")
struct DataStagingSafetyTests {
    /// Services on a fresh folder; `limits` as given.
    struct Setup {
        let root: URL
        let services: TrainyardServices

        init(limits: ResourceLimits = ResourceLimits()) async throws {
            root = URL(fileURLWithPath: LocalDataFile.realPath(FileManager.default.temporaryDirectory.path) ?? "/tmp")
                .appendingPathComponent("trainyard-staging-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            var configuration = TrainyardConfiguration(dataDirectory: root.appendingPathComponent("store"))
            configuration.limits = limits
            var logger = Logger(label: "staging-test")
            logger.logLevel = .critical
            services = try await TrainyardApp.build(configuration, trainers: TrainerRegistry([.command: CommandTrainer()]), logger: logger).services
        }

        func file(_ name: String, _ text: String = "x,y\n1,2\n") throws -> URL {
            let url = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }

        func spec(train: String) -> String {
            "name: safe\ntask: command\ncommand: [\"true\"]\ndata:\n  train: \"\(train)\"\n"
        }

        /// Submits and returns the error it must fail with.
        func refusal(_ train: String, access: DataAccessPolicy = .unrestricted) async throws -> TrainyardError {
            do {
                _ = try await services.submitter.submit(spec(train: train), options: .init(access: access))
            } catch let error as TrainyardError {
                return error
            }
            Issue.record("\(train) was accepted")
            throw CancellationError()
        }

        var jobs: [Job] { get async throws { try await services.store.jobs(JobFilter()) } }
        var blobs: [String] { get async throws { try await services.artifacts.list(prefix: "blobs/") } }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    @Test func devicesAreRefusedWithoutReading() async throws {
        let s = try await Setup()
        defer { s.remove() }
        for device in ["/dev/zero", "/dev/urandom", "/dev/null", "file:///dev/zero"] {
            let error = try await s.refusal(device)
            #expect(error.code == .invalidSpec)
            #expect(error.details.first?.path == "data.train")
            #expect(error.message.contains("not a regular file") || error.message.contains("pseudo-file"), "\(error.message)")
        }
        #expect(try await s.jobs.isEmpty)
        #expect(try await s.blobs.isEmpty)
    }

    @Test func fifoWithAWriterThatNeverClosesIsRefusedNotWaitedOn() async throws {
        let s = try await Setup()
        defer { s.remove() }
        let fifo = s.root.appendingPathComponent("endless.csv")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        // A writer that keeps the FIFO open for the whole test, with data waiting in it.
        let writer = open(fifo.path, O_RDWR | O_NONBLOCK)
        #expect(writer >= 0)
        defer { close(writer) }
        _ = "a,b\n1,2\n".withCString { write(writer, $0, 8) }

        let error = try await s.refusal(fifo.path)
        #expect(error.code == .invalidSpec)
        #expect(error.message.contains("not a regular file"), "\(error.message)")
        // The check that `train --check` runs says the same.
        await #expect(throws: TrainyardError.self) { try await s.services.submitter.check(s.spec(train: fifo.path)) }
        #expect(try await s.jobs.isEmpty)
    }

    #if os(Linux)
    @Test func kernelPseudoFilesAreRefusedEvenLocally() async throws {
        let s = try await Setup()
        defer { s.remove() }
        for path in ["/proc/self/environ", "/proc/self/cmdline", "/sys/kernel/uevent_seqnum"] {
            let error = try await s.refusal(path)
            #expect(error.code == .invalidSpec)
            #expect(error.message.contains("pseudo-file") || error.message.contains("does not exist"), "\(path): \(error.message)")
            #expect(!error.message.contains("PATH="))
        }
        // Through a link that looks harmless, too.
        let link = s.root.appendingPathComponent("env.csv")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/proc/self/environ")
        #expect(try await s.refusal(link.path).message.contains("pseudo-file"))
        #expect(try await s.jobs.isEmpty)
    }
    #endif

    @Test func filesOverTheStageLimitAreRefusedNamingIt() async throws {
        let s = try await Setup(limits: ResourceLimits(stageBytes: 32))
        defer { s.remove() }
        let big = try s.file("big.csv", "x,y\n" + String(repeating: "1,2\n", count: 20))
        let error = try await s.refusal(big.path)
        #expect(error.code == .invalidSpec)
        #expect(error.details.first?.path == "data.train")
        #expect(error.message.contains("limits.stage_bytes (32)"), "\(error.message)")
        #expect(try await s.jobs.isEmpty)
        #expect(try await s.blobs.isEmpty)

        let small = try s.file("small.csv", "x,y\n1,2\n")
        let job = try await s.services.submitter.submit(s.spec(train: small.path))
        #expect(job.spec.staged.first?.bytes == 8)
        #expect(try await s.blobs.count == 1)
    }

    @Test func restrictedSubmissionsReadOnlyUnderTheRootsAfterResolvingLinks() async throws {
        let s = try await Setup()
        defer { s.remove() }
        let root = s.root.appendingPathComponent("lake")
        let inside = try s.file("lake/train.csv")
        let outside = try s.file("private/secret.csv", "secret,value\nhunter2,1\n")
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("escape.csv").path, withDestinationPath: outside.path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("ghost.csv").path, withDestinationPath: s.root.appendingPathComponent("private/none.csv").path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("private").path, withDestinationPath: s.root.appendingPathComponent("private").path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("alias.csv").path, withDestinationPath: inside.path)
        let policy = DataAccessPolicy.restricted(to: [root.path])

        var messages: Set<String> = []
        for location in [outside.path, "\(root.path)/../private/secret.csv", "\(root.path)/escape.csv", "\(root.path)/ghost.csv",
                         "\(root.path)/private/secret.csv", "\(root.path)/private/none.csv", "\(root.path)/private/no/such/file.csv",
                         "file://\(outside.path)", "/etc/passwd", "/nonexistent/x.csv"] {
            let error = try await s.refusal(location, access: policy)
            #expect(error.code == .forbidden, "\(location)")
            #expect(error.details.first?.path == "data.train")
            #expect(!error.message.contains("hunter2"))
            messages.insert(error.message)
        }
        // One message for all: it cannot tell which of those files exist.
        #expect(messages.count == 1)
        #expect(messages.first?.contains("server.data_roots") == true)
        #expect(try await s.jobs.isEmpty)
        #expect(try await s.blobs.isEmpty)

        // Inside the root: a file missing there is reported as missing, and real files stage.
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("dangling.csv").path, withDestinationPath: root.appendingPathComponent("none.csv").path)
        for location in ["\(root.path)/missing.csv", "\(root.path)/dangling.csv", "\(root.path)/sub/../missing.csv"] {
            let missing = try await s.refusal(location, access: policy)
            #expect(missing.code == .invalidSpec, "\(location)")
            #expect(missing.message.contains("does not exist"))
        }
        for location in [inside.path, "\(root.path)/alias.csv", "file://\(inside.path)"] {
            let job = try await s.services.submitter.submit(s.spec(train: location), options: .init(access: policy))
            #expect(job.spec.staged.first?.bytes == 8)
        }
        // Relative paths have no folder to resolve against over HTTP.
        #expect(try await s.refusal("lake/train.csv", access: policy).message.contains("relative path"))
    }

    @Test func checkRunsEveryCheckButStagesAndEnqueuesNothing() async throws {
        let s = try await Setup()
        defer { s.remove() }
        let csv = try s.file("train.csv")
        let checked = try await s.services.submitter.check(s.spec(train: csv.path))
        #expect(checked.localFiles["data.train"]?.path == csv.path)
        #expect(try await s.jobs.isEmpty)
        #expect(try await s.blobs.isEmpty)
        // The policy and a blob that is not there fail the check as they fail a submit.
        await #expect(throws: TrainyardError.self) {
            try await s.services.submitter.check(s.spec(train: csv.path), options: .init(access: .restricted(to: [])))
        }
        let missingBlob = "artifact:sha256:" + String(repeating: "0", count: 64)
        await #expect(throws: TrainyardError.self) { try await s.services.submitter.check(s.spec(train: missingBlob)) }
        let badBlob = "artifact:sha256:../../models"
        await #expect(throws: TrainyardError.self) { try await s.services.submitter.check(s.spec(train: badBlob)) }
    }

    // MARK: Reads that never end

    @Test func aReadThatNeverReturnsEndsAtTheDeadlineNamingTheLimit() async throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let (reader, writer) = (ends[0], ends[1])
        defer { close(writer); close(reader) }
        _ = "a,b\n".withCString { write(writer, $0, 4) }
        let sink = open("/dev/null", O_WRONLY)
        defer { close(sink) }
        struct Deadline: Error {}
        // Without the deadline this read waits for the writer forever.
        await #expect(throws: Deadline.self) {
            try await runBlocking(deadline: .milliseconds(300), onDeadline: { Deadline() }) { stop in
                try LocalDataFile.copyHashing(from: reader, to: sink, limit: .max, stop: stop)
            }
        }
    }

    @Test func stagingPastTheDeadlineFailsNamingTheLimit() async throws {
        let s = try await Setup(limits: ResourceLimits(stageSeconds: 1))
        defer { s.remove() }
        let csv = try s.file("train.csv")
        let parsed = try SpecParser().parse(s.spec(train: csv.path))
        do {
            // A read that does not finish on its own (it stops only when told to).
            _ = try await SubmittedData.withFile(csv.path, key: "data.train", written: csv.path, parsed: parsed, access: .unrestricted,
                                                 limits: s.services.configuration.limits) { _, stop -> Int in
                while !stop.isSet { usleep(1000) }
                throw CancellationError()
            }
            Issue.record("expected the deadline")
        } catch let error as TrainyardError {
            #expect(error.code == .timeout)
            #expect(error.details.first?.path == "data.train")
            #expect(error.message.contains("limits.stage_seconds (1 s)"), "\(error.message)")
        }
    }

    @Test func cancellingTheCallerEndsABlockedRead() async throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let (reader, writer) = (ends[0], ends[1])
        defer { close(writer); close(reader) }
        let sink = open("/dev/null", O_WRONLY)
        defer { close(sink) }
        let started = AsyncStream<Void>.makeStream()
        let task = Task {
            try await runBlocking(deadline: .seconds(3600), onDeadline: { CancellationError() }) { stop in
                started.continuation.yield()
                return try LocalDataFile.copyHashing(from: reader, to: sink, limit: .max, stop: stop)
            }
        }
        for await _ in started.stream { break }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func deadlineRunnerReturnsTheWorksResultAndErrors() async throws {
        let value = try await runBlocking(deadline: .seconds(60), onDeadline: { CancellationError() }) { _ in 42 }
        #expect(value == 42)
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await runBlocking(deadline: .seconds(60), onDeadline: { CancellationError() }) { _ -> Int in throw Boom() } }
        // Already cancelled: the work's result is not waited for.
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await runBlocking(deadline: .seconds(60), onDeadline: { CancellationError() }) { _ in 1 }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
