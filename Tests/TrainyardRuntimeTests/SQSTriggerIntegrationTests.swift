import Foundation
import Synchronization
import Testing
import TrainyardApp
import TrainyardAWS
import TrainyardAWSBackends
import TrainyardCore
@testable import TrainyardRuntime
import TrainyardTestServices
import TrainyardTestSupport

/// The running `TriggerService` against SQS on moto_server, with every message sent by boto3:
/// specs, an older system's JSON message, an S3 event notification with URL-encoded keys, S3's
/// test event, malformed messages and a message whose first delete is lost (so SQS delivers it
/// again, same id) → exactly the jobs expected, each once; the good messages gone from the
/// queue; the malformed ones moved by the queue's redrive policy to its dead-letter queue after
/// two receives; the reason on the trigger.
@Suite("SQS triggers against moto", .serialized)
struct SQSTriggerIntegrationTests {
    @Test(.enabled(if: TestService.aws.shouldRun, "\(TestService.aws.skipReason)"))
    func messagesSentByBoto3BecomeTheirJobsOnce() async throws {
        let endpoint = try TestService.aws.require()
        let harness = try await Harness()
        let folder = try harness.specFolder()
        let credentials = try AWSCredentials(accessKeyID: ProcessInfo.processInfo.environment["AWS_ACCESS_KEY_ID"] ?? "testing",
                                             secretAccessKey: ProcessInfo.processInfo.environment["AWS_SECRET_ACCESS_KEY"] ?? "testing")
        let sqs = SQSMessageQueues(endpoint: try AWSEndpoint(service: "sqs", region: "us-east-1", customURL: endpoint),
                                   credentials: StaticCredentialsProvider(credentials))
        let losing = LosingFirstDelete(sqs, ofBodiesContaining: "lost-delete")
        var services = harness.services
        services.messageQueues = losing

        // Two queues, each with a dead-letter queue after 2 receives, made by boto3.
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let urls = try await Boto3.run("""
            out = []
            for name in sys.argv[1:]:
                dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30",
                    "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"})})["QueueUrl"]
                out += [url, dlq]
            print(" ".join(out))
            """, ["legacy-\(suffix)", "events-\(suffix)"]).split(separator: " ").map(String.init)
        try #require(urls.count == 4)
        let (legacyQueue, legacyDLQ, eventsQueue, eventsDLQ) = (urls[0], urls[1], urls[2], urls[3])
        defer { _ = try? Boto3.runNow("for url in sys.argv[1:]: sqs.delete_queue(QueueUrl=url)", urls) }

        let catalog = TriggerCatalog(services: services)
        let legacyTemplate = TrainTemplate(spec: """
            name: ${message.name}
            task: command
            command: ["python3", "train.py"]
            data:
              train: data/train.csv
            model:
              params: { epochs: ${message.epochs} }
            tags: { image: ${message.image} }
            """, baseDirectory: folder.path)
        let eventsTemplate = TrainTemplate(spec: """
            name: daily
            task: command
            command: ["python3", "train.py"]
            data:
              train: data/train.csv
            tags:
              source: ${trigger.file}
            """, baseDirectory: folder.path)
        // A received message comes back 1 s after it was left (or its delete was lost).
        for (name, url, template) in [("legacy", legacyQueue, legacyTemplate), ("events", eventsQueue, eventsTemplate)] {
            _ = try await catalog.create(try TriggerDefinition(name: TriggerName(name),
                                                               source: .sqs(SQSSource(queueURL: url, waitSeconds: 1, visibilityTimeoutSeconds: 1)),
                                                               action: .train(template)), createdBy: "test", access: .unrestricted)
        }

        // What boto3 sends.
        let spec = "name: from-spec\ntask: command\ncommand: [\"python3\", \"train.py\"]\ndata:\n  train: \(folder.path)/data/train.csv\n"
        let event = #"{"Records": ["#
            + #"{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "data-in"}, "#
            + #""object": {"key": "2026/day+1%2B%C3%A9.csv", "size": 10}}}, "#
            + #"{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Copy", "s3": {"bucket": {"name": "data-in"}, "#
            + #""object": {"key": "2026/day2.csv", "size": 11}}}]}"#
        let sent = try await Boto3.run("""
            legacy, events = sys.argv[1], sys.argv[2]
            def send(url, body): return sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]
            ids = {
                "spec1": send(legacy, sys.argv[3]),
                "spec2": send(legacy, sys.argv[3]),
                "fields": send(legacy, json.dumps({"name": "my-model", "image": "registry.example/train:3", "embeddings": "s3://m/e.vec", "epochs": 2})),
                "lost": send(legacy, json.dumps({"name": "lost-delete", "image": "i", "embeddings": "e", "epochs": 1})),
                "broken": send(legacy, '{"name": "x", "epochs": '),
                "missing": send(legacy, json.dumps({"name": "no-epochs", "image": "i"})),
                "event": send(events, sys.argv[4]),
                "test": send(events, json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "data-in"})),
            }
            print(json.dumps(ids))
            """, [legacyQueue, eventsQueue, spec, event])
        let ids = try JSON.decode([String: String].self, from: sent)

        let service = TriggerService(services: services, options: .init(pollInterval: .milliseconds(50), retryBase: .milliseconds(200)))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        func jobs() async throws -> [Job] { try await services.store.jobs(JobFilter(kind: .train, limit: 100)) }
        func remaining(_ url: String) async throws -> Int {
            Int(try await Boto3.run("""
                a = sqs.get_queue_attributes(QueueUrl=sys.argv[1], AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                print(int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]))
                """, [url])) ?? -1
        }
        try await harness.eventually("six train jobs", timeout: .seconds(120)) { try await jobs().count >= 6 }
        try await harness.eventually("both queues empty, the malformed messages in the dead-letter queue", timeout: .seconds(120)) {
            let counts = (try await remaining(legacyQueue), try await remaining(eventsQueue), try await remaining(legacyDLQ))
            return counts == (0, 0, 2)
        }
        running.cancel()
        try await running.value

        let made = try await jobs()
        #expect(made.count == 6, "\(made.map(\.model))")
        func origins(_ id: String) -> [JobOrigin] { made.compactMap(\.spec.origin).filter { $0.message == id } }
        #expect(origins(ids["spec1"]!) == [JobOrigin(trigger: "legacy", message: ids["spec1"]!)])
        #expect(origins(ids["spec2"]!).count == 1, "the same body sent twice is two messages: two jobs")
        #expect(origins(ids["fields"]!).count == 1 && origins(ids["lost"]!).count == 1, "a message delivered again makes no second job")
        #expect(losing.lostDeletes == 1, "the lost delete happened, so the message was delivered twice")
        #expect(Set(origins(ids["event"]!).compactMap(\.file)) == ["s3://data-in/2026/day 1+é.csv", "s3://data-in/2026/day2.csv"])
        #expect(made.first { $0.model.rawValue == "my-model" }?.spec.model.params["epochs"] == .int(2))
        #expect(Set(made.compactMap { $0.spec.tags["source"] }) == ["s3://data-in/2026/day 1+é.csv", "s3://data-in/2026/day2.csv"])
        for id in [ids["broken"]!, ids["missing"]!, ids["test"]!] { #expect(origins(id).isEmpty) }

        // The dead-letter queue holds exactly the malformed messages (read back by boto3).
        let dead = try await Boto3.run("""
            got = []
            for _ in range(5):
                got += [m["MessageId"] for m in sqs.receive_message(QueueUrl=sys.argv[1], MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])]
                if len(got) >= 2: break
            print(" ".join(sorted(got)))
            """, [legacyDLQ])
        #expect(dead == [ids["broken"]!, ids["missing"]!].sorted().joined(separator: " "))
        await #expect(try remaining(eventsDLQ) == 0, "the test event was acknowledged")
        let legacy = try #require(try await services.store.trigger(TriggerName("legacy")))
        #expect(legacy.status.firedCount == 4)
        let events = try #require(try await services.store.trigger(TriggerName("events")))
        #expect(events.status.firedCount == 2 && events.status.lastFile != nil)
        // The last error names a malformed message (or the lost delete, whichever came last).
        let lastError = legacy.status.lastError ?? ""
        #expect([ids["broken"]!, ids["missing"]!, ids["lost"]!].contains { lastError.contains($0) }, "\(lastError)")

        // Nothing more happens: the job count holds.
        #expect(try await jobs().count == 6)
    }
}

extension SQSTriggerIntegrationTests {
    /// The realistic path: a bucket whose notifications go to the queue (moto sends S3's test
    /// event when it is configured, then an event per object), objects uploaded by boto3, an sqs
    /// trigger making transform jobs → each object scored once by a worker, read from S3.
    @Test(.enabled(if: TestService.aws.shouldRun, "\(TestService.aws.skipReason)"))
    func objectsUploadedByBoto3AreScoredThroughTheEventsTheirBucketSends() async throws {
        let endpoint = try TestService.aws.require()
        let harness = try await Harness()
        let environment = ProcessInfo.processInfo.environment
        let credentials = try AWSCredentials(accessKeyID: environment["AWS_ACCESS_KEY_ID"] ?? "testing",
                                             secretAccessKey: environment["AWS_SECRET_ACCESS_KEY"] ?? "testing")
        var services = harness.services
        services.messageQueues = SQSMessageQueues(endpoint: try AWSEndpoint(service: "sqs", region: "us-east-1", customURL: endpoint),
                                                  credentials: StaticCredentialsProvider(credentials))
        services.dataObjects = try TrainyardApp.openDataObjects(environment: [
            "TRAINYARD_S3_ENDPOINT": endpoint.absoluteString, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": credentials.accessKeyID, "AWS_SECRET_ACCESS_KEY": environment["AWS_SECRET_ACCESS_KEY"] ?? "testing",
        ])
        try await RegisteredVersions.registerTabular("prices", services: services)

        let name = "events-\(UUID().uuidString.prefix(8).lowercased())"
        let queue = try await Boto3.run("""
            q = sqs.create_queue(QueueName=sys.argv[1])["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            s3.create_bucket(Bucket=sys.argv[1])
            s3.put_bucket_notification_configuration(Bucket=sys.argv[1], NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
            print(q)
            """, [name])
        defer {
            _ = try? Boto3.runNow("""
                for o in s3.list_objects_v2(Bucket=sys.argv[1]).get("Contents", []): s3.delete_object(Bucket=sys.argv[1], Key=o["Key"])
                s3.delete_bucket(Bucket=sys.argv[1]); sqs.delete_queue(QueueUrl=sys.argv[2])
                """, [name, queue])
        }
        let out = harness.root.appendingPathComponent("scored")
        _ = try await TriggerCatalog(services: services).create(
            try TriggerDefinition(name: TriggerName("scoring"), source: .sqs(SQSSource(queueURL: queue, waitSeconds: 1, visibilityTimeoutSeconds: 30)),
                                  action: .transform(["model": .string("prices"), "output": .string(out.path)])),
            createdBy: "test", access: .unrestricted)
        _ = try await Boto3.run("""
            for key in ["in/day 1+x.csv", "in/day2.csv"]:
                s3.put_object(Bucket=sys.argv[1], Key=key, Body=b"a,b,c\\n1,2,u\\n3,4,v\\n5,1,u\\n")
            """, [name])

        let service = TriggerService(services: services, options: .init(pollInterval: .milliseconds(50)))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        func jobs() async throws -> [Job] { try await services.store.jobs(JobFilter(kind: .transform, limit: 100)) }
        try await harness.eventually("two transform jobs", timeout: .seconds(120)) { try await jobs().count >= 2 }
        try await harness.eventually("an empty queue", timeout: .seconds(120)) {
            try await Boto3.run("""
                a = sqs.get_queue_attributes(QueueUrl=sys.argv[1], AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                print(int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]))
                """, [queue]) == "0"
        }
        running.cancel()
        try await running.value
        let made = try await jobs()
        #expect(made.count == 2, "the test event makes nothing; each object one job")
        #expect(Set(made.compactMap(\.spec.origin?.file)) == ["s3://\(name)/in/day 1+x.csv", "s3://\(name)/in/day2.csv"])
        #expect(made.allSatisfy { $0.spec.origin?.message != nil && $0.spec.transform?.input == $0.spec.origin?.file })

        try await WorkerPool(services: services, options: .init(workers: 1, exitWhenIdle: .milliseconds(600), shutdownGrace: .seconds(10),
                                                                minPoll: .milliseconds(20), maxPoll: .milliseconds(100), namePrefix: "test")).run()
        let finished = try await jobs()
        #expect(finished.allSatisfy { $0.state == .succeeded }, "\(finished.map { ($0.state, $0.failureReason ?? "") })")
        let outputs = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".out") }
        #expect(outputs.count == 2, "\(outputs)")
        for output in outputs {
            let lines = try String(contentsOf: out.appendingPathComponent(output), encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 4 && lines.first == "prediction", "\(output): \(lines)")
        }
    }
}

/// SQS as the application wires it, except that the first delete of a message whose body holds
/// `marker` is lost (a process that crashed after enqueuing): SQS delivers it again.
final class LosingFirstDelete: MessageQueueProvider {
    struct State {
        var marked: Set<String> = []
        var lost = 0
    }

    let base: any MessageQueueProvider
    let marker: String
    let state = Mutex(State())

    init(_ base: any MessageQueueProvider, ofBodiesContaining marker: String) {
        self.base = base
        self.marker = marker
    }

    var lostDeletes: Int { state.withLock { $0.lost } }

    func queue(url: String) throws -> any MessageQueue { Queue(base: try base.queue(url: url), owner: self) }

    struct Queue: MessageQueue {
        let base: any MessageQueue
        let owner: LosingFirstDelete

        func receive(max: Int, wait: Duration, visibilityTimeout: Duration?) async throws -> [QueueMessage] {
            let messages = try await base.receive(max: max, wait: wait, visibilityTimeout: visibilityTimeout)
            owner.state.withLock { s in
                for m in messages where m.body.contains(owner.marker) && s.lost == 0 { s.marked.insert(m.receipt.handle) }
            }
            return messages
        }

        func delete(_ receipt: QueueMessage.Receipt) async throws {
            let lose = owner.state.withLock { s -> Bool in
                guard s.lost == 0, s.marked.contains(receipt.handle) else { return false }
                s.lost += 1
                return true
            }
            if lose { throw TrainyardError(.unavailable, "the delete was lost (test)") }
            try await base.delete(receipt)
        }
    }
}
