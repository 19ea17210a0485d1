import Foundation
import Synchronization
import Testing
import TrainyardApp
import TrainyardCore
@testable import TrainyardRuntime
import TrainyardStorage
import TrainyardTestSupport

/// `watch` triggers on `s3://` prefixes, on real metadata stores with an in-memory data-objects
/// port (`FakeDataObjects`) and a `ManualClock`: a prefix larger than the keys-per-pass bound is
/// listed a slice per pass after the persisted cursor, which a restarted or second service
/// continues and which wraps to the beginning at the end; every object fires exactly once per
/// size + ETag; an object is ready once its size and ETag held for the settle time. Jobs are
/// enqueued by `EnqueuingSubmitting` (the store's idempotency key makes them exactly once);
/// passes are driven one by one.
@Suite("S3 watch triggers")
struct S3WatchTriggerTests {
    static let settle: Double = 2
    static let prefix = "s3://bucket/incoming/"

    struct Setup {
        let harness: Harness
        let clock: ManualClock
        let objects: FakeDataObjects
        let services: TrainyardServices
        let submitting: EnqueuingSubmitting
        var store: any MetadataStore { services.store }

        init(inMemory: Bool = false, dataObjects: Bool = true) async throws {
            clock = ManualClock()
            harness = try await Harness(clock: clock, inMemory: inMemory)
            objects = FakeDataObjects(clock: clock)
            var services = harness.services
            services.dataObjects = dataObjects ? objects : nil
            self.services = services
            submitting = EnqueuingSubmitting(store: services.store)
        }

        @discardableResult
        func watch(_ name: String = "incoming", path: String = S3WatchTriggerTests.prefix, glob: String = "*.csv",
                   action: TriggerAction = .transform(["model": .string("prices"), "output": .string("s3://bucket/scored/")])) async throws -> Trigger {
            let definition = try TriggerDefinition(name: TriggerName(name), source: .watch(WatchSource(path: path, glob: glob, settleSeconds: S3WatchTriggerTests.settle)),
                                                   action: action)
            return try await TriggerCatalog(services: services).create(definition, createdBy: "test", access: .unrestricted)
        }

        func service(maxKeys: Int, on services: TrainyardServices? = nil) -> TriggerService {
            TriggerService(services: services ?? self.services, options: .init(maxKeysPerPass: maxKeys), submitting: submitting)
        }

        /// Another process on the same store (SQLite: a second store on the same file) and the same bucket.
        func secondProcess() async throws -> TrainyardServices {
            guard case .sqlite = services.configuration.metadataBackend else { return services }
            var other = try await TrainyardApp.build(services.configuration, trainers: services.trainers, clock: clock,
                                                     retryPolicy: Harness.retryPolicy, logger: services.logger).services
            other.dataObjects = objects
            return other
        }

        func cursor(_ name: String = "incoming") async throws -> String? {
            try await store.trigger(TriggerName(name))?.status.listingCursor
        }

        func jobs() async throws -> [Job] { try await store.jobs(JobFilter(limit: 10_000)) }

        /// `count` passes, the clock moved one second after each; everything they fired.
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

    static func uri(_ name: String) -> String { prefix + name }
    static func parts(_ count: Int) -> [String] { (0..<count).map { uri("part-" + String(100 + $0).dropFirst() + ".csv") } }
    static func files(_ fired: [TriggerPassReport.Fired]) -> [String] {
        fired.compactMap { if case .file(let f) = $0.cause { f.path } else { nil } }.sorted()
    }
    static func sorted(_ uris: [String]) -> [String] { uris.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }

    // MARK: Listing a slice per pass

    @Test(arguments: [false, true])
    func aLargePrefixIsListedASlicePerPassAndEveryObjectFiresOnceEvenAfterARestart(inMemory: Bool) async throws {
        let s = try await Setup(inMemory: inMemory)
        let trigger = try await s.watch()
        let parts = Self.parts(30)
        for uri in parts { s.objects.put(uri, "a,b\n1,\(uri)\n") }
        let others = [Self.uri("notes.txt"), Self.uri(".part-99.csv"), Self.uri("empty.csv"), Self.uri("sub/deep.csv"), "s3://bucket/elsewhere/x.csv"]
        for uri in others { s.objects.put(uri, uri == Self.uri("empty.csv") ? "" : "x\n") }
        // Every key directly under the prefix, as the listing orders them (UTF-8 bytes).
        let keys = Self.sorted(parts + [Self.uri("notes.txt"), Self.uri(".part-99.csv"), Self.uri("empty.csv")])
        s.objects.clearListings()
        let service = s.service(maxKeys: 7)

        let first = await service.pass()
        #expect(first.fired.isEmpty && first.failures.isEmpty, "a first look never fires")
        #expect(s.objects.listings.map(\.after) == [nil])
        #expect(try await s.cursor() == keys[6], "the cursor is the last key the pass listed")
        s.clock.advance(by: .seconds(1))
        let fired = await s.passes(14, service)
        // Each pass asked for at most 7 keys, after where the previous one stopped, the first
        // after the end starting again at the beginning.
        let listings = s.objects.listings
        #expect(listings.count == 15 && listings.allSatisfy { $0.limit <= 7 && $0.prefix == Self.prefix })
        let starts = listings.map(\.after)
        var expected: [String?] = []
        for pass in 0..<15 {
            let slice = pass % 5
            expected.append(slice == 0 ? nil : keys[slice * 7 - 1])
        }
        #expect(starts == expected)
        #expect(Self.files(fired) == parts, "each matching object once; no hidden, empty, unmatched, nested or foreign one")
        let jobs = try await s.jobs()
        #expect(jobs.count == 30 && Set(jobs.compactMap(\.spec.origin?.file)) == Set(parts))
        #expect(jobs.allSatisfy { $0.kind == .transform && $0.spec.origin?.trigger == "incoming" && $0.submittedBy == "trigger:incoming" })
        #expect(s.submitting.submissions.map(\.input).compactMap { $0 }.sorted() == parts, "the object is the transform's input")
        let status = try #require(try await s.store.trigger(trigger.name)).status
        #expect(status.firedCount == 30 && status.lastError == nil)

        // A restarted service on a reopened store: nothing fires again, however many cycles.
        let restarted = s.service(maxKeys: 7, on: try await s.secondProcess())
        #expect(await s.passes(15, restarted).isEmpty)
        #expect(try await s.jobs().count == 30)
        // A new object fires, once, after its two looks a cycle apart.
        s.objects.put(Self.uri("part-30.csv"), "a,b\n2,3\n")
        #expect(Self.files(await s.passes(12, restarted)) == [Self.uri("part-30.csv")])
        #expect(try await s.jobs().count == 31)
    }

    @Test func aRestartedOrSecondServiceContinuesWhereTheLastPassStoppedAndTheEndWrapsToTheStart() async throws {
        let s = try await Setup()
        try await s.watch()
        let parts = Self.parts(20)
        for uri in parts { s.objects.put(uri, "a\n1\n") }
        s.objects.clearListings()
        _ = await s.service(maxKeys: 5).pass()
        #expect(try await s.cursor() == parts[4])
        // A restarted process (a new store on the same file, a new service) lists on from there.
        let other = try await s.secondProcess()
        _ = await s.service(maxKeys: 5, on: other).pass()
        #expect(s.objects.listings.last?.after == parts[4])
        #expect(try await s.cursor() == parts[9])
        // Any process continues where the last one stopped.
        _ = await s.service(maxKeys: 5).pass()
        #expect(s.objects.listings.last?.after == parts[9])
        // The last slice reaches the end: the cursor is cleared, the next pass starts again.
        _ = await s.service(maxKeys: 5, on: other).pass()
        #expect(s.objects.listings.last?.after == parts[14])
        #expect(try await s.cursor() == nil)
        _ = await s.service(maxKeys: 5).pass()
        #expect(s.objects.listings.last?.after == nil)
        #expect(try await s.cursor() == parts[4])
        // A bound above the prefix's size lists it whole every pass and leaves no cursor.
        let whole = s.service(maxKeys: 1_000)
        _ = await whole.pass()
        #expect(s.objects.listings.last?.after == parts[4], "it starts where the cursor was")
        _ = await whole.pass()
        #expect(s.objects.listings.last?.after == nil && s.objects.listings.last?.returned == 20)
        #expect(try await s.cursor() == nil)
    }

    @Test func aBoundOverAThousandKeysIsListedInPagesInOnePass() async throws {
        let s = try await Setup(inMemory: true)
        try await s.watch()
        let parts = (0..<2_500).map { Self.uri("p" + String(10_000 + $0).dropFirst() + ".csv") }
        for uri in parts { s.objects.put(uri, "a\n1\n") }
        s.objects.clearListings()
        let service = s.service(maxKeys: 2_200)
        _ = await service.pass()
        #expect(s.objects.listings.map(\.limit) == [1_000, 1_000, 200])
        #expect(s.objects.listings.map(\.after) == [nil, parts[999], parts[1_999]])
        #expect(try await s.cursor() == parts[2_199])
        s.clock.advance(by: .seconds(3))
        let fired = await service.pass()  // the 300 left, then (next pass) the first 2,200 again
        #expect(fired.fired.isEmpty && s.objects.listings.last?.returned == 300)
        #expect(try await s.cursor() == nil)
        s.clock.advance(by: .seconds(3))
        #expect(await service.pass().fired.count == 2_200)
        s.clock.advance(by: .seconds(3))
        #expect(await service.pass().fired.count == 300)
        #expect(Set(s.submitting.submissions.compactMap(\.input)).count == 2_500)
        #expect(try await s.store.trigger(TriggerName("incoming"))?.status.firedCount == 2_500)
    }

    // MARK: Identity and settling

    @Test(arguments: [false, true])
    func anObjectOverwrittenWithOtherBytesFiresAgainAndOneUploadedAgainWithTheSameBytesDoesNot(inMemory: Bool) async throws {
        let s = try await Setup(inMemory: inMemory)
        let trigger = try await s.watch()
        let uri = Self.uri("daily.csv")
        let firstTag = s.objects.put(uri, "a,b\n1,2\n")
        let service = s.service(maxKeys: 100)
        var fired = await s.passes(3, service)
        #expect(fired.count == 1)
        guard case .file(let firstFile)? = fired.first?.cause else { Issue.record("expected a file"); return }
        #expect(firstFile.path == uri && firstFile.etag == firstTag && firstFile.bytes == 8)
        // The same bytes uploaded again: a newer modification time, the same ETag: the same object.
        #expect(s.objects.put(uri, "a,b\n1,2\n") == firstTag)
        #expect(await s.passes(5, service).isEmpty)
        // Other bytes of the same size under the same name: another object, fired once.
        let secondTag = s.objects.put(uri, "a,b\n3,4\n")
        fired = await s.passes(5, service)
        #expect(fired.count == 1)
        guard case .file(let secondFile)? = fired.first?.cause else { Issue.record("expected a file"); return }
        #expect(secondFile.etag == secondTag && secondFile.bytes == firstFile.bytes)
        #expect(secondFile.identity(trigger: trigger.id) != firstFile.identity(trigger: trigger.id))
        let keys = s.submitting.submissions.compactMap(\.key)
        #expect(keys.count == 2 && Set(keys).count == 2 && keys.allSatisfy { $0.hasPrefix("trigger:incoming:file:") })
        #expect(try await s.jobs().count == 2)
        // The store kept each firing with its ETag.
        let record = try #require(try await s.store.firedFile(trigger: trigger.id, identity: secondFile.identity(trigger: trigger.id)))
        #expect(record.file == secondFile)
        // A restarted service fires neither again.
        #expect(await s.passes(5, s.service(maxKeys: 100, on: try await s.secondProcess())).isEmpty)
    }

    @Test func anObjectIsReadyOnceItsSizeAndETagHeldForTheSettleTime() async throws {
        let s = try await Setup()
        try await s.watch()
        let uri = Self.uri("upload.csv")
        s.objects.put(uri, "a\n0\n")
        let service = s.service(maxKeys: 100)
        _ = await service.pass()
        for rows in 2..<5 {
            s.clock.advance(by: .seconds(3))
            s.objects.put(uri, "a\n" + (0..<rows).map(String.init).joined(separator: "\n") + "\n")
            #expect(await service.pass().fired.isEmpty, "changed since the last look: not settled")
        }
        s.clock.advance(by: .seconds(1))
        #expect(await service.pass().fired.isEmpty, "unchanged, but for less than the settle time")
        s.clock.advance(by: .seconds(1))
        let fired = await service.pass().fired
        #expect(fired.count == 1)
        let head = try #require(try await s.objects.head(uri))
        #expect(fired.first?.cause == .file(WatchedFile(path: uri, bytes: head.bytes, modified: head.lastModified!.timeIntervalSince1970, etag: head.etag)),
                "the object as it settled")
    }

    @Test func anObjectThatWentAwayIsForgottenSoItsReturnSettlesAfresh() async throws {
        let s = try await Setup()
        try await s.watch()
        let uri = Self.uri("back.csv")
        s.objects.put(uri, "a\n1\n")
        let service = s.service(maxKeys: 100)
        _ = await service.pass()
        s.objects.remove(uri)
        s.clock.advance(by: .seconds(1))
        #expect(await service.pass().fired.isEmpty)
        s.objects.put(uri, "a\n1\n")  // the same bytes again: the same size and ETag
        s.clock.advance(by: .seconds(1))
        #expect(await service.pass().fired.isEmpty, "a first look again: what was seen before it went away was forgotten")
        s.clock.advance(by: .seconds(2))
        #expect(Self.files(await service.pass().fired) == [uri])
    }

    // MARK: Many processes

    @Test(arguments: [false, true])
    func twoServicesOnOneStoreFireEachObjectOnce(inMemory: Bool) async throws {
        let s = try await Setup(inMemory: inMemory)
        try await s.watch()
        let parts = Self.parts(40)
        for uri in parts { s.objects.put(uri, "a\n\(uri)\n") }
        let first = s.service(maxKeys: 9)
        let second = s.service(maxKeys: 9, on: try await s.secondProcess())
        var fired: [TriggerPassReport.Fired] = []
        for _ in 0..<30 {
            async let a = first.pass()
            async let b = second.pass()
            let reports = await [a, b]
            #expect(reports.allSatisfy { $0.failures.isEmpty }, "\(reports.flatMap(\.failures))")
            fired += reports.flatMap(\.fired)
            s.clock.advance(by: .seconds(1))
        }
        let jobs = try await s.jobs()
        #expect(jobs.count == 40 && Set(jobs.compactMap(\.spec.origin?.file)) == Set(parts))
        #expect(Set(Self.files(fired)) == Set(parts))
        #expect(try await s.store.trigger(TriggerName("incoming"))?.status.firedCount == 40)
    }

    // MARK: What it makes

    @Test func aTrainTemplateGetsTheObjectsURIAsTriggerFile() async throws {
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
        try await s.watch("retrain", glob: "day-*.csv", action: .train(TrainTemplate(spec: template, baseDirectory: folder.path)))
        s.objects.put(Self.uri("day-1.csv"), Harness.csv)
        let fired = await s.passes(3, s.service(maxKeys: 10))
        #expect(Self.files(fired) == [Self.uri("day-1.csv")])
        let spec = try #require(s.submitting.submissions.first?.spec)
        #expect(spec.contains("train: s3://bucket/incoming/day-1.csv") && spec.contains("trigger: retrain"))
        #expect(try await s.jobs().first?.spec.origin == JobOrigin(trigger: "retrain", file: Self.uri("day-1.csv")))
    }

    @Test func theWholeBucketWatchesTheTopLevelKeys() async throws {
        let s = try await Setup()
        let trigger = try await s.watch("top", path: "s3://bucket")
        guard case .watch(let source) = trigger.source else { Issue.record("expected a watch"); return }
        #expect(source.path == "s3://bucket/")
        s.objects.put("s3://bucket/a.csv", "a\n1\n")
        s.objects.put("s3://bucket/in/b.csv", "a\n1\n")
        #expect(Self.files(await s.passes(3, s.service(maxKeys: 10))) == ["s3://bucket/a.csv"])
    }

    // MARK: Refusals and failures

    @Test func withoutS3DataAccessAPrefixIsRefusedAtCreationAndAStoredOneSaysWhyWhenItCannotBeListed() async throws {
        let without = try await Setup(dataObjects: false)
        do {
            try await without.watch()
            Issue.record("created without S3 data access")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidArgument && error.message.contains("s3:// prefixes need S3 data access"), "\(error)")
        }
        // A bucket that does not exist is said at creation.
        let s = try await Setup()
        do {
            try await s.watch(path: "s3://nobucket/in")
            Issue.record("created on a missing bucket")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidArgument && error.message.contains("nobucket"), "\(error)")
        }
        #expect(try await s.store.triggers().isEmpty)
        // A stored trigger whose listing fails: recorded on the trigger, retried after a delay
        // (not every pass), listed again once it works.
        let trigger = try await s.watch()
        s.objects.put(Self.uri("a.csv"), "a\n1\n")
        s.objects.failListings(with: TrainyardError(.forbidden, "access denied to s3://bucket/incoming/"))
        let service = TriggerService(services: s.services, options: .init(retryBase: .seconds(10), retryMax: .seconds(40)), submitting: s.submitting)
        let failed = await service.pass()
        #expect(failed.failures.count == 1 && failed.failures.first?.message.contains("access denied") == true)
        #expect(try await s.store.trigger(trigger.name)?.status.lastError?.contains("watch prefix s3://bucket/incoming/") == true)
        s.objects.clearListings()
        for _ in 0..<3 { #expect(await service.pass().failures.isEmpty) }
        #expect(s.objects.listings.isEmpty, "not listed again before the delay")
        s.objects.failListings(with: nil)
        s.clock.advance(by: .seconds(10))
        _ = await service.pass()
        s.clock.advance(by: .seconds(2))
        #expect(await service.pass().fired.count == 1)
        #expect(try await s.store.trigger(trigger.name)?.status.lastError == nil)
        // The same stored trigger in a process without S3 data access says so.
        var noS3 = s.services
        noS3.dataObjects = nil
        let report = await TriggerService(services: noS3, submitting: s.submitting).pass()
        #expect(report.failures.first?.message.contains("no S3 data access") == true, "\(report.failures)")
    }

    @Test func aFailedFiringIsRecordedAndRetriedWithoutSpinning() async throws {
        let s = try await Setup()
        let trigger = try await s.watch()
        s.objects.put(Self.uri("a.csv"), "a\n1\n")
        let failing = RecordingSubmitting(failing: 2, passingTo: s.submitting)
        let service = TriggerService(services: s.services, options: .init(retryBase: .seconds(10), retryMax: .seconds(40), maxKeysPerPass: 10),
                                     submitting: failing)
        _ = await service.pass()
        s.clock.advance(by: .seconds(2))
        let failed = await service.pass()
        #expect(failed.fired.isEmpty && failed.failures.count == 1 && failed.failures.first?.message.contains("object s3://bucket/incoming/a.csv") == true)
        for _ in 0..<5 { #expect(await service.pass().failures.isEmpty, "not again before the delay") }
        s.clock.advance(by: .seconds(10))
        #expect(await service.pass().failures.count == 1)
        s.clock.advance(by: .seconds(20))
        #expect(await service.pass().fired.count == 1)
        #expect(try await s.store.trigger(trigger.name)?.status.lastError == nil)
        #expect(try await s.jobs().count == 1)
    }
}

/// Enqueues what a trigger submits straight into the store, with the firing's idempotency key
/// and origin (no staging or scoring: these tests are about when triggers fire), and records
/// each submission.
final class EnqueuingSubmitting: TriggerJobSubmitting {
    struct Submission: Sendable {
        var key: String?
        /// A transform's input.
        var input: String?
        /// A train job's spec text.
        var spec: String?
    }

    let store: any MetadataStore
    private let recorded = Mutex<[Submission]>([])

    init(store: any MetadataStore) { self.store = store }

    var submissions: [Submission] { recorded.withLock { $0 } }

    func submitTransform(_ request: TransformRequest, options: TransformSubmitter.Options) async throws -> Job {
        recorded.withLock { $0.append(Submission(key: options.idempotencyKey, input: request.input)) }
        return try await enqueue(.transform, origin: options.origin, submittedBy: options.submittedBy, key: options.idempotencyKey)
    }

    func submitTrain(_ spec: String, options: JobSubmitter.Options) async throws -> Job {
        recorded.withLock { $0.append(Submission(key: options.idempotencyKey, spec: spec)) }
        return try await enqueue(.train, origin: options.origin, submittedBy: options.submittedBy, key: options.idempotencyKey)
    }

    private func enqueue(_ kind: JobKind, origin: JobOrigin?, submittedBy: String, key: String?) async throws -> Job {
        var spec = Spec(name: try ModelName("prices"), task: .command, command: ["true"])
        spec.origin = origin
        return try await store.enqueue(EnqueueRequest(kind: kind, spec: spec, submittedBy: submittedBy, idempotencyKey: key))
    }
}
