import Foundation
import Testing
@testable import TrainyardCore

/// The sqs trigger's values without I/O: the source's checks, what a message body is, the jobs a
/// message makes (spec, fields through a template, S3 events), the placeholders' safety rules
/// and the idempotency keys.
@Suite("SQS trigger values")
struct SQSTriggerValuesTests {
    static let queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/inbox"
    static let name = try! TriggerName("ingest")

    static func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let error as TrainyardError { return error.message } catch { return "\(error)" }
    }

    // MARK: The source

    @Test func queueURLsAndSettingsAreCheckedAtCreation() throws {
        let source = try SQSSource(queueURL: Self.queue)
        #expect(source.waitSeconds == 20 && source.maxMessages == 10 && source.visibilityTimeoutSeconds == nil)
        let parts = try SQSSource.parts(of: "http://127.0.0.1:4566/000000000000/jobs.fifo")
        #expect(parts == SQSSource.QueueURLParts(scheme: "http", host: "127.0.0.1", port: 4566, account: "000000000000", queueName: "jobs.fifo"))
        #expect(parts.endpoint == "http://127.0.0.1:4566")
        for (bad, expected) in [
            ("ftp://sqs.eu-west-1.amazonaws.com/1/q", "is not an http(s) URL"),
            ("https://user:secret@sqs.eu-west-1.amazonaws.com/1/q", "must not hold credentials"),
            ("https://sqs.eu-west-1.amazonaws.com/1/q?Action=Purge", "query"),
            ("https://sqs.eu-west-1.amazonaws.com/q", "/ACCOUNT/QUEUE"),
            ("https://sqs.eu-west-1.amazonaws.com/1/q/extra", "/ACCOUNT/QUEUE"),
            ("https://sqs.eu-west-1.amazonaws.com/1/bad%20name", "invalid queue name"),
            ("https://sqs.eu-west-1.amazonaws.com/1/" + String(repeating: "q", count: 81), "invalid queue name"),
            ("https://sqs.eu-west-1.amazonaws.com/1/.fifo", "invalid queue name"),
            ("https://sqs.eu-west-1.amazonaws.com/1/q with space", "printable ASCII"),
            ("", "1–1024 bytes"),
        ] {
            #expect(Self.message { _ = try SQSSource(queueURL: bad) }?.contains(expected) == true, "\(bad)")
        }
        #expect(Self.message { _ = try SQSSource(queueURL: Self.queue, waitSeconds: 21) }?.contains("sqs.wait_seconds must be in 0–20") == true)
        #expect(Self.message { _ = try SQSSource(queueURL: Self.queue, maxMessages: 0) }?.contains("sqs.max_messages") == true)
        #expect(Self.message { _ = try SQSSource(queueURL: Self.queue, maxMessages: 11) }?.contains("sqs.max_messages") == true)
        #expect(Self.message { _ = try SQSSource(queueURL: Self.queue, visibilityTimeoutSeconds: 43_201) }?.contains("sqs.visibility_timeout_seconds") == true)
        #expect(Self.message { _ = try SQSSource(queueURL: Self.queue, visibilityTimeoutSeconds: -1) }?.contains("sqs.visibility_timeout_seconds") == true)
    }

    @Test func definitionsRoundTripAsJSONAndRefuseWhatAnSQSTriggerCannotHave() throws {
        let text = #"""
            {"name": "ingest", "sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/inbox", "wait_seconds": 5,
             "max_messages": 3, "visibility_timeout_seconds": 120},
             "train": {"spec": "name: ${message.name}\ntask: command\nmodel: { params: { epochs: ${message.epochs} } }\n"}}
            """#
        let definition = try JSON.decode(TriggerDefinition.self, from: text)
        #expect(definition.kind == .sqs)
        #expect(definition.source == .sqs(try SQSSource(queueURL: Self.queue, waitSeconds: 5, maxMessages: 3, visibilityTimeoutSeconds: 120)))
        #expect(try JSON.decode(TriggerDefinition.self, from: JSON.encode(definition)) == definition)
        // A stored trigger (the shape the stores and the API return) too.
        let trigger = Trigger(id: 7, definition: definition, paused: false, createdAt: Date(timeIntervalSince1970: 0), createdBy: "cli",
                              activeSince: Date(timeIntervalSince1970: 0))
        #expect(try JSON.decode(Trigger.self, from: JSON.encode(trigger)) == trigger)
        let transform = try JSON.decode(TriggerDefinition.self, from: #"""
            {"name": "score", "sqs": {"queue_url": "http://127.0.0.1:9324/1/events"}, "transform": {"model": "iris", "output": "/out"}}
            """#)
        #expect(transform.action == .transform(["model": .string("iris"), "output": .string("/out")]))
        for (bad, expected) in [
            (#"{"name": "n", "sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q"}, "watch": {"path": "/in"}, "train": {"spec": "x"}}"#,
             "exactly one of watch, schedule and sqs"),
            (#"{"name": "n", "sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q", "wait": 3}, "train": {"spec": "x"}}"#, "unknown key(s) wait in sqs"),
            (#"{"name": "n", "sqs": {"wait_seconds": 3}, "train": {"spec": "x"}}"#, "queue_url"),
            (#"{"name": "n", "sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q"}, "train": {"spec": "x: ${trigger.slot}"}}"#,
             "unknown placeholder ${trigger.slot}"),
            (#"{"name": "n", "sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q"}, "train": {"spec": "x: ${message.a.b}"}}"#,
             "invalid placeholder ${message.a.b}"),
            (#"{"name": "n", "sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q"}, "transform": {"model": "m", "output": "/o/${message.name}"}}"#,
             "cannot use ${message.name}"),
            (#"{"name": "n", "sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q"}, "transform": {"model": "m"}}"#, "transform.output is required"),
        ] {
            do {
                _ = try JSON.decode(TriggerDefinition.self, from: bad)
                Issue.record("accepted: \(bad)")
            } catch {
                #expect("\(error)".contains(expected), "\(bad): \(error)")
            }
        }
    }

    // MARK: Message bodies

    @Test func bodiesAreReadAsSpecsFieldsOrS3Events() throws {
        #expect(try QueueMessageBody.read("name: iris\ntask: command\ncommand: [\"true\"]\n") == .spec("name: iris\ntask: command\ncommand: [\"true\"]\n"))
        let json = #"{"name": "iris", "task": "command", "command": ["true"]}"#
        #expect(try QueueMessageBody.read(json) == .spec(json))
        #expect(try QueueMessageBody.read(#" {"name": "my-model", "image": "r/img:3", "embeddings": "s3://b/e.vec", "epochs": 1}"#)
                == .fields(["name": .string("my-model"), "image": .string("r/img:3"), "embeddings": .string("s3://b/e.vec"), "epochs": .int(1)]))
        #expect(try QueueMessageBody.read(#"{"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}"#) == .ignorable("an S3 test event (s3:TestEvent)"))
    }

    static func s3Event(_ records: [(event: String, bucket: String, key: String)]) -> String {
        let items = records.map { r in
            #"{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1", "eventName": "\#(r.event)", "#
                + #""s3": {"bucket": {"name": "\#(r.bucket)", "arn": "arn:aws:s3:::\#(r.bucket)"}, "object": {"key": "\#(r.key)", "size": 42, "eTag": "x"}}}"#
        }
        return #"{"Records": [\#(items.joined(separator: ", "))]}"#
    }

    @Test func s3EventsDecodeTheirKeysAndKeepOnlyCreatedObjects() throws {
        let body = Self.s3Event([("ObjectCreated:Put", "data-in", "daily/day+1+%282%29%2Bextra%C3%A9.csv"),
                                 ("ObjectRemoved:Delete", "data-in", "old.csv"),
                                 ("ObjectCreated:CompleteMultipartUpload", "data-in", "big.csv")])
        guard case .s3Event(let event) = try QueueMessageBody.read(body) else { Issue.record("not an S3 event"); return }
        #expect(event.records.map(\.index) == [0, 2], "indices are the records' places in the message")
        #expect(event.records.map(\.uri) == ["s3://data-in/daily/day 1 (2)+extraé.csv", "s3://data-in/big.csv"])
        #expect(event.records.first?.size == 42)
        // Delivered through SNS: the envelope is opened.
        let sns = try JSON.encodeString(JSONValue.object(["Type": .string("Notification"), "MessageId": .string("x"), "Message": .string(body)]))
        #expect(try QueueMessageBody.read(sns) == QueueMessageBody.read(body))
        // Only removals: nothing to do.
        let removed = try QueueMessageBody.read(Self.s3Event([("ObjectRemoved:Delete", "b-1", "a.csv")]))
        #expect(removed == .ignorable("an S3 event notification without a created object (ObjectRemoved:Delete)"))
    }

    @Test func malformedBodiesAreErrorsNamingWhatIsWrong() throws {
        let cases: [(String, String)] = [
            ("", "the message body is empty"),
            ("   \n", "the message body is empty"),
            (String(repeating: "x", count: QueueMessageBody.maxBytes + 1), "the message body is 262145 bytes; at most 262144 are read"),
            (#"{"name": "a", "epochs": }"#, "the message body is not valid JSON"),
            ("[1, 2]", "is JSON but not an object"),
            ("just some words", "the message body is not JSON, and as a YAML spec: invalid spec"),
            ("name: a\nimage: x\n", "as a YAML spec: invalid spec"),
            (#"{"Records": {"a": 1}}"#, "not a valid S3 event notification: Records is not a list"),
            (#"{"Records": []}"#, "Records is empty"),
            (#"{"Records": [{"eventSource": "aws:sqs"}]}"#, #"Records[0].eventSource is "aws:sqs"; only aws:s3 records are read"#),
            (Self.s3Event([("ObjectCreated:Put", "bucket", "")]), "Records[0].s3.object.key must be 1–1024 bytes"),
            (Self.s3Event([("ObjectCreated:Put", "b!", "k")]), #"Records[0].s3.bucket.name "b!" is not a bucket name"#),
            (Self.s3Event([("ObjectCreated:Put", "bucket", "bad%ZZ")]), #"Records[0].s3.object.key "bad%ZZ" is not valid URL encoding"#),
            (Self.s3Event([("ObjectCreated:Put", "bucket", "a%0Ab")]), "holds control characters"),
            (#"{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "bucket"}}}]}"#,
             "Records[0].s3.object.key is missing"),
            (#"{"Type": "Notification", "Message": "not json"}"#, "the SNS notification's Message is not valid JSON"),
        ]
        for (body, expected) in cases {
            let error = Self.message { _ = try QueueMessageBody.read(body) }
            #expect(error?.contains(expected) == true, "\(body.prefix(80)): \(error ?? "accepted")")
            #expect((error?.utf8.count ?? 0) < 1000, "an error never quotes a whole body")
        }
        // Nesting as deep as the body allows is an error, not a crash.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Self.message { _ = try QueueMessageBody.read(deep) } != nil)
        let deepObject = String(repeating: #"{"a":"#, count: 40_000) + "1" + String(repeating: "}", count: 40_000)
        #expect(Self.message { _ = try QueueMessageBody.read(deepObject) } != nil)
    }

    // MARK: The jobs a message makes

    static let template = TrainTemplate(spec: """
        name: ${message.name}
        task: command
        command: ["python3", "train.py"]
        data:
          train: data/train.csv
        model:
          params: { epochs: ${message.epochs}, rate: ${message.rate}, deep: ${message.deep} }
        tags: { image: ${message.image}, by: ${trigger.name} }
        """, baseDirectory: "/specs/legacy")

    @Test func aJSONMessageFillsTheTemplateWithItsFields() throws {
        let body = #"{"name": "my-model", "image": "registry.example/train:3.1", "embeddings": "s3://b/e.vec", "epochs": 2, "rate": 1e-05, "deep": true}"#
        let plan = try MessagePlan.make(id: "id-1", body: body, trigger: Self.name, action: .train(Self.template))
        guard case .jobs(let jobs) = plan, jobs.count == 1, case .train(let spec, let base) = jobs[0].work else {
            Issue.record("expected one train job: \(plan)"); return
        }
        #expect(jobs[0].cause == TriggerMessage(id: "id-1"))
        #expect(base == "/specs/legacy")
        #expect(spec.contains("name: my-model\n"))
        #expect(spec.contains("params: { epochs: 2, rate: 1.0e-05, deep: true }"))
        #expect(spec.contains("tags: { image: registry.example/train:3.1, by: ingest }"))
        let parsed = try SpecParser().parse(spec)
        #expect(parsed.spec.name.rawValue == "my-model" && parsed.spec.tags["image"] == "registry.example/train:3.1")
    }

    @Test func aFieldThatIsMissingOrCouldChangeTheSpecIsRefusedByName() throws {
        func refusal(_ body: String, _ action: TriggerAction = .train(SQSTriggerValuesTests.template)) -> String? {
            Self.message { _ = try MessagePlan.make(id: "m", body: body, trigger: Self.name, action: action) }
        }
        let base = #""image": "i", "epochs": 1, "rate": 0.1, "deep": false"#
        #expect(refusal(#"{"epochs": 1, "rate": 0.1, "deep": false, "image": "i"}"#)?.contains(#"the message has no field "name""#) == true)
        #expect(refusal(#"{"name": "x\nretries: 9", \#(base)}"#)?.contains("cannot be put into a spec template") == true)
        #expect(refusal(#"{"name": "a: b", \#(base)}"#)?.contains(#"message field "name" "a: b" cannot be put into a spec template"#) == true)
        #expect(refusal(#"{"name": "trailing:", \#(base)}"#)?.contains("cannot be put into a spec template") == true)
        #expect(refusal(#"{"name": "{x}", \#(base)}"#)?.contains("cannot be put into a spec template") == true)
        #expect(refusal(#"{"name": "a", "image": {"repo": "r"}, "epochs": 1, "rate": 0.1, "deep": false}"#)?
                    .contains(#"message field "image" is an object"#) == true)
        #expect(refusal(#"{"name": "a", "image": null, "epochs": 1, "rate": 0.1, "deep": false}"#)?.contains("is null") == true)
        #expect(refusal(#"{"name": "a", "image": ["x"], "epochs": 1, "rate": 0.1, "deep": false}"#)?.contains("is a list") == true)
        // Fields and a transform trigger, fields and a template that needs an S3 object.
        #expect(refusal(#"{"name": "a"}"#, .transform(["model": .string("m"), "output": .string("/o")]))?
                    .contains("fills a spec template, and this trigger has none") == true)
        #expect(refusal(#"{"name": "a"}"#, .train(TrainTemplate(spec: "name: a\ntask: command\ndata: { train: ${trigger.file} }\n")))?
                    .contains("uses ${trigger.file}, which only an S3 event notification gives") == true)
        // A value repeated by many placeholders cannot grow the spec without bound.
        let greedy = TrainTemplate(spec: "name: a\ntask: command\ntags: {" + (0..<500).map { "t\($0): ${message.v}" }.joined(separator: ", ") + "}\n")
        let big = String(repeating: "v", count: 10_000)
        let bounded = Self.message { _ = try MessagePlan.make(id: "m", body: #"{"v": "\#(big)"}"#, trigger: Self.name, action: .train(greedy), maxSpecBytes: 1 << 20) }
        #expect(bounded?.contains("larger than 1048576 bytes") == true)
    }

    @Test func aSpecBodyIsSubmittedAsItIsWhateverTheAction() throws {
        let spec = "name: iris\ntask: command\ncommand: [\"true\"]\n"
        for action: TriggerAction in [.train(Self.template), .transform(["model": .string("m"), "output": .string("/o")])] {
            #expect(try MessagePlan.make(id: "s", body: spec, trigger: Self.name, action: action)
                    == .jobs([MessageJob(cause: TriggerMessage(id: "s"), work: .train(spec: spec, baseDirectory: nil))]))
        }
        let refused = Self.message { _ = try MessagePlan.make(id: "s", body: spec, trigger: Self.name, action: .train(Self.template), maxSpecBytes: 10) }
        #expect(refused?.contains("limits.spec_bytes allows 10") == true)
    }

    @Test func anS3EventMakesOneJobPerCreatedObject() throws {
        let body = Self.s3Event([("ObjectCreated:Put", "data-in", "a+b.csv"), ("ObjectRemoved:Delete", "data-in", "gone.csv"),
                                 ("ObjectCreated:Copy", "data-in", "dir/c.csv")])
        let transform = try MessagePlan.make(id: "e", body: body, trigger: Self.name, action: .transform(["model": .string("m"), "output": .string("/o")]))
        #expect(transform == .jobs([
            MessageJob(cause: TriggerMessage(id: "e", record: 0, file: "s3://data-in/a b.csv"), work: .transform(input: "s3://data-in/a b.csv")),
            MessageJob(cause: TriggerMessage(id: "e", record: 2, file: "s3://data-in/dir/c.csv"), work: .transform(input: "s3://data-in/dir/c.csv")),
        ]))
        let template = TrainTemplate(spec: "name: daily\ntask: command\ntags:\n  source: ${trigger.file}\n", baseDirectory: "/specs")
        let train = try MessagePlan.make(id: "e", body: body, trigger: Self.name, action: .train(template))
        #expect(train == .jobs([
            MessageJob(cause: TriggerMessage(id: "e", record: 0, file: "s3://data-in/a b.csv"),
                       work: .train(spec: "name: daily\ntask: command\ntags:\n  source: s3://data-in/a b.csv\n", baseDirectory: "/specs")),
            MessageJob(cause: TriggerMessage(id: "e", record: 2, file: "s3://data-in/dir/c.csv"),
                       work: .train(spec: "name: daily\ntask: command\ntags:\n  source: s3://data-in/dir/c.csv\n", baseDirectory: "/specs")),
        ]))
        #expect(try SpecParser().parse("name: daily\ntask: command\ncommand: [\"true\"]\ntags:\n  source: s3://data-in/a b.csv\n").spec.tags["source"]
                == "s3://data-in/a b.csv", "an s3:// URI stays one YAML scalar")
        // A key that could change the spec, and a template that wants message fields.
        let hostile = Self.s3Event([("ObjectCreated:Put", "data-in", "x.csv%0A")])
        #expect(Self.message { _ = try MessagePlan.make(id: "e", body: hostile, trigger: Self.name, action: .train(template)) }?.contains("control characters") == true)
        let colon = Self.s3Event([("ObjectCreated:Put", "data-in", "a%3A+b.csv")])
        #expect(Self.message { _ = try MessagePlan.make(id: "e", body: colon, trigger: Self.name, action: .train(template)) }?
                    .contains("S3 event record 0 (s3://data-in/a: b.csv): file") == true)
        let wantsFields = TrainTemplate(spec: "name: ${message.name}\ntask: command\n")
        #expect(Self.message { _ = try MessagePlan.make(id: "e", body: body, trigger: Self.name, action: .train(wantsFields)) }?
                    .contains("uses ${message.name}, but this message has no fields") == true)
        // The test event and removals: nothing to do.
        #expect(try MessagePlan.make(id: "t", body: #"{"Service": "Amazon S3", "Event": "s3:TestEvent"}"#, trigger: Self.name, action: .train(template))
                == .ignore("an S3 test event (s3:TestEvent)"))
    }

    // MARK: Keys and placeholders

    @Test func everyDeliveryOfAMessageAsksForTheSameKeys() throws {
        let uuid = "5fea7756-0ea4-451a-a703-a558b933e274"
        let key = TriggerFiring.idempotencyKey(trigger: Self.name, triggerID: 3, cause: .message(TriggerMessage(id: uuid)))
        #expect(key == "trigger:ingest:sqs:\(uuid)")
        #expect(TriggerFiring.idempotencyKey(trigger: Self.name, triggerID: 9, cause: .message(TriggerMessage(id: uuid, record: 2, file: "s3://b/k")))
                == "trigger:ingest:sqs:\(uuid):2")
        // An id of any other shape is hashed, so the key stays printable and short.
        let odd = TriggerMessage(id: String(repeating: "ü/", count: 500))
        #expect(odd.keyComponent.hasPrefix("sha256-") && odd.keyComponent.utf8.count == 71)
        let longest = TriggerFiring.idempotencyKey(trigger: try TriggerName(String(repeating: "n", count: 64)), triggerID: 1,
                                                   cause: .message(TriggerMessage(id: String(repeating: "a", count: 128), record: 99)))
        #expect(longest.utf8.count <= EnqueueRequest.maxIdempotencyKeyLength)
        try EnqueueRequest.checkIdempotencyKey(longest)
        #expect(TriggerFiring(trigger: Self.name, triggerID: 1, cause: .message(TriggerMessage(id: uuid, record: 0, file: "s3://b/k")), jobID: 4).origin
                == JobOrigin(trigger: "ingest", file: "s3://b/k", message: uuid))
    }

    @Test func plainScalarsMayHoldColonsThatCannotStartAMapping() throws {
        for fine in ["s3://bucket/key with space.csv", "registry.example/img:3", "a:b:c"] {
            try TriggerPlaceholders.checkPlainScalar(fine)
        }
        for hostile in ["a: b", "a:", "x:\n", "a:\tb"] {
            #expect(throws: TrainyardError.self, "\(hostile.debugDescription)") { try TriggerPlaceholders.checkPlainScalar(hostile) }
        }
        // Watch and schedule templates keep `${message.…}` as written (they never had it).
        #expect(try TriggerPlaceholders(name: "w", file: "/in/a.csv").applyToSpec("a: ${message.x} ${trigger.file}") == "a: ${message.x} /in/a.csv")
    }
}
