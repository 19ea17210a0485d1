import Foundation
import Testing
import TrainyardCore

/// What every `MetadataStore` backend must do with `sqs` triggers: keep their definition whole
/// (queue URL and settings, the template, the data roots) and count every message firing, the
/// S3 object of one becoming the last file.
extension TriggerStoreContract {
    static func sqs(_ name: String = "ingest", visibility: Int? = 600, dataRoots: [String]? = nil) throws -> TriggerDefinition {
        try TriggerDefinition(name: TriggerName(name),
                              source: .sqs(SQSSource(queueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/training-requests", waitSeconds: 7,
                                                     maxMessages: 4, visibilityTimeoutSeconds: visibility)),
                              action: .train(TrainTemplate(spec: "name: ${message.name}\ntask: command\ntags: { f: ${trigger.file} }\n",
                                                           baseDirectory: "/specs/legacy")),
                              dataRoots: dataRoots)
    }

    func sqsDefinitionsAreKeptWhole() async throws {
        let (store, _) = try await make()
        let created = try await store.createTrigger(try Self.sqs(dataRoots: ["/lake"]), createdBy: "token:ci")
        let defaults = try await store.createTrigger(try Self.sqs("plain", visibility: nil), createdBy: "cli")
        let expected = try Self.sqs(dataRoots: ["/lake"])
        #expect(created.kind == .sqs)
        #expect(created.definition == expected)
        #expect(created.dataAccess == .restricted(to: ["/lake"]))
        let plain = try Self.sqs("plain", visibility: nil)
        #expect(defaults.definition == plain)
        #expect(try await store.trigger(created.name) == created)
        #expect(try await store.triggers().map(\.kind) == [.sqs, .sqs])
        let transform = try TriggerDefinition(name: TriggerName("events"),
                                              source: .sqs(SQSSource(queueURL: "http://127.0.0.1:4566/000000000000/events.fifo")),
                                              action: .transform(["model": .string("iris@production"), "output": .string("s3://out/scored")]))
        #expect(try await store.createTrigger(transform, createdBy: "cli").definition == transform)
    }

    func everyMessageFiringCounts() async throws {
        let (store, clock) = try await make()
        let trigger = try await store.createTrigger(try Self.sqs(), createdBy: "cli")
        try await store.recordTriggerError(trigger.name, triggerID: trigger.id, message: "message m-0: the body is empty")
        clock.advance(by: .seconds(5))
        let spec = TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .message(TriggerMessage(id: "m-1")), jobID: 11)
        #expect(try await store.recordFiring(spec))
        var status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.firedCount == 1 && status.lastJobID == 11 && status.lastFiredAt == clock.now() && status.lastFile == nil)
        #expect(status.lastError == nil && status.lastErrorAt == nil, "a firing clears the last error")
        for (record, key) in ["a.csv", "b c.csv"].enumerated() {
            let cause = TriggerMessage(id: "m-2", record: record, file: "s3://data-in/\(key)")
            #expect(try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .message(cause), jobID: 12 + Int64(record))))
        }
        status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.firedCount == 3 && status.lastJobID == 13 && status.lastFile == "s3://data-in/b c.csv")
        // A message without an object keeps the last file.
        #expect(try await store.recordFiring(TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: .message(TriggerMessage(id: "m-3")), jobID: 14)))
        status = try #require(try await store.trigger(trigger.name)).status
        #expect(status.firedCount == 4 && status.lastFile == "s3://data-in/b c.csv")
        // A firing for a trigger that was removed and created again is not the new one's.
        try await store.deleteTrigger(trigger.name)
        let again = try await store.createTrigger(try Self.sqs(), createdBy: "cli")
        #expect(try await !store.recordFiring(spec))
        #expect(try await store.trigger(again.name)?.status == TriggerStatus())
    }
}
