import Foundation
import Testing
import TrainyardApp
import TrainyardCore
@testable import TrainyardRuntime
import TrainyardTestSupport

/// A `watch` on an `s3://` prefix against a real S3 endpoint (moto), objects put by boto3, jobs
/// made by the real transform submitter (the object listed with its ETag, its first record read
/// by the model's scorer): 30 objects make 30 transform jobs exactly once while a keys-per-pass
/// bound of 7 makes every pass continue after the persisted cursor; a second service on a
/// reopened store fires nothing more; an object overwritten with other bytes fires once more,
/// and with the same bytes not at all; objects after pages holding only "subfolders" are
/// reached. Passes are driven one by one on a `ManualClock`.
@Suite("S3 watch triggers on S3 (moto)", .enabled(if: MotoBucket.enabled, Comment(rawValue: MotoBucket.skipReason)))
struct S3WatchTriggerMotoTests {
    struct Setup {
        let harness: Harness
        let clock: ManualClock
        let bucket: MotoBucket
        let dataObjects: any DataObjectStore
        let services: TrainyardServices

        init() async throws {
            bucket = try await MotoBucket()
            clock = ManualClock()
            harness = try await Harness(clock: clock)
            dataObjects = try bucket.dataObjects()
            var services = harness.services
            services.scoring = TransformJobTests.SumScoring()
            services.dataObjects = dataObjects
            self.services = services
            try await RegisteredVersions.registerTabular("m", services: services)
        }

        /// Another process on the same SQLite file and the same bucket.
        func secondProcess() async throws -> TrainyardServices {
            var other = try await TrainyardApp.build(services.configuration, trainers: services.trainers, clock: clock,
                                                     retryPolicy: Harness.retryPolicy, logger: services.logger).services
            other.scoring = services.scoring
            other.dataObjects = dataObjects
            return other
        }

        /// Puts every (key, text) in one boto3 run.
        func put(_ objects: [(key: String, text: String)]) async throws {
            try await MotoBucket.boto3("""
            args = sys.argv[2:]
            for key, text in zip(args[0::2], args[1::2]):
                s3.put_object(Bucket=sys.argv[1], Key=key, Body=text.encode())
            """, [bucket.name] + objects.flatMap { [$0.key, $0.text] })
        }

        func transformJobs() async throws -> [Job] { try await services.store.jobs(JobFilter(kind: .transform, limit: 1000)) }

        /// `count` passes one second apart; what they fired.
        func passes(_ count: Int, _ service: TriggerService) async -> [TriggerPassReport.Fired] {
            var fired: [TriggerPassReport.Fired] = []
            for _ in 0..<count {
                let report = await service.pass()
                #expect(report.failures.isEmpty, "\(report.failures)")
                fired += report.fired
                clock.advance(by: .seconds(1))
            }
            return fired
        }
    }

    @Test func thirtyObjectsMakeThirtyJobsOnceThroughTheCursorAndAnOverwriteWithOtherBytesOneMore() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        let names = (0..<30).map { "part-" + String(100 + $0).dropFirst() + ".csv" }
        try await s.put(names.enumerated().map { ("in/\($0.element)", TransformJobTests.rows(3 + $0.offset).text) }
                  + [("in/notes.txt", "not matched"), ("in/sub/deeper.csv", TransformJobTests.rows(2).text), ("elsewhere/x.csv", TransformJobTests.rows(2).text)])
        let definition = try TriggerDefinition(name: TriggerName("landing"), source: .watch(WatchSource(path: s.bucket.uri("in"), glob: "*.csv", settleSeconds: 1)),
                                               action: .transform(["model": .string("m"), "output": .string(s.bucket.uri("out/"))]))
        let trigger = try await TriggerCatalog(services: s.services).create(definition, createdBy: "test", access: .unrestricted)
        let service = TriggerService(services: s.services, options: .init(maxKeysPerPass: 7))

        #expect(await s.passes(1, service).isEmpty)
        // The listing: notes.txt, part-00 … part-29, then the "folder" sub/; the first pass
        // stopped after 7 entries, on part-05.csv.
        #expect(try await s.services.store.trigger(trigger.name)?.status.listingCursor == s.bucket.uri("in/part-05.csv"))
        let fired = await s.passes(11, service)
        let uris = names.map { s.bucket.uri("in/\($0)") }
        #expect(Set(fired.compactMap { if case .file(let f) = $0.cause { f.path } else { nil } }) == Set(uris) && fired.count == 30)
        var jobs = try await s.transformJobs()
        #expect(jobs.count == 30)
        #expect(Set(jobs.compactMap(\.spec.origin?.file)) == Set(uris))
        for job in jobs {
            let file = try #require(job.spec.transform?.files.first)
            #expect(job.spec.transform?.files.count == 1 && file.path == job.spec.origin?.file && file.etag != nil)
            #expect(job.spec.transform?.input == job.spec.origin?.file && job.submittedBy == "trigger:landing")
        }
        #expect(try await s.services.store.trigger(trigger.name)?.status.firedCount == 30)

        // A second service on the reopened store: nothing more, however many cycles.
        let second = TriggerService(services: try await s.secondProcess(), options: .init(maxKeysPerPass: 7))
        #expect(await s.passes(12, second).isEmpty)
        #expect(try await s.transformJobs().count == 30)

        // part-07 uploaded again with the same bytes: the same object. With other bytes: once more.
        try await s.bucket.put("in/part-07.csv", TransformJobTests.rows(10).text)
        #expect(await s.passes(12, second).isEmpty)
        try await s.bucket.put("in/part-07.csv", TransformJobTests.rows(11).text)
        let refired = await s.passes(12, second)
        #expect(refired.count == 1)
        #expect(await s.passes(12, service).isEmpty, "the first service does not fire it again either")
        jobs = try await s.transformJobs()
        #expect(jobs.count == 31)
        let again = jobs.filter { $0.spec.origin?.file == s.bucket.uri("in/part-07.csv") }
        #expect(again.count == 2 && Set(again.compactMap { $0.spec.transform?.files.first?.etag }).count == 2)
    }

    /// S3 counts a "subfolder" (a common prefix) as one of a page's keys: pages of subfolders
    /// alone still move the cursor on, so the objects after them are reached.
    @Test func objectsAfterPagesOfSubfoldersAreReached() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        let folders = (0..<12).map { "in/sub-" + String(100 + $0).dropFirst() + "/x.csv" }
        try await s.put(folders.map { ($0, TransformJobTests.rows(2).text) } + (0..<3).map { ("in/z-\($0).csv", TransformJobTests.rows(2 + $0).text) })
        let definition = try TriggerDefinition(name: TriggerName("deep"), source: .watch(WatchSource(path: s.bucket.uri("in"), glob: "*.csv", settleSeconds: 1)),
                                               action: .transform(["model": .string("m"), "output": .string(s.bucket.uri("out/"))]))
        let trigger = try await TriggerCatalog(services: s.services).create(definition, createdBy: "test", access: .unrestricted)
        let service = TriggerService(services: s.services, options: .init(maxKeysPerPass: 5))
        #expect(await s.passes(1, service).isEmpty)
        let cursor = try #require(try await s.services.store.trigger(trigger.name)?.status.listingCursor)
        #expect(cursor.hasPrefix(s.bucket.uri("in/sub-04/")), "past the fifth subfolder: \(cursor)")
        let fired = await s.passes(7, service)
        #expect(Set(fired.compactMap { if case .file(let f) = $0.cause { f.path } else { nil } }) == Set((0..<3).map { s.bucket.uri("in/z-\($0).csv") }))
        let jobs = try await s.transformJobs()
        #expect(fired.count == 3 && jobs.count == 3)
    }

    @Test func aBucketThatDoesNotExistIsRefusedAtCreation() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        let definition = try TriggerDefinition(name: TriggerName("nowhere"),
                                               source: .watch(WatchSource(path: "s3://\(s.bucket.name)-missing/in", glob: "*.csv")),
                                               action: .transform(["model": .string("m"), "output": .string(s.bucket.uri("out/"))]))
        do {
            _ = try await TriggerCatalog(services: s.services).create(definition, createdBy: "test", access: .unrestricted)
            Issue.record("a watch on a missing bucket was created")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidArgument && error.message.contains("\(s.bucket.name)-missing"), "\(error)")
        }
    }
}
