import Foundation
import Testing
import TrainyardCore
@testable import TrainyardStorage

/// Every check of `TriggerStoreContract`, once per metadata backend.
@Suite("MetadataStore contract: triggers", .serialized, .postgresSchemasDropped)
struct TriggerStoreContractTests {
    static let backends = MetadataBackend.allCases

    @Test(arguments: backends) func createReadAndList(_ backend: MetadataBackend) async throws { try await backend.triggers.createReadAndList() }
    @Test(arguments: backends) func pauseAndResume(_ backend: MetadataBackend) async throws { try await backend.triggers.pauseAndResume() }
    @Test(arguments: backends) func firedFilesAreRecordedOnce(_ backend: MetadataBackend) async throws {
        try await backend.triggers.firedFilesAreRecordedOnce()
    }
    @Test(arguments: backends) func slotsOnlyMoveForward(_ backend: MetadataBackend) async throws { try await backend.triggers.slotsOnlyMoveForward() }
    @Test(arguments: backends) func errorsAreShownUntilTheNextSuccess(_ backend: MetadataBackend) async throws {
        try await backend.triggers.errorsAreShownUntilTheNextSuccess()
    }
    @Test(arguments: backends) func deletingForgetsAndARecreatedTriggerStartsAfresh(_ backend: MetadataBackend) async throws {
        try await backend.triggers.deletingForgetsAndARecreatedTriggerStartsAfresh()
    }
    @Test(arguments: backends) func firingTheSameFileTwiceMakesOneJob(_ backend: MetadataBackend) async throws {
        try await backend.triggers.firingTheSameFileTwiceMakesOneJob()
    }
    @Test(arguments: backends) func listingCursorsAndFiredObjectsArePersisted(_ backend: MetadataBackend) async throws {
        try await backend.triggers.listingCursorsAndFiredObjectsArePersisted()
    }

    /// SQLite only: a restarted process (a new store on the same file) and a second process
    /// see the triggers and what they fired.
    @Test func sqliteTriggersSurviveReopeningAndAreSharedBetweenProcesses() async throws {
        let file = try temporaryDirectory("trainyard-triggers").appendingPathComponent("trainyard.sqlite")
        let clock = ManualClock()
        let first = try SQLiteMetadataStore(file: file, clock: clock)
        let trigger = try await first.createTrigger(try TriggerStoreContract.watch(dataRoots: ["/data"]), createdBy: "cli")
        let a = TriggerStoreContract.file()
        _ = try await first.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .file(a), jobID: 3))
        let second = try SQLiteMetadataStore(file: file, clock: clock)
        #expect(try await second.trigger(trigger.name) == first.trigger(trigger.name))
        #expect(try await second.firedFile(trigger: trigger.id, identity: a.identity(trigger: trigger.id))?.jobID == 3)
        _ = try await second.setTriggerPaused(trigger.name, paused: true)
        #expect(try await first.trigger(trigger.name)?.paused == true)
    }
}

extension MetadataBackend {
    var triggers: TriggerStoreContract { TriggerStoreContract(factory: contract.factory) }
}
