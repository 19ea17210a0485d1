import Foundation
import Testing

/// `trainyard watch add`, `schedule add` and `triggers …`: bad input exits 2 with the reason and
/// creates nothing; the lifecycle works on the local store and against a server (`--server`);
/// `up` fires a watch trigger.
@Suite("CLI: triggers", .serialized)
struct TriggerCommandTests {
    func triggerNames(_ cli: CLIHarness, _ extra: [String] = []) async throws -> [String] {
        let r = try await cli.run(["triggers", "ls", "--json"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        return list.compactMap { $0["name"] as? String }
    }

    @Test func badInputExitsTwoAndCreatesNothing() async throws {
        let cli = try CLIHarness()
        let inbox = cli.workDirectory.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let spec = try cli.write("spec.yaml", "name: demo\ntask: command\ncommand: [\"true\"]\n")
        let cases: [([String], String)] = [
            (["schedule", "add", "n", "--cron", "0 25 * * *", "--tz", "UTC", "--train", spec.path], "field 2 (hour) '25' is out of range 0–23"),
            (["schedule", "add", "n", "--cron", "0 3 * *", "--tz", "UTC", "--train", spec.path], "expected 5 fields"),
            (["schedule", "add", "n", "--cron", "0 3 * * *", "--tz", "Europe/Nowhere", "--train", spec.path], "unknown time zone"),
            (["schedule", "add", "n", "--cron", "0 3 * * *", "--tz", "UTC", "--transform", "iris", "--output", "out"], "--input"),
            (["watch", "add", "n", "--path", "missing", "--transform", "iris", "--output", "out"], "does not exist"),
            (["watch", "add", "n", "--path", spec.path, "--transform", "iris", "--output", "out"], "is not a folder"),
            (["watch", "add", "n", "--path", "inbox", "--glob", "[a-", "--transform", "iris", "--output", "out"], "is not closed"),
            (["watch", "add", "n", "--path", "inbox", "--glob", "in/*.csv", "--transform", "iris", "--output", "out"], "'/'"),
            (["watch", "add", "n", "--path", "inbox", "--transform", "iris"], "--transform needs --output"),
            (["watch", "add", "n", "--path", "inbox"], "--train SPEC"),
            (["watch", "add", "n", "--path", "inbox", "--transform", "iris", "--output", "o", "--train", spec.path], "not both"),
            (["watch", "add", "n", "--path", "inbox", "--train", spec.path, "--keep", "id"], "no transform options"),
            (["watch", "add", "n", "--path", "inbox", "--train", "nope.yaml"], "does not exist"),
            (["watch", "add", "n", "--path", "inbox", "--settle", "soon", "--transform", "iris", "--output", "o"], "--settle"),
            (["watch", "add", "Bad Name", "--path", "inbox", "--transform", "iris", "--output", "o"], "invalid trigger name"),
            (["watch", "add", "n", "--path", "inbox", "--transform", "not a model", "--output", "o"], "invalid model name"),
            (["triggers", "show", "nope"], "not found"),
            (["triggers", "pause", "nope"], "not found"),
            (["triggers", "rm", "nope"], "not found"),
        ]
        for (arguments, expected) in cases {
            let r = try await cli.run(arguments)
            #expect(r.status == 2, "\(arguments): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains(expected), "\(arguments): \(r.stderr)")
        }
        // --json puts the error envelope on stdout.
        let json = try await cli.run(["schedule", "add", "n", "--cron", "61 * * * *", "--tz", "UTC", "--train", spec.path, "--json"])
        #expect(json.status == 2 && json.stdout.contains("\"invalid_argument\"") && json.stdout.contains("field 1 (minute)"))
        #expect(try await triggerNames(cli).isEmpty)
    }

    @Test func addListShowPauseResumeRemoveOnTheLocalStore() async throws {
        let cli = try CLIHarness()
        try FileManager.default.createDirectory(at: cli.workDirectory.appendingPathComponent("inbox"), withIntermediateDirectories: true)
        let spec = try cli.write("retrain/spec.yaml", "name: demo\ntask: command\ncommand: [\"true\"]\ndata: { train: \"${trigger.file}\" }\n")
        let watch = try await cli.run(["watch", "add", "inbox", "--path", "inbox", "--glob", "*.csv", "--settle", "2s",
                                       "--transform", "iris@production", "--output", "out", "--keep", "id,name", "--max-error-rate", "0.05"])
        #expect(watch.status == 0, "\(watch.stderr)")
        #expect(watch.stdout.contains("trigger inbox created"))
        let retrain = try await cli.run(["watch", "add", "retrain", "--path", "inbox", "--train", spec.path, "--paused", "--json"])
        #expect(retrain.status == 0, "\(retrain.stderr)")
        let retrainJSON = try JSONSerialization.jsonObject(with: Data(retrain.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(retrainJSON["paused"] as? Bool == true)
        #expect((retrainJSON["train"] as? [String: Any])?["base_directory"] as? String == spec.deletingLastPathComponent().path)
        // A schedule has no file: its template may use the slot, not ${trigger.file}.
        let refused = try await cli.run(["schedule", "add", "nightly", "--cron", "30 2 * * *", "--tz", "Europe/Berlin", "--train", spec.path])
        #expect(refused.status == 2 && refused.stderr.contains("${trigger.file}"))
        let nightlySpec = try cli.write("nightly/spec.yaml", "name: demo\ntask: command\ncommand: [\"true\"]\ntags: { slot: \"${trigger.slot}\" }\n")
        let nightly = try await cli.run(["schedule", "add", "nightly", "--cron", "30 2 * * *", "--tz", "Europe/Berlin", "--train", nightlySpec.path])
        #expect(nightly.status == 0, "\(nightly.stderr)")
        #expect(nightly.stdout.contains("next slot"))
        #expect(try await triggerNames(cli) == ["inbox", "nightly", "retrain"])

        let table = try await cli.run(["triggers"])
        #expect(table.status == 0 && table.stdout.contains("NAME") && table.stdout.contains("paused") && table.stdout.contains("'30 2 * * *' Europe/Berlin"))
        let show = try await cli.run(["triggers", "show", "inbox", "--json"])
        let shown = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any] ?? [:]
        let transform = shown["transform"] as? [String: Any] ?? [:]
        #expect(transform["keep"] as? [String] == ["id", "name"])
        #expect((transform["output"] as? String)?.hasPrefix("/") == true, "relative paths are made absolute")
        #expect((shown["watch"] as? [String: Any])?["settle_seconds"] as? Double == 2)
        #expect(try await cli.run(["triggers", "show", "nightly"]).stdout.contains("next slot"))

        #expect(try await cli.run(["triggers", "pause", "inbox"]).stdout.contains("trigger inbox paused"))
        #expect(try await cli.run(["triggers", "resume", "retrain"]).status == 0)
        #expect(try await cli.run(["triggers", "rm", "nightly"]).status == 0)
        #expect(try await triggerNames(cli) == ["inbox", "retrain"])
        let again = try await cli.run(["watch", "add", "inbox", "--path", "inbox", "--transform", "iris", "--output", "out"])
        #expect(again.status == 2 && again.stderr.contains("already exists"))
    }

    @Test func anUnreachableServerExitsOne() async throws {
        let cli = try CLIHarness()
        let port = try CrossProcessAliasTests.freePort()
        let r = try await cli.run(["triggers", "ls", "--server", "http://127.0.0.1:\(port)"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("cannot reach"))
    }

    /// `up` runs the trigger service: a trigger added through its API (`--server`) fires on a
    /// file dropped into the folder, once, and the job records where it came from.
    @Test func upFiresAWatchTriggerAddedOverHTTP() async throws {
        let cli = try CLIHarness()
        let inbox = cli.workDirectory.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let spec = try cli.write("retrain/spec.yaml", "name: demo\ntask: command\ncommand: [\"true\"]\ndata: { train: ${trigger.file} }\nretries: 0\n")
        let port = try CrossProcessAliasTests.freePort()
        let server = cli.start(["up", "--port", String(port), "--workers", "1"], environment: ["TRAINYARD_TRIGGERS_POLL_MS": "100"])
        defer { server.terminate(); server.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        var up = false
        for _ in 0..<1200 {
            if (try? await CrossProcessAliasTests.request("\(base)/healthz"))?.0 == 200 { up = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(up, "the server did not start")
        let added = try await cli.run(["watch", "add", "retrain", "--path", inbox.path, "--settle", "0s", "--train", spec.path, "--server", base])
        #expect(added.status == 0, "\(added.stderr)")
        let file = inbox.appendingPathComponent("day-1.csv")
        try "x,y\n1,2\n".write(to: file, atomically: true, encoding: .utf8)
        var origins: [String] = []
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(120) {
            let jobs = try await cli.run(["jobs", "ls", "--json", "--server", base])
            let list = try JSONSerialization.jsonObject(with: Data(jobs.stdout.utf8)) as? [[String: Any]] ?? []
            origins = list.compactMap { (($0["spec"] as? [String: Any])?["origin"] as? [String: Any])?["file"] as? String }
            if !origins.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(origins == [file.path])
        let shown = try await cli.run(["triggers", "show", "retrain", "--server", base])
        #expect(shown.stdout.contains("fired      1 time(s)"), "\(shown.stdout)")
    }
}
