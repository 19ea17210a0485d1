import Foundation
import Synchronization
import Testing
import TrainyardApp
import TrainyardCore
@testable import TrainyardRuntime
import TrainyardStorage
import TrainyardTestSupport

/// `sqs` triggers on real stores with an in-memory queue (`InMemoryMessageQueue`, SQS's
/// visibility rules on a `ManualClock`): a spec, a JSON message through the template and an S3
/// event each make their jobs, which record the message; a message is deleted only once its jobs
/// are enqueued; a malformed message, or one whose job cannot be enqueued, stays on the queue
/// with the reason on the trigger; a message delivered again makes no second job. Receives are
/// driven one by one (`receiveMessages`) except in the tests of the running service.
@Suite("SQS trigger service")
struct SQSTriggerServiceTests {
    struct Setup {
        let harness: Harness
        let clock: ManualClock
        let queues: InMemoryMessageQueues
        let services: TrainyardServices
        /// A spec folder: `train.py`, `data/train.csv`.
        let folder: URL
        var store: any MetadataStore { services.store }

        init(inMemory: Bool = false) async throws {
            clock = ManualClock()
            harness = try await Harness(clock: clock, inMemory: inMemory)
            queues = InMemoryMessageQueues(clock: clock)
            var services = harness.services
            services.messageQueues = queues
            self.services = services
            folder = try harness.specFolder()
        }

        static func url(_ name: String) -> String { "http://127.0.0.1:9324/000000000000/\(name)" }

        /// An sqs trigger on a new in-memory queue named like it (visibility timeout 60 s).
        func trigger(_ name: String, action: TriggerAction, visibility: Int = 60) async throws -> (Trigger, InMemoryMessageQueue) {
            let queue = queues.make(Self.url(name))
            let definition = try TriggerDefinition(name: TriggerName(name),
                                                   source: .sqs(SQSSource(queueURL: Self.url(name), waitSeconds: 0, visibilityTimeoutSeconds: visibility)),
                                                   action: action)
            return (try await TriggerCatalog(services: services).create(definition, createdBy: "test", access: .unrestricted), queue)
        }

        func jobs(_ kind: JobKind) async throws -> [Job] { try await store.jobs(JobFilter(kind: kind, limit: 1000)) }

        /// A spec body naming the spec folder's data by its absolute path.
        func specBody(_ name: String) -> String {
            "name: \(name)\ntask: command\ncommand: [\"python3\", \"train.py\"]\ndata:\n  train: \(folder.path)/data/train.csv\n"
        }

        var legacyTemplate: TrainTemplate {
            TrainTemplate(spec: """
                name: ${message.name}
                task: command
                command: ["python3", "train.py"]
                data:
                  train: data/train.csv
                model:
                  params: { epochs: ${message.epochs} }
                tags: { image: ${message.image}, by: ${trigger.name} }
                """, baseDirectory: folder.path)
        }

        var dailyTemplate: TrainTemplate {
            TrainTemplate(spec: """
                name: daily
                task: command
                command: ["python3", "train.py"]
                data:
                  train: data/train.csv
                tags:
                  source: ${trigger.file}
                """, baseDirectory: folder.path)
        }
    }

    static let legacyMessage = #"{"name": "my-model", "image": "registry.example/train:3", "embeddings": "s3://models/emb.vec", "epochs": 2}"#
    static let testEvent = #"{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-12-02T10:00:00Z", "Bucket": "data-in"}"#

    static func s3Event(_ records: [(event: String, key: String)], bucket: String = "data-in") -> String {
        let items = records.map { r in
            #"{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "\#(r.event)", "#
                + #""s3": {"bucket": {"name": "\#(bucket)"}, "object": {"key": "\#(r.key)", "size": 17}}}"#
        }
        return #"{"Records": [\#(items.joined(separator: ", "))]}"#
    }

    // MARK: What messages make

    @Test(arguments: [false, true])
    func aSpecAndAJSONMessageMakeTrainJobsAndATestEventIsAcknowledged(inMemory: Bool) async throws {
        let s = try await Setup(inMemory: inMemory)
        let (trigger, queue) = try await s.trigger("legacy", action: .train(s.legacyTemplate))
        let spec = queue.send(s.specBody("from-spec"))
        let legacy = queue.send(Self.legacyMessage)
        let test = queue.send(Self.testEvent)
        let service = TriggerService(services: s.services)
        let report = try await service.receiveMessages(trigger.name)
        #expect(report.failures.isEmpty, "\(report.failures)")
        #expect(report.received == 3 && report.fired.count == 2)
        #expect(report.deletedMessages == [spec, legacy, test] && report.ignoredMessages == [test])
        #expect(queue.count == 0, "every message is deleted once its jobs are enqueued")
        let jobs = try await s.jobs(.train).sorted { $0.id < $1.id }
        #expect(jobs.map(\.model.rawValue) == ["from-spec", "my-model"])
        #expect(jobs.map(\.spec.origin) == [JobOrigin(trigger: "legacy", message: spec), JobOrigin(trigger: "legacy", message: legacy)])
        #expect(jobs.allSatisfy { $0.submittedBy == "trigger:legacy" })
        let filled = try #require(jobs.last)
        #expect(filled.spec.model.params["epochs"] == .int(2))
        #expect(filled.spec.tags == ["image": "registry.example/train:3", "by": "legacy"])
        // Staged: the template's relative path resolved against its folder (without one it is refused).
        #expect(filled.spec.staged.first { $0.key == "data.train" }?.source == "data/train.csv")
        #expect(try await s.store.job(idempotencyKey: "trigger:legacy:sqs:\(legacy)")?.id == filled.id)
        let status = try #require(try await s.store.trigger(trigger.name)).status
        #expect(status.firedCount == 2 && status.lastJobID == filled.id && status.lastError == nil)
        // Nothing more on the queue: nothing more happens.
        let again = try await service.receiveMessages(trigger.name)
        #expect(again.received == 0 && again.fired.isEmpty)
    }

    @Test func anS3EventMakesOneTrainJobPerCreatedObjectFromTheTemplate() async throws {
        let s = try await Setup()
        let (trigger, queue) = try await s.trigger("daily", action: .train(s.dailyTemplate))
        let event = queue.send(Self.s3Event([("ObjectCreated:Put", "2026/day+1.csv"), ("ObjectRemoved:Delete", "old.csv"),
                                             ("ObjectCreated:CompleteMultipartUpload", "2026/%C3%A9t%C3%A9%2B2.csv")]))
        let report = try await TriggerService(services: s.services).receiveMessages(trigger.name)
        #expect(report.failures.isEmpty, "\(report.failures)")
        #expect(report.fired.map(\.cause) == [.message(TriggerMessage(id: event, record: 0, file: "s3://data-in/2026/day 1.csv")),
                                              .message(TriggerMessage(id: event, record: 2, file: "s3://data-in/2026/été+2.csv"))])
        #expect(queue.count == 0)
        let jobs = try await s.jobs(.train).sorted { $0.id < $1.id }
        #expect(jobs.map { $0.spec.tags["source"] } == ["s3://data-in/2026/day 1.csv", "s3://data-in/2026/été+2.csv"])
        #expect(jobs.map(\.spec.origin) == [JobOrigin(trigger: "daily", file: "s3://data-in/2026/day 1.csv", message: event),
                                            JobOrigin(trigger: "daily", file: "s3://data-in/2026/été+2.csv", message: event)])
        #expect(try await s.store.job(idempotencyKey: "trigger:daily:sqs:\(event):2")?.id == jobs.last?.id)
        let status = try #require(try await s.store.trigger(trigger.name)).status
        #expect(status.firedCount == 2 && status.lastFile == "s3://data-in/2026/été+2.csv")
    }

    @Test func anS3EventForATransformTriggerGoesToTheTransformSubmitter() async throws {
        let s = try await Setup()
        try await RegisteredVersions.registerTabular("prices", services: s.services)
        let out = s.harness.root.appendingPathComponent("scored").path
        let action = TriggerAction.transform(["model": .string("prices"), "output": .string(out), "keep": .array([.string("a")])])
        let (trigger, queue) = try await s.trigger("events", action: action)
        let event = queue.send(Self.s3Event([("ObjectCreated:Put", "in/a.csv"), ("ObjectCreated:Put", "in/b.csv")]))

        // What the trigger asks of the submitter: the request and the options of each record.
        let recorder = RecordingSubmitting()
        let recorded = try await TriggerService(services: s.services, submitting: recorder).receiveMessages(trigger.name)
        #expect(recorded.failures.isEmpty && recorded.fired.count == 2)
        let calls = recorder.transforms
        #expect(calls.map(\.request) == [TransformRequest(model: "prices", input: "s3://data-in/in/a.csv", output: out, keep: ["a"]),
                                         TransformRequest(model: "prices", input: "s3://data-in/in/b.csv", output: out, keep: ["a"])])
        #expect(calls.map(\.key) == ["trigger:events:sqs:\(event):0", "trigger:events:sqs:\(event):1"])
        #expect(calls.map(\.origin) == [JobOrigin(trigger: "events", file: "s3://data-in/in/a.csv", message: event),
                                        JobOrigin(trigger: "events", file: "s3://data-in/in/b.csv", message: event)])
        #expect(calls.allSatisfy { $0.submittedBy == "trigger:events" })
        #expect(queue.count == 0)

        // The system's own submitter decides whether it can read the object: this process has
        // no S3 (no network in this test), so it refuses, and the message stays with the reason.
        var withoutS3 = s.services
        withoutS3.dataObjects = nil
        let second = queue.send(Self.s3Event([("ObjectCreated:Put", "in/c.csv")]))
        let real = try await TriggerService(services: withoutS3).receiveMessages(trigger.name)
        #expect(real.fired.isEmpty && queue.ids == [second], "not deleted: no job was enqueued")
        #expect(real.failures.first?.message.contains("S3 event record 0 (s3://data-in/in/c.csv): ") == true, "\(real.failures)")
        #expect(real.failures.first?.message.contains("S3") == true)
        #expect(try await s.store.trigger(trigger.name)?.status.lastError?.contains(second) == true)
    }

    // MARK: What stays on the queue

    @Test func malformedMessagesStayOnTheQueueWithTheReasonOnTheTrigger() async throws {
        let s = try await Setup()
        let (trigger, queue) = try await s.trigger("legacy", action: .train(s.legacyTemplate))
        let cases: [(body: String, reason: String)] = [
            ("this is not a spec", "the message body is not JSON, and as a YAML spec"),
            (#"{"name": "my-model", "image": "x"}"#, #"the message has no field "epochs""#),
            (#"{"name": "my-model\ntask: evil", "image": "x", "epochs": 1}"#, "cannot be put into a spec template"),
            (#"{"name": "a", "epochs": "#, "the message body is not valid JSON"),
            (String(repeating: "#", count: QueueMessageBody.maxBytes + 1), "at most 262144 are read"),
            ("name: ok\ntask: command\ncommand: [\"true\"]\ndata:\n  train: /nonexistent/\(UUID().uuidString).csv\n", "data.train"),
        ]
        let ids = cases.map { queue.send($0.body) }
        let service = TriggerService(services: s.services)
        let report = try await service.receiveMessages(trigger.name)
        #expect(report.fired.isEmpty && report.deletedMessages.isEmpty)
        #expect(queue.ids == ids, "nothing deleted")
        #expect(report.failures.count == cases.count)
        for ((_, reason), (id, failure)) in zip(cases, zip(ids, report.failures)) {
            #expect(failure.message.hasPrefix("message \(id) (delivery 1): "), "\(failure.message)")
            #expect(failure.message.contains(reason), "\(failure.message)")
            #expect(failure.message.utf8.count < 3000, "a reason never quotes a large body")
        }
        #expect(try await s.store.trigger(trigger.name)?.status.lastError?.contains(ids.last!) == true)
        #expect(try await s.jobs(.train).isEmpty)
        // Hidden for the visibility timeout, then delivered again (the queue's redrive policy counts).
        #expect(try await service.receiveMessages(trigger.name).received == 0)
        s.clock.advance(by: .seconds(61))
        let again = try await service.receiveMessages(trigger.name)
        #expect(again.received == cases.count && again.failures.first?.message.contains("(delivery 2)") == true)
        #expect(queue.receiveCounts.values.allSatisfy { $0 == 2 })
    }

    @Test func aMessageIsDeletedOnlyAfterItsJobIsEnqueued() async throws {
        let s = try await Setup()
        let (trigger, queue) = try await s.trigger("legacy", action: .train(s.legacyTemplate))
        let id = queue.send(Self.legacyMessage)
        let failing = RecordingSubmitting(failing: 1, passingTo: StandardTriggerJobSubmitting(services: s.services))
        let service = TriggerService(services: s.services, submitting: failing)
        let failed = try await service.receiveMessages(trigger.name)
        #expect(failed.fired.isEmpty && failed.failures.first?.message.contains("the store is unreachable") == true, "\(failed.failures)")
        #expect(queue.ids == [id], "the enqueue failed: the message stays")
        #expect(try await s.jobs(.train).isEmpty)
        s.clock.advance(by: .seconds(61))
        let retried = try await service.receiveMessages(trigger.name)
        #expect(retried.fired.count == 1 && retried.deletedMessages == [id])
        #expect(queue.count == 0)
        #expect(try await s.jobs(.train).count == 1)
        #expect(try await s.store.trigger(trigger.name)?.status.lastError == nil, "the success clears the error")
    }

    @Test(arguments: [false, true])
    func aMessageDeliveredAgainMakesNoSecondJob(inMemory: Bool) async throws {
        let s = try await Setup(inMemory: inMemory)
        let (trigger, queue) = try await s.trigger("daily", action: .train(s.dailyTemplate))
        let id = queue.send(Self.s3Event([("ObjectCreated:Put", "a.csv"), ("ObjectCreated:Put", "b.csv")]))
        // The first delivery's jobs are enqueued, but the delete is lost (a crash, a network error).
        queue.failNextDeletes(1)
        let service = TriggerService(services: s.services)
        let first = try await service.receiveMessages(trigger.name)
        #expect(first.fired.count == 2 && first.deletedMessages.isEmpty)
        #expect(first.failures.first?.message.contains("its jobs are enqueued but deleting it failed") == true)
        #expect(queue.ids == [id])
        // Delivered again (same id) to another process: the same jobs, and now it is deleted.
        s.clock.advance(by: .seconds(61))
        let other = TriggerService(services: s.services)
        let second = try await other.receiveMessages(trigger.name)
        #expect(second.failures.isEmpty && second.deletedMessages == [id])
        #expect(second.fired.map(\.jobID) == first.fired.map(\.jobID))
        #expect(queue.count == 0)
        #expect(try await s.jobs(.train).count == 2)
        #expect(try await s.store.trigger(trigger.name)?.status.firedCount == 2, "a job found again is not counted again")
    }

    // MARK: The running service

    @Test func theRunningServicePollsEachSQSTriggerAndRecordsAQueueThatCannotBeRead() async throws {
        let s = try await Setup()
        let queueURL = Setup.url("live")
        let queue = s.queues.make(queueURL)
        let definition = try TriggerDefinition(name: TriggerName("live"), source: .sqs(SQSSource(queueURL: queueURL, waitSeconds: 1)),
                                               action: .train(s.legacyTemplate))
        _ = try await TriggerCatalog(services: s.services).create(definition, createdBy: "test", access: .unrestricted)
        queue.failNextReceives(1)
        let service = TriggerService(services: s.services, options: .init(pollInterval: .milliseconds(20), retryBase: .milliseconds(50)))
        let running = Task { try await service.run() }
        try await s.harness.eventually("the failed receive on the trigger", timeout: .seconds(60)) {
            try await s.store.trigger(TriggerName("live"))?.status.lastError?.contains("injected failure of ReceiveMessage") == true
        }
        queue.send(Self.legacyMessage)
        queue.send(s.specBody("second"))
        try await s.harness.eventually("two train jobs", timeout: .seconds(60)) { try await s.jobs(.train).count == 2 }
        try await s.harness.eventually("an empty queue", timeout: .seconds(60)) { queue.count == 0 }
        running.cancel()
        try await running.value
        #expect(try await s.jobs(.train).count == 2)
        #expect(try await s.store.trigger(TriggerName("live"))?.status.firedCount == 2)
    }

    @Test func withoutAMessageQueueBackendAnSQSTriggerIsRefused() async throws {
        let s = try await Setup()
        var services = s.services
        services.messageQueues = nil
        let definition = try TriggerDefinition(name: TriggerName("nowhere"), source: .sqs(SQSSource(queueURL: Setup.url("nowhere"))),
                                               action: .train(s.legacyTemplate))
        await #expect(throws: TrainyardError.self) { _ = try await TriggerCatalog(services: services).create(definition, createdBy: "t", access: .unrestricted) }
        // And a queue URL the backend does not serve.
        let unknown = try TriggerDefinition(name: TriggerName("unknown"), source: .sqs(SQSSource(queueURL: Setup.url("unknown"))),
                                            action: .train(s.legacyTemplate))
        do {
            _ = try await TriggerCatalog(services: s.services).create(unknown, createdBy: "t", access: .unrestricted)
            Issue.record("a queue the backend does not serve was accepted")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidArgument && error.message.contains("is not a queue this test serves"))
        }
        #expect(try await s.store.triggers().isEmpty)
    }
}

/// Records what a trigger submits; optionally fails the first `failing` calls (a store that
/// cannot be reached), then passes the rest on.
final class RecordingSubmitting: TriggerJobSubmitting {
    struct Transform: Sendable {
        var request: TransformRequest
        var key: String?
        var origin: JobOrigin?
        var submittedBy: String
    }

    private struct State {
        var transforms: [Transform] = []
        var failuresLeft: Int
        var nextID: JobID = 1000
    }

    private let state: Mutex<State>
    private let next: (any TriggerJobSubmitting)?

    init(failing: Int = 0, passingTo next: (any TriggerJobSubmitting)? = nil) {
        state = Mutex(State(failuresLeft: failing))
        self.next = next
    }

    var transforms: [Transform] { state.withLock { $0.transforms } }

    private func failIfDue() throws {
        try state.withLock { s in
            if s.failuresLeft > 0 {
                s.failuresLeft -= 1
                throw TrainyardError(.unavailable, "the store is unreachable")
            }
        }
    }

    func submitTransform(_ request: TransformRequest, options: TransformSubmitter.Options) async throws -> Job {
        try failIfDue()
        if let next { return try await next.submitTransform(request, options: options) }
        return try state.withLock { s in
            s.transforms.append(Transform(request: request, key: options.idempotencyKey, origin: options.origin, submittedBy: options.submittedBy))
            s.nextID += 1
            return try Self.job(s.nextID, kind: .transform, model: request.model)
        }
    }

    func submitTrain(_ spec: String, options: JobSubmitter.Options) async throws -> Job {
        try failIfDue()
        if let next { return try await next.submitTrain(spec, options: options) }
        throw TrainyardError(.internal, "this recorder records transforms only")
    }

    static func job(_ id: JobID, kind: JobKind, model: String) throws -> Job {
        let name = try ModelName(String(model.prefix { $0 != "@" && $0 != ":" }))
        return Job(id: id, kind: kind, state: .queued, model: name, spec: Spec(name: name, task: .tabularRegression), priority: 0, attempt: 0,
                   maxAttempts: 1, runAfter: Date(), createdAt: Date(), submittedBy: "test")
    }
}
