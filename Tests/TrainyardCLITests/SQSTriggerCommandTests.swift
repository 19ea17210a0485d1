import Foundation
import Testing
import TrainyardTestServices

/// `trainyard watch add NAME --sqs QUEUE_URL …`: bad flags exit 2 naming the problem and create
/// nothing; a trigger is listed and shown with its queue and settings; and `up` (wired to the SQS
/// endpoint by `AWS_ENDPOINT_URL_SQS`, as AWS's tools are) turns a message sent by boto3 into a job.
@Suite("CLI: sqs triggers", .serialized)
struct SQSTriggerCommandTests {
    static let queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/training-requests"

    func triggerNames(_ cli: CLIHarness, _ extra: [String] = []) async throws -> [String] {
        let r = try await cli.run(["triggers", "ls", "--json"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        return list.compactMap { $0["name"] as? String }
    }

    @Test func badFlagsExitTwoAndCreateNothing() async throws {
        let cli = try CLIHarness()
        try FileManager.default.createDirectory(at: cli.workDirectory.appendingPathComponent("inbox"), withIntermediateDirectories: true)
        let spec = try cli.write("legacy/spec.yaml", "name: ${message.name}\ntask: command\ncommand: [\"true\"]\n")
        let q = Self.queue
        let cases: [([String], String)] = [
            (["watch", "add", "n", "--train", spec.path], "give --path DIR (a folder to watch) or --sqs QUEUE_URL"),
            (["watch", "add", "n", "--path", "inbox", "--sqs", q, "--train", spec.path], "one of --path and --sqs, not both"),
            (["watch", "add", "n", "--sqs", q, "--glob", "*.csv", "--train", spec.path], "--glob and --settle are for --path"),
            (["watch", "add", "n", "--path", "inbox", "--wait-time", "5s", "--train", spec.path], "are for --sqs, not --path"),
            (["watch", "add", "n", "--sqs", "http://10.1.2.3:9324/1/q", "--train", spec.path], "is not an SQS endpoint this server calls"),
            (["watch", "add", "n", "--sqs", "https://sqs.eu-west-1.amazonaws.com/q", "--train", spec.path], "/ACCOUNT/QUEUE"),
            (["watch", "add", "n", "--sqs", q, "--wait-time", "21s", "--train", spec.path], "sqs.wait_seconds must be in 0–20"),
            (["watch", "add", "n", "--sqs", q, "--wait-time", "1.5s", "--train", spec.path], "whole seconds"),
            (["watch", "add", "n", "--sqs", q, "--visibility-timeout", "1e300s", "--train", spec.path], "whole seconds"),
            (["watch", "add", "n", "--sqs", q, "--max-messages", "11", "--train", spec.path], "sqs.max_messages"),
            (["watch", "add", "n", "--sqs", q, "--transform", "iris", "--output", "out/${message.name}"], "cannot use ${message.name}"),
            (["watch", "add", "n", "--sqs", q], "--train SPEC"),
        ]
        for (arguments, expected) in cases {
            let r = try await cli.run(arguments)
            #expect(r.status == 2, "\(arguments): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains(expected), "\(arguments): \(r.stderr)")
        }
        #expect(try await triggerNames(cli).isEmpty)
    }

    @Test func addListAndShowOnTheLocalStore() async throws {
        let cli = try CLIHarness()
        let spec = try cli.write("legacy/spec.yaml", "name: ${message.name}\ntask: command\ncommand: [\"true\"]\nmodel: { params: { epochs: ${message.epochs} } }\n")
        let added = try await cli.run(["watch", "add", "legacy", "--sqs", Self.queue, "--train", spec.path, "--wait-time", "5s", "--max-messages", "3",
                                       "--visibility-timeout", "10m"])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("trigger legacy created: \(Self.queue) (wait 5s, up to 3, visibility 600s) → train"), "\(added.stdout)")
        let events = try await cli.run(["watch", "add", "events", "--sqs", Self.queue, "--transform", "iris@production", "--output", "scored", "--json"])
        #expect(events.status == 0, "\(events.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(events.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(json["kind"] as? String == "sqs")
        #expect((json["sqs"] as? [String: Any])?["queue_url"] as? String == Self.queue)
        #expect((json["sqs"] as? [String: Any])?["wait_seconds"] as? Int == 20)
        #expect(((json["transform"] as? [String: Any])?["output"] as? String)?.hasPrefix("/") == true)
        let table = try await cli.run(["triggers", "ls"])
        #expect(table.status == 0 && table.stdout.contains("sqs") && table.stdout.contains("transform iris@production"), "\(table.stdout)")
        let shown = try await cli.run(["triggers", "show", "legacy"])
        #expect(shown.stdout.contains("legacy (sqs, active)") && shown.stdout.contains("fires on   \(Self.queue)"), "\(shown.stdout)")
        #expect(try await triggerNames(cli) == ["events", "legacy"])
    }

    /// `up` reads the queue of a trigger added over HTTP: a message sent by boto3 becomes one job
    /// that records the message, and the message is gone from the queue.
    @Test(.enabled(if: TestService.aws.shouldRun, "\(TestService.aws.skipReason)"))
    func upTurnsAMessageSentByBoto3IntoAJob() async throws {
        let endpoint = try TestService.aws.require()
        let cli = try CLIHarness()
        let name = "cli-\(UUID().uuidString.prefix(8).lowercased())"
        let queue = try await Boto3.run(#"print(sqs.create_queue(QueueName=sys.argv[1])["QueueUrl"])"#, [name])
        defer { _ = try? Boto3.runNow("sqs.delete_queue(QueueUrl=sys.argv[1])", [queue]) }
        let spec = try cli.write("legacy/spec.yaml", "name: ${message.name}\ntask: command\ncommand: [\"true\"]\nretries: 0\n")
        let port = try CrossProcessAliasTests.freePort()
        let server = cli.start(["up", "--port", String(port), "--workers", "1"],
                               environment: ["TRAINYARD_TRIGGERS_POLL_MS": "100", "AWS_ENDPOINT_URL_SQS": endpoint.absoluteString])
        defer { server.terminate(); server.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        var up = false
        for _ in 0..<1200 {
            if (try? await CrossProcessAliasTests.request("\(base)/healthz"))?.0 == 200 { up = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(up, "the server did not start")
        let added = try await cli.run(["watch", "add", "legacy", "--sqs", queue, "--wait-time", "1s", "--train", spec.path, "--server", base])
        #expect(added.status == 0, "\(added.stderr)")
        let id = try await Boto3.run(#"print(sqs.send_message(QueueUrl=sys.argv[1], MessageBody=json.dumps({"name": "from-queue", "epochs": 1}))["MessageId"])"#,
                               [queue])
        var messages: [String] = []
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(120) {
            let jobs = try await cli.run(["jobs", "ls", "--json", "--server", base])
            let list = try JSONSerialization.jsonObject(with: Data(jobs.stdout.utf8)) as? [[String: Any]] ?? []
            messages = list.compactMap { (($0["spec"] as? [String: Any])?["origin"] as? [String: Any])?["message"] as? String }
            if !messages.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(messages == [id])
        // Deleted right after the job is enqueued (the listing may come between the two).
        var left = ""
        for _ in 0..<600 {
            left = try await Boto3.run("""
                a = sqs.get_queue_attributes(QueueUrl=sys.argv[1], AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                print(int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]))
                """, [queue])
            if left == "0" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(left == "0", "the message is deleted once its job is enqueued")
        let shown = try await cli.run(["triggers", "show", "legacy", "--server", base])
        #expect(shown.stdout.contains("fired      1 time(s)"), "\(shown.stdout)")
    }
}
