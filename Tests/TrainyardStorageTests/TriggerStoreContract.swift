import Foundation
import Testing
import TrainyardCore

/// What every `MetadataStore` backend must do with triggers, written once over
/// `any MetadataStore`; `TriggerStoreContractTests` runs each check per backend (the same
/// factories as `MetadataStoreContract`).
struct TriggerStoreContract: Sendable {
    let factory: MetadataStoreContract.Factory

    func make() async throws -> (any MetadataStore, ManualClock) {
        let clock = ManualClock()
        return (try await factory(clock, MetadataStoreContract.retryPolicy, {}), clock)
    }

    static func watch(_ name: String = "inbox", paused: Bool = false, dataRoots: [String]? = nil) throws -> TriggerDefinition {
        try TriggerDefinition(name: TriggerName(name), source: .watch(WatchSource(path: "/data/in", glob: "*.csv", settleSeconds: 2.5)),
                              action: .transform(["model": .string("iris@production"), "output": .string("/data/out"),
                                                  "keep": .array([.string("id")]), "max_error_rate": .double(0.05)]),
                              paused: paused, dataRoots: dataRoots)
    }

    static func schedule(_ name: String = "nightly") throws -> TriggerDefinition {
        try TriggerDefinition(name: TriggerName(name), source: .schedule(ScheduleSource(cron: "0 3 * * *", timeZone: "Europe/Berlin")),
                              action: .train(TrainTemplate(spec: "name: iris\ntask: command\ntags: { slot: \"${trigger.slot}\" }\n",
                                                           baseDirectory: "/specs/iris")))
    }

    static func file(_ path: String = "/data/in/a.csv", bytes: Int64 = 100, modified: Double = 1_800_000_000.123456) -> WatchedFile {
        WatchedFile(path: path, bytes: bytes, modified: modified)
    }

    // MARK: Checks

    func createReadAndList() async throws {
        let (store, clock) = try await make()
        let watch = try await store.createTrigger(try Self.watch(dataRoots: ["/data"]), createdBy: "cli:ana")
        clock.advance(by: .seconds(5))
        let schedule = try await store.createTrigger(try Self.schedule(), createdBy: "token:ci")
        #expect(watch.name.rawValue == "inbox" && watch.kind == .watch && !watch.paused)
        #expect(watch.createdAt == clock.now().addingTimeInterval(-5) && watch.activeSince == watch.createdAt && watch.createdBy == "cli:ana")
        #expect(watch.definition == (try Self.watch(dataRoots: ["/data"])))
        #expect(watch.dataAccess == .restricted(to: ["/data"]))
        #expect(watch.status == TriggerStatus())
        #expect(schedule.definition == (try Self.schedule()) && schedule.dataAccess == .unrestricted)
        #expect(watch.id != schedule.id)
        #expect(try await store.trigger(TriggerName("inbox")) == watch)
        #expect(try await store.trigger(TriggerName("nightly")) == schedule)
        #expect(try await store.trigger(TriggerName("nope")) == nil)
        #expect(try await store.triggers().map(\.name.rawValue) == ["inbox", "nightly"])
        await MetadataStoreContract.expectCode(.conflict) { _ = try await store.createTrigger(try Self.watch(), createdBy: "cli:bob") }
        #expect(try await store.trigger(TriggerName("inbox"))?.createdBy == "cli:ana")
        let paused = try await store.createTrigger(try Self.watch("quiet", paused: true), createdBy: "cli:ana")
        #expect(paused.paused)
    }

    func pauseAndResume() async throws {
        let (store, clock) = try await make()
        let created = try await store.createTrigger(try Self.schedule(), createdBy: "cli")
        clock.advance(by: .seconds(60))
        let paused = try await store.setTriggerPaused(created.name, paused: true)
        #expect(paused.paused && paused.activeSince == created.activeSince)
        clock.advance(by: .seconds(60))
        let pausedAgain = try await store.setTriggerPaused(created.name, paused: true)
        #expect(pausedAgain.activeSince == created.activeSince)
        clock.advance(by: .seconds(60))
        let resumed = try await store.setTriggerPaused(created.name, paused: false)
        // Slots that passed while paused are skipped: the schedule starts again now.
        #expect(!resumed.paused && resumed.activeSince == clock.now())
        clock.advance(by: .seconds(60))
        #expect(try await store.setTriggerPaused(created.name, paused: false).activeSince == resumed.activeSince)
        #expect(try await store.trigger(created.name) == resumed)
        await MetadataStoreContract.expectCode(.notFound) { _ = try await store.setTriggerPaused(TriggerName("nope"), paused: true) }
    }

    func firedFilesAreRecordedOnce() async throws {
        let (store, clock) = try await make()
        let trigger = try await store.createTrigger(try Self.watch(), createdBy: "cli")
        let a = Self.file()
        #expect(try await store.firedFile(trigger: trigger.id, identity: a.identity(trigger: trigger.id)) == nil)
        clock.advance(by: .seconds(10))
        #expect(try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .file(a), jobID: 7)))
        let record = try #require(try await store.firedFile(trigger: trigger.id, identity: a.identity(trigger: trigger.id)))
        #expect(record == FiredFile(file: a, jobID: 7, firedAt: clock.now()))
        var status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.firedCount == 1 && status.lastFile == a.path && status.lastJobID == 7 && status.lastFiredAt == clock.now())
        // The same file again (another process, a restart) changes nothing.
        clock.advance(by: .seconds(10))
        #expect(try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .file(a), jobID: 7)))
        #expect(try await store.trigger(trigger.name)?.status == status)
        // The same path rewritten is another file.
        let rewritten = Self.file(bytes: 200)
        #expect(rewritten.identity(trigger: trigger.id) != a.identity(trigger: trigger.id))
        #expect(try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .file(rewritten), jobID: 8)))
        status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.firedCount == 2 && status.lastJobID == 8)
        // Many recorders of one file at once: one record.
        let b = Self.file("/data/in/b.csv")
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask { _ = try? await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .file(b), jobID: 9)) }
            }
        }
        #expect(try await store.trigger(trigger.name)?.status.firedCount == 3)
    }

    func slotsOnlyMoveForward() async throws {
        let (store, clock) = try await make()
        let trigger = try await store.createTrigger(try Self.schedule(), createdBy: "cli")
        let s1 = clock.now().addingTimeInterval(3600)
        #expect(try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .slot(s1), jobID: 1)))
        var status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.lastSlot == s1 && status.firedCount == 1 && status.lastJobID == 1 && status.lastFile == nil)
        // The same or an older slot (a slower process) changes nothing.
        #expect(try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .slot(s1), jobID: 1)))
        #expect(try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .slot(s1.addingTimeInterval(-86_400)), jobID: 2)))
        #expect(try await store.trigger(trigger.name)?.status == status)
        let s2 = s1.addingTimeInterval(86_400)
        #expect(try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .slot(s2), jobID: 3)))
        status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.lastSlot == s2 && status.firedCount == 2 && status.lastJobID == 3)
    }

    func errorsAreShownUntilTheNextSuccess() async throws {
        let (store, clock) = try await make()
        let trigger = try await store.createTrigger(try Self.watch(), createdBy: "cli")
        clock.advance(by: .seconds(3))
        try await store.recordTriggerError(trigger.name, triggerID: trigger.id, message: "model iris not found")
        var status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.lastError == "model iris not found" && status.lastErrorAt == clock.now() && status.firedCount == 0)
        // An error for another trigger of the same name (an old id) is not this one's.
        try await store.recordTriggerError(trigger.name, triggerID: trigger.id + 100, message: "stale")
        #expect(try await store.trigger(trigger.name)?.status.lastError == "model iris not found")
        try await store.recordTriggerError(TriggerName("nope"), triggerID: trigger.id, message: "nobody")
        _ = try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .file(Self.file()), jobID: 4))
        status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.lastError == nil && status.lastErrorAt == nil && status.firedCount == 1)
    }

    func deletingForgetsAndARecreatedTriggerStartsAfresh() async throws {
        let (store, _) = try await make()
        let old = try await store.createTrigger(try Self.watch(), createdBy: "cli")
        let a = Self.file()
        _ = try await store.recordFiring(TriggerFiring(trigger: old.name, triggerID: old.id, cause: .file(a), jobID: 1))
        try await store.deleteTrigger(old.name)
        #expect(try await store.trigger(old.name) == nil)
        #expect(try await store.firedFile(trigger: old.id, identity: a.identity(trigger: old.id)) == nil)
        await MetadataStoreContract.expectCode(.notFound) { try await store.deleteTrigger(old.name) }
        let new = try await store.createTrigger(try Self.watch(), createdBy: "cli")
        #expect(new.id != old.id && new.status == TriggerStatus())
        #expect(try await store.firedFile(trigger: new.id, identity: a.identity(trigger: new.id)) == nil)
        // A process still firing for the old trigger does not write into the new one.
        #expect(try await !store.recordFiring(TriggerFiring(trigger: old.name, triggerID: old.id, cause: .file(a), jobID: 1)))
        #expect(try await store.trigger(new.name)?.status.firedCount == 0)
        #expect(try await !store.recordFiring(TriggerFiring(trigger: try TriggerName("gone"), triggerID: old.id, cause: .slot(Date()), jobID: 1)))
    }

    /// `s3://` watches: the listing cursor is kept with the trigger (the last write wins, nil
    /// starts again at the beginning, any key survives as written), untouched by firings and
    /// pausing, ignored for a trigger that is gone or was replaced; a fired object keeps its ETag.
    func listingCursorsAndFiredObjectsArePersisted() async throws {
        let (store, clock) = try await make()
        let definition = try TriggerDefinition(name: TriggerName("landing"), source: .watch(WatchSource(path: "s3://data-bucket/landing", glob: "*.csv")),
                                               action: .transform(["model": .string("iris@production"), "output": .string("s3://data-bucket/scored/")]))
        let trigger = try await store.createTrigger(definition, createdBy: "cli")
        #expect(trigger.definition == definition && trigger.status.listingCursor == nil)
        func cursor() async throws -> String? { try await store.trigger(trigger.name)?.status.listingCursor }
        try await store.recordListingCursor(trigger.name, triggerID: trigger.id, cursor: "s3://data-bucket/landing/part-0007.csv")
        #expect(try await cursor() == "s3://data-bucket/landing/part-0007.csv")
        #expect(try await store.triggers().first?.status.listingCursor == "s3://data-bucket/landing/part-0007.csv")
        // Another process's later write wins.
        try await store.recordListingCursor(trigger.name, triggerID: trigger.id, cursor: "s3://data-bucket/landing/part-0014.csv")
        #expect(try await cursor() == "s3://data-bucket/landing/part-0014.csv")
        // A fired object: its record keeps the ETag; the cursor stays.
        clock.advance(by: .seconds(4))
        let object = WatchedFile(path: "s3://data-bucket/landing/a.csv", bytes: 1_234, modified: 1_800_000_000.5, etag: "\"9b2cf535f27731c974343645a3985328\"")
        #expect(try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .file(object), jobID: 11)))
        #expect(try await store.firedFile(trigger: trigger.id, identity: object.identity(trigger: trigger.id))
                == FiredFile(file: object, jobID: 11, firedAt: clock.now()))
        var uploadedAgain = object
        uploadedAgain.modified += 60
        #expect(try await store.firedFile(trigger: trigger.id, identity: uploadedAgain.identity(trigger: trigger.id))?.jobID == 11,
                "the same bytes uploaded again are the same object")
        var status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.firedCount == 1 && status.lastFile == object.path && status.listingCursor == "s3://data-bucket/landing/part-0014.csv")
        // Pausing and resuming keep it.
        _ = try await store.setTriggerPaused(trigger.name, paused: true)
        _ = try await store.setTriggerPaused(trigger.name, paused: false)
        #expect(try await cursor() == "s3://data-bucket/landing/part-0014.csv")
        // The end of the prefix: the next pass starts again at the beginning.
        try await store.recordListingCursor(trigger.name, triggerID: trigger.id, cursor: nil)
        #expect(try await cursor() == nil)
        // Any key, as written.
        let awkward = "s3://data-bucket/landing/données été/😀 'quoted' \"and\" ;DROP.csv\u{10FFFF}"
        try await store.recordListingCursor(trigger.name, triggerID: trigger.id, cursor: awkward)
        #expect(try await cursor() == awkward)
        // A process still listing for an old trigger of that name, or for a name that is gone, writes nothing.
        try await store.recordListingCursor(trigger.name, triggerID: trigger.id + 100, cursor: "s3://data-bucket/landing/stale.csv")
        try await store.recordListingCursor(TriggerName("gone"), triggerID: trigger.id, cursor: "s3://data-bucket/landing/stale.csv")
        #expect(try await cursor() == awkward)
        status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.firedCount == 1 && status.lastError == nil)
        try await store.deleteTrigger(trigger.name)
        let recreated = try await store.createTrigger(definition, createdBy: "cli")
        #expect(recreated.status.listingCursor == nil)
        #expect(try await store.firedFile(trigger: recreated.id, identity: object.identity(trigger: recreated.id)) == nil)
    }

    /// Two processes firing the same file use the same idempotency key: one job.
    func firingTheSameFileTwiceMakesOneJob() async throws {
        let (store, _) = try await make()
        let trigger = try await store.createTrigger(try Self.watch(), createdBy: "cli")
        let key = TriggerFiring.idempotencyKey(trigger: trigger.name, triggerID: trigger.id, cause: .file(Self.file()))
        try EnqueueRequest.checkIdempotencyKey(key)
        let jobs = try await withThrowingTaskGroup(of: Job.self) { group in
            for _ in 0..<10 {
                group.addTask { try await store.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("iris"), idempotencyKey: key)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(jobs.map(\.id)).count == 1)
        #expect(try await store.jobs(JobFilter()).count == 1)
        // Slots: the key names the slot, the longest trigger name still fits.
        let long = try TriggerName(String(repeating: "a", count: 64))
        try EnqueueRequest.checkIdempotencyKey(TriggerFiring.idempotencyKey(trigger: long, triggerID: Int64.max, cause: .file(Self.file(String(repeating: "/x", count: 2000)))))
        #expect(TriggerFiring.idempotencyKey(trigger: trigger.name, triggerID: 1, cause: .slot(Date(timeIntervalSince1970: 1_800_000_000.7)))
                == "trigger:inbox:slot:2027-01-15T08:00:00Z")
    }
}
