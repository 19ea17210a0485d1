import Foundation
import Testing
import TrainyardApp
import TrainyardCore
@testable import TrainyardRuntime
import TrainyardStorage
import TrainyardTestSupport

/// `TriggerService` on real stores with a `ManualClock` and temporary folders: files and
/// slots fire exactly once — in one pass for a burst, after a restart, with two services on one
/// store at once — half-written files wait, missed slots fire once, failures are recorded and
/// retried without spinning. Passes are driven one by one (`pass()`), with the clock moved
/// between them: nothing waits on wall-clock time.
@Suite("Trigger service")
struct TriggerServiceTests {
    static let settle: Double = 2

    /// A harness with a registered tabular model `prices`, an `inbox` folder and an `out` folder.
    struct Setup {
        let harness: Harness
        let clock: ManualClock
        let inbox: URL
        let out: URL
        var services: TrainyardServices { harness.services }
        var store: any MetadataStore { harness.store }

        init(inMemory: Bool = false) async throws {
            clock = ManualClock()
            harness = try await Harness(clock: clock, inMemory: inMemory)
            inbox = harness.root.appendingPathComponent("inbox")
            out = harness.root.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        }

        func registerModel() async throws { try await RegisteredVersions.registerTabular("prices", services: services) }

        @discardableResult
        func watch(_ name: String = "inbox", glob: String = "*.csv", action: TriggerAction? = nil) async throws -> Trigger {
            let definition = try TriggerDefinition(name: TriggerName(name), source: .watch(WatchSource(path: inbox.path, glob: glob, settleSeconds: TriggerServiceTests.settle)),
                                                   action: action ?? .transform(["model": .string("prices"), "output": .string(out.path)]))
            return try await TriggerCatalog(services: services).create(definition, createdBy: "test", access: .unrestricted)
        }

        @discardableResult
        func drop(_ name: String, _ text: String = "a,b,c\n1,2,u\n3,4,v\n") throws -> URL {
            let url = inbox.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }

        func jobs(_ kind: JobKind) async throws -> [Job] {
            try await store.jobs(JobFilter(kind: kind, limit: 1000))
        }

        /// Another process on the same store: for SQLite, a second store on the same file.
        func secondProcess() async throws -> TrainyardServices {
            guard case .sqlite = services.configuration.metadataBackend else { return services }
            return try await TrainyardApp.build(services.configuration, trainers: services.trainers, clock: clock,
                                                retryPolicy: Harness.retryPolicy, logger: services.logger).services
        }
    }

    static func paths(_ jobs: [Job]) -> [String] { jobs.compactMap { $0.spec.origin?.file }.sorted() }

    // MARK: Watch

    @Test(arguments: [false, true])
    func aBurstOfAHundredFilesMakesAHundredTransformJobsOnceEvenAfterARestart(inMemory: Bool) async throws {
        let s = try await Setup(inMemory: inMemory)
        try await s.registerModel()
        let trigger = try await s.watch()
        let files = try (0..<100).map { try s.drop(String(format: "part-%03d.csv", $0)).path }
        try s.drop("notes.txt", "not matched by the glob")
        let service = TriggerService(services: s.services)
        #expect(await service.pass().fired.isEmpty)  // first look: nothing has settled yet
        s.clock.advance(by: .seconds(1))
        #expect(await service.pass().fired.isEmpty)  // not settled for long enough
        s.clock.advance(by: .seconds(1))
        let report = await service.pass()
        #expect(report.fired.count == 100)
        #expect(report.failures.isEmpty, "\(report.failures)")
        let jobs = try await s.jobs(.transform)
        #expect(jobs.count == 100)
        #expect(Self.paths(jobs) == files)
        for job in jobs {
            #expect(job.spec.origin?.trigger == "inbox" && job.submittedBy == "trigger:inbox")
            #expect(job.spec.transform?.files.map(\.path) == [job.spec.origin?.file].compactMap { $0 })
        }
        let status = try #require(try await s.store.trigger(trigger.name)).status
        #expect(status.firedCount == 100 && status.lastError == nil)
        // More passes, then a restarted service on a reopened store: nothing fires again.
        s.clock.advance(by: .seconds(5))
        #expect(await service.pass().fired.isEmpty)
        let restarted = TriggerService(services: try await s.secondProcess())
        for _ in 0..<3 {
            #expect(await restarted.pass().fired.isEmpty)
            s.clock.advance(by: .seconds(5))
        }
        #expect(try await s.jobs(.transform).count == 100)
        // A new file after the restart fires, once.
        let late = try s.drop("part-100.csv").path
        _ = await restarted.pass()
        s.clock.advance(by: .seconds(3))
        #expect(await restarted.pass().fired.map(\.cause) == [.file(try Self.watched(late))])
        #expect(try await s.jobs(.transform).count == 101)
    }

    @Test(arguments: [false, true])
    func twoServicesOnOneStoreFireEachFileOnce(inMemory: Bool) async throws {
        let s = try await Setup(inMemory: inMemory)
        try await s.registerModel()
        try await s.watch()
        let files = try (0..<100).map { try s.drop("f\($0).csv").path }
        let first = TriggerService(services: s.services)
        let second = TriggerService(services: try await s.secondProcess())
        async let a = first.pass()
        async let b = second.pass()
        _ = await (a, b)
        s.clock.advance(by: .seconds(3))
        async let c = first.pass()
        async let d = second.pass()
        let reports = await [c, d]
        #expect(reports.allSatisfy { $0.failures.isEmpty }, "\(reports.flatMap(\.failures))")
        let jobs = try await s.jobs(.transform)
        #expect(jobs.count == 100)
        #expect(Self.paths(jobs) == files.sorted())
        #expect(try await s.store.trigger(TriggerName("inbox"))?.status.firedCount == 100)
    }

    @Test func aFileStillGrowingWaitsUntilItHasSettled() async throws {
        let s = try await Setup()
        try await s.registerModel()
        try await s.watch()
        let service = TriggerService(services: s.services)
        let url = try s.drop("growing.csv", "a,b,c\n1,2,u\n")
        _ = await service.pass()
        for row in 0..<3 {
            let handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("\(row),\(row),v\n".utf8))
            try handle.close()
            s.clock.advance(by: .seconds(3))
            #expect(await service.pass().fired.isEmpty, "changed since the last look: not settled")
        }
        s.clock.advance(by: .seconds(1))
        #expect(await service.pass().fired.isEmpty, "unchanged, but for less than the settle time")
        s.clock.advance(by: .seconds(1))
        let fired = await service.pass().fired
        #expect(fired.count == 1)
        let jobs = try await s.jobs(.transform)
        let size = Int64(try Data(contentsOf: url).count)
        #expect(jobs.count == 1 && jobs.first?.spec.transform?.files.first?.bytes == size)
        // Rewritten later under the same name: a new file, fired again.
        try s.drop("growing.csv", "a,b,c\n9,9,u\n9,9,v\n9,9,u\n9,9,v\n9,9,u\n")
        _ = await service.pass()
        s.clock.advance(by: .seconds(2))
        #expect(await service.pass().fired.count == 1)
        #expect(try await s.jobs(.transform).count == 2)
    }

    @Test func emptyHiddenAndUnmatchedFilesDoNotFire() async throws {
        let s = try await Setup()
        try await s.registerModel()
        try await s.watch()
        try s.drop("empty.csv", "")
        try s.drop(".partial.csv")          // a copy tool's temporary
        try s.drop("data.tsv")
        try FileManager.default.createDirectory(at: s.inbox.appendingPathComponent("folder.csv"), withIntermediateDirectories: true)
        let service = TriggerService(services: s.services)
        for _ in 0..<3 {
            #expect(await service.pass().fired.isEmpty)
            s.clock.advance(by: .seconds(5))
        }
        #expect(try await s.jobs(.transform).isEmpty)
    }

    @Test func filesArrivingWhilePausedFireAfterResume() async throws {
        let s = try await Setup()
        try await s.registerModel()
        let trigger = try await s.watch()
        let catalog = TriggerCatalog(services: s.services)
        _ = try await catalog.setPaused(trigger.name, paused: true)
        try s.drop("a.csv")
        let service = TriggerService(services: s.services)
        for _ in 0..<3 {
            #expect(await service.pass().fired.isEmpty)
            s.clock.advance(by: .seconds(5))
        }
        _ = try await catalog.setPaused(trigger.name, paused: false)
        _ = await service.pass()
        s.clock.advance(by: .seconds(2))
        #expect(await service.pass().fired.count == 1)
    }

    @Test func aFailedFiringIsRecordedAndRetriedLaterWithoutSpinning() async throws {
        let s = try await Setup()
        let trigger = try await s.watch()  // the model `prices` does not exist yet
        try s.drop("a.csv")
        let service = TriggerService(services: s.services, options: .init(retryBase: .seconds(10), retryMax: .seconds(40)))
        _ = await service.pass()
        s.clock.advance(by: .seconds(2))
        let failed = await service.pass()
        #expect(failed.fired.isEmpty && failed.failures.count == 1)
        let status = try #require(try await s.store.trigger(trigger.name)).status
        #expect(status.lastError?.contains("prices") == true && status.lastError?.contains("a.csv") == true)
        // Not again before the delay, however many passes.
        for _ in 0..<5 { #expect(await service.pass().failures.isEmpty) }
        s.clock.advance(by: .seconds(10))
        #expect(await service.pass().failures.count == 1)
        s.clock.advance(by: .seconds(10))
        #expect(await service.pass().failures.isEmpty, "the delay doubled to 20 s")
        // The model appears: the next attempt fires and clears the error.
        try await s.registerModel()
        s.clock.advance(by: .seconds(10))
        #expect(await service.pass().fired.count == 1)
        #expect(try await s.store.trigger(trigger.name)?.status.lastError == nil)
        #expect(try await s.jobs(.transform).count == 1)
    }

    @Test func aTrainTemplateGetsTheFileAndRefusesFileNamesThatCouldChangeTheSpec() async throws {
        let s = try await Setup()
        let folder = try s.harness.specFolder()
        let template = """
            name: retrain
            task: command
            command: ["python3", "train.py"]
            data:
              train: ${trigger.file}
            tags: { trigger: ${trigger.name} }
            """
        let trigger = try await s.watch("retrain", action: .train(TrainTemplate(spec: template, baseDirectory: folder.path)))
        let good = try s.drop("day-1.csv", Harness.csv)
        try s.drop("evil: x.csv", Harness.csv)
        let service = TriggerService(services: s.services)
        _ = await service.pass()
        s.clock.advance(by: .seconds(2))
        let report = await service.pass()
        #expect(report.fired.map(\.cause) == [.file(try Self.watched(good.path))])
        #expect(report.failures.count == 1 && report.failures.first?.message.contains("cannot be put into a spec template") == true)
        let job = try #require(try await s.jobs(.train).first)
        #expect(job.spec.origin == JobOrigin(trigger: "retrain", file: good.path))
        #expect(job.spec.staged.first { $0.key == "data.train" }?.source == good.path)
        #expect(job.spec.tags["trigger"] == "retrain")
        #expect(try await s.store.trigger(trigger.name)?.status.lastError?.contains("evil") == true)
    }

    // MARK: Schedule

    func schedule(_ s: Setup, cron: String = "0 3 * * *") async throws -> Trigger {
        let folder = try s.harness.specFolder()
        let definition = try TriggerDefinition(name: TriggerName("nightly"), source: .schedule(ScheduleSource(cron: cron, timeZone: "Europe/Berlin")),
                                               action: .train(TrainTemplate(spec: s.harness.spec(name: "nightly", extra: "tags: { slot: \"${trigger.slot}\" }"),
                                                                            baseDirectory: folder.path)))
        return try await TriggerCatalog(services: s.services).create(definition, createdBy: "test", access: .unrestricted)
    }

    @Test func aMissedSlotAfterDowntimeFiresOnceAndTheNextOnTime() async throws {
        let s = try await Setup()
        let trigger = try await schedule(s)  // created 2027-01-15 08:00Z (09:00 in Berlin)
        let service = TriggerService(services: s.services)
        #expect(await service.pass().fired.isEmpty)
        // Down for three days: 16, 17 and 18 January 03:00 passed; only the 18th fires.
        s.clock.advance(by: .seconds(3 * 86_400))
        let report = await service.pass()
        let slot = Date(timeIntervalSince1970: 1_800_000_000 - 6 * 3600 + 3 * 86_400)  // 2027-01-18 02:00Z = 03:00 CET
        #expect(report.fired.map(\.cause) == [.slot(slot)])
        #expect(await service.pass().fired.isEmpty)
        #expect(await TriggerService(services: try await s.secondProcess()).pass().fired.isEmpty, "a restarted service does not fire it again")
        var jobs = try await s.jobs(.train)
        #expect(jobs.count == 1)
        #expect(jobs.first?.spec.origin == JobOrigin(trigger: "nightly", slot: slot))
        #expect(jobs.first?.spec.tags["slot"] == "2027-01-18T02:00:00Z")
        #expect(try await s.store.trigger(trigger.name)?.status.lastSlot == slot)
        // The next slot, on time.
        s.clock.advance(by: .seconds(86_400))
        #expect(await service.pass().fired.map(\.cause) == [.slot(slot.addingTimeInterval(86_400))])
        jobs = try await s.jobs(.train)
        #expect(jobs.count == 2)
        let shown = try await TriggerCatalog(services: s.services).trigger(trigger.name)
        #expect(shown.nextSlot == slot.addingTimeInterval(2 * 86_400))
    }

    @Test func slotsPassingWhilePausedAreSkipped() async throws {
        let s = try await Setup()
        let trigger = try await schedule(s)
        let catalog = TriggerCatalog(services: s.services)
        _ = try await catalog.setPaused(trigger.name, paused: true)
        let service = TriggerService(services: s.services)
        s.clock.advance(by: .seconds(2 * 86_400))
        #expect(await service.pass().fired.isEmpty)
        _ = try await catalog.setPaused(trigger.name, paused: false)
        #expect(await service.pass().fired.isEmpty, "the slots before the resume are not caught up")
        s.clock.advance(by: .seconds(86_400))
        #expect(await service.pass().fired.count == 1)
        #expect(try await s.jobs(.train).count == 1)
    }

    @Test func twoServicesFireASlotOnce() async throws {
        let s = try await Setup()
        _ = try await schedule(s)
        let first = TriggerService(services: s.services)
        let second = TriggerService(services: try await s.secondProcess())
        s.clock.advance(by: .seconds(86_400))
        async let a = first.pass()
        async let b = second.pass()
        _ = await (a, b)
        #expect(try await s.jobs(.train).count == 1)
    }

    // MARK: The service's loop

    @Test func theRunningServiceFiresFilesAsTheyArriveAndStopsWhenCancelled() async throws {
        let s = try await Setup()
        try await s.registerModel()
        let definition = try TriggerDefinition(name: TriggerName("live"), source: .watch(WatchSource(path: s.inbox.path, glob: "*.csv", settleSeconds: 0)),
                                               action: .transform(["model": .string("prices"), "output": .string(s.out.path)]))
        _ = try await TriggerCatalog(services: s.services).create(definition, createdBy: "test", access: .unrestricted)
        let service = TriggerService(services: s.services, options: .init(pollInterval: .milliseconds(20)))
        let running = Task { try await service.run() }
        try s.drop("one.csv")
        try s.drop("two.csv")
        try await s.harness.eventually("two transform jobs", timeout: .seconds(60)) { try await s.jobs(.transform).count == 2 }
        running.cancel()
        try await running.value
        #expect(try await s.jobs(.transform).count == 2)
    }

    static func watched(_ path: String) throws -> WatchedFile {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        var status = stat()
        _ = stat(path, &status)
        return WatchedFile(path: path, bytes: (attributes[.size] as? NSNumber)?.int64Value ?? -1, modified: WatchedFolder.modified(status))
    }
}
