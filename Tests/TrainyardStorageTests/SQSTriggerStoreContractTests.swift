import Foundation
import Testing
import TrainyardCore
@testable import TrainyardStorage

/// `TriggerStoreContract`'s sqs checks, once per metadata backend, and (SQLite) a stored sqs
/// trigger read back by a reopened store: the definition is stored in the existing JSON
/// column, so no migration was needed.
@Suite("MetadataStore contract: sqs triggers", .postgresSchemasDropped)
struct SQSTriggerStoreContractTests {
    @Test(arguments: MetadataBackend.allCases) func sqsDefinitionsAreKeptWhole(_ backend: MetadataBackend) async throws {
        try await backend.triggers.sqsDefinitionsAreKeptWhole()
    }

    @Test(arguments: MetadataBackend.allCases) func everyMessageFiringCounts(_ backend: MetadataBackend) async throws {
        try await backend.triggers.everyMessageFiringCounts()
    }

    @Test func sqliteKeepsSQSTriggersAcrossReopening() async throws {
        let file = try temporaryDirectory("trainyard-sqs-triggers").appendingPathComponent("trainyard.sqlite")
        let clock = ManualClock()
        let first = try SQLiteMetadataStore(file: file, clock: clock)
        let trigger = try await first.createTrigger(try TriggerStoreContract.sqs(dataRoots: ["/lake"]), createdBy: "cli")
        _ = try await first.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id,
                                                       cause: .message(TriggerMessage(id: "m", record: 0, file: "s3://b/k.csv")), jobID: 3))
        let reopened = try SQLiteMetadataStore(file: file, clock: clock)
        let read = try #require(try await reopened.trigger(trigger.name))
        #expect(read.definition == trigger.definition && read.status.lastFile == "s3://b/k.csv" && read.status.firedCount == 1)
    }
}
