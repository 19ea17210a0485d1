import Foundation
import Testing
@testable import TrainyardCore

/// The trigger values without I/O: globs, placeholders, the settle rule, definitions as JSON.
@Suite("Trigger values")
struct TriggerValuesTests {
    @Test func globsMatchFileNames() throws {
        let csv = try GlobPattern("*.csv")
        #expect(csv.matches("a.csv") && csv.matches(".csv") == false && csv.matches("a.csv.part") == false && csv.matches("x.CSV") == false)
        #expect(!csv.matches(".hidden.csv"), "hidden files match only a glob that begins with a dot")
        #expect(try GlobPattern(".*.csv").matches(".hidden.csv"))
        #expect(try GlobPattern("part-??.jsonl").matches("part-07.jsonl") && !GlobPattern("part-??.jsonl").matches("part-7.jsonl"))
        let set = try GlobPattern("day-[0-9][!a-c]*")
        #expect(set.matches("day-1x.csv") && !set.matches("day-1a.csv") && !set.matches("day-x1.csv"))
        #expect(try GlobPattern("[]x]").matches("]") && GlobPattern("[^x]").matches("y") && !GlobPattern("[^x]").matches("x"))
        #expect(try GlobPattern("a\\*b").matches("a*b") && !GlobPattern("a\\*b").matches("axb"))
        #expect(try GlobPattern("*").matches("anything at all.txt"))
        #expect(try GlobPattern("*a*a*a*a*a*b").matches(String(repeating: "a", count: 40)) == false)
        #expect(try GlobPattern("données-*.csv").matches("données-été.csv"))
    }

    @Test func badGlobsNameTheProblemAndPosition() {
        func message(_ text: String) -> String? {
            do { _ = try GlobPattern(text); return nil } catch { return error.message }
        }
        #expect(message("") == "glob \"\": is empty; use * for every file")
        #expect(message("in/*.csv") == "glob \"in/*.csv\": '/' at position 3: a glob matches file names inside the watched folder, not paths")
        #expect(message("a[bc") == "glob \"a[bc\": '[' at position 2 is not closed by ']'")
        #expect(message("[z-a]")?.contains("runs backwards") == true)
        #expect(message("x\\") == "glob \"x\\\": '\\' at position 2 escapes nothing")
        #expect(message(String(repeating: "*", count: 300))?.contains("longer than 256") == true)
    }

    @Test func placeholdersAreReplacedAndFileNamesCannotChangeASpec() throws {
        let slot = Date(timeIntervalSince1970: 1_800_000_000)
        let p = TriggerPlaceholders(name: "nightly", file: "/data/in/day 1.csv", slot: slot)
        #expect(try p.applyToSpec("train: ${trigger.file}\ntags: { by: ${trigger.name}, at: \"${trigger.slot}\", keep: ${HOME} }")
                == "train: /data/in/day 1.csv\ntags: { by: nightly, at: \"2027-01-15T08:00:00Z\", keep: ${HOME} }")
        #expect(try p.applyToSpec("a: ${trigger.unknown} ${trigger.file") == "a: ${trigger.unknown} ${trigger.file")
        for hostile in ["/in/x.csv\nretries: 99", "/in/a: b.csv", "/in/#x.csv", "/in/\"q\".csv", "/in/a,b.csv", "/in/{x}.csv", " /in/x.csv", "/in/x\u{0}.csv"] {
            #expect(throws: TrainyardError.self, "\(hostile.debugDescription)") {
                try TriggerPlaceholders(name: "n", file: hostile).applyToSpec("train: ${trigger.file}")
            }
        }
        // In a transform request (JSON) any value is safe: it is a string value there.
        let request: JSONValue = .object(["output": .string("/out/${trigger.name}/${trigger.slot}"), "keep": .array([.string("${trigger.file}")])])
        #expect(try TriggerPlaceholders(name: "n", file: "/in/a: b.csv", slot: slot).apply(to: request)
                == .object(["output": .string("/out/n/2027-01-15T08:00:00Z"), "keep": .array([.string("/in/a: b.csv")])]))
        #expect(TriggerPlaceholders.names(in: "${trigger.a} x ${trigger.b}") == ["a", "b"])
        #expect(throws: TrainyardError.self) { try TriggerPlaceholders.check("${trigger.slot}", kind: .watch, in: "the spec template") }
        #expect(throws: TrainyardError.self) { try TriggerPlaceholders.check("${trigger.file}", kind: .schedule, in: "the spec template") }
        try TriggerPlaceholders.check("${trigger.file} ${trigger.name}", kind: .watch, in: "the spec template")
    }

    @Test func aFileIsReadyOnceTwoLooksASettleTimeApartSawTheSameSizeAndTime() {
        var tracker = SettleTracker()
        let t0 = Date(timeIntervalSince1970: 1_000)
        /// What each look at `at` seconds said (`true`: ready).
        func looks(_ file: WatchedFile, _ seconds: [Double], settle: Double) -> [Bool] {
            seconds.map { tracker.observe(file, at: t0.addingTimeInterval($0), settle: settle) }
        }
        let small = WatchedFile(path: "/in/a.csv", bytes: 10, modified: 1.5)
        #expect(looks(small, [0, 0], settle: 0) == [false, true], "the first look never makes a file ready")
        let grown = WatchedFile(path: "/in/a.csv", bytes: 20, modified: 2.5)
        #expect(looks(grown, [10, 14, 15], settle: 5) == [false, false, true])
        let touched = WatchedFile(path: "/in/a.csv", bytes: 20, modified: 3.5)
        #expect(looks(touched, [100], settle: 5) == [false], "a new modification time starts the wait again")
        let empty = WatchedFile(path: "/in/e.csv", bytes: 0, modified: 1)
        #expect(looks(empty, [0, 60, 120], settle: 0) == [false, false, false], "empty files wait")
        tracker.keepOnly(["/in/e.csv"])
        #expect(tracker.count == 1)
        #expect(looks(touched, [200], settle: 0) == [false], "a forgotten file starts over")
    }

    @Test func triggerSettingsAreConfigurableAndCheckedAtTheirKey() async throws {
        let defaults = try await TrainyardConfiguration.load(file: nil, environment: [:])
        #expect(defaults.triggers == TriggerOptions())
        let configured = try await TrainyardConfiguration.load(file: nil, environment: [
            "TRAINYARD_TRIGGERS_POLL_MS": "250", "TRAINYARD_TRIGGERS_MAX_FILES": "50", "TRAINYARD_TRIGGERS_RETRY_MAX_S": "60",
        ])
        #expect(configured.triggers == TriggerOptions(pollInterval: .milliseconds(250), maxFilesPerLook: 50, retryMax: .seconds(60)))
        do {
            _ = try await TrainyardConfiguration.load(file: nil, environment: ["TRAINYARD_TRIGGERS_POLL_MS": "0"])
            Issue.record("a poll interval of 0 ms must be refused")
        } catch let error as TrainyardError {
            #expect(error.message.contains("triggers.poll_ms"))
        }
    }

    @Test func definitionsRoundTripAsJSONAndRefuseWhatTheyCannotBe() throws {
        let text = """
            {"name": "inbox", "watch": {"path": "file:///data/in/../in", "glob": "*.csv"},
             "transform": {"model": "iris", "output": "/out", "keep": ["id"]}, "paused": true}
            """
        let definition = try JSON.decode(TriggerDefinition.self, from: text)
        guard case .watch(let watch) = definition.source else { Issue.record("expected a watch"); return }
        #expect(watch.path == "/data/in" && watch.settleSeconds == WatchSource.defaultSettleSeconds && definition.paused)
        #expect(try JSON.decode(TriggerDefinition.self, from: JSON.encode(definition)) == definition)
        let schedule = try JSON.decode(TriggerDefinition.self, from: #"{"name": "n", "schedule": {"cron": "@daily"}, "train": {"spec": "name: a\ntask: command\n"}}"#)
        guard case .schedule(let s) = schedule.source else { Issue.record("expected a schedule"); return }
        #expect(s.timeZoneName == "UTC")
        for (bad, expected) in [
            (#"{"name": "n", "watch": {"path": "/in"}, "schedule": {"cron": "@daily"}, "train": {"spec": "x"}}"#, "exactly one of watch, schedule and sqs"),
            (#"{"name": "n", "watch": {"path": "s3://Bad_Bucket/in"}, "train": {"spec": "x"}}"#, "is not an S3 bucket name"),
            (#"{"name": "n", "watch": {"path": "/in", "settle_seconds": -1}, "train": {"spec": "x"}}"#, "out of range"),
            (#"{"name": "n", "watch": {"path": "/in"}, "train": {"spec": "  "}}"#, "empty"),
            (#"{"name": "n", "watch": {"path": "/in"}, "train": {"spec": "x", "base_directory": "rel"}}"#, "absolute"),
            (#"{"name": "n", "watch": {"path": "/in"}, "transform": {"model": "m"}}"#, "transform.output is required"),
            (#"{"name": "n", "watch": {"path": "/in"}, "transform": {"model": "m", "output": "/o"}, "extra": 1}"#, "unknown key(s) extra"),
        ] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSON.decode(TriggerDefinition.self, from: bad) }
            do { _ = try JSON.decode(TriggerDefinition.self, from: bad) } catch { #expect("\(error)".contains(expected), "\(bad): \(error)") }
        }
    }
}
