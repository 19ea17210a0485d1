import Foundation
import Testing
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime
import TrainyardTabular
import TrainyardTestSupport
import TrainyardText
@testable import TrainyardServing

/// Batch transform's serving side (`ServingBatchScoring`): each model kind scoring files cut
/// into record-aligned blocks the way the transform cuts them, blocks scored concurrently.
@Suite struct BatchScoringTests {
    // MARK: Records

    @Test func recordsKeepTheirLinesAcrossQuotedNewlinesBlankLinesAndCRLF() {
        let bytes = Array("\u{FEFF}a,b\r\n\r\n\"x\ny\",1\r\n  \nlast,\"open\nend".utf8)
        let records = InputRecords.split(RecordBlock(bytes: bytes, firstLine: 1), format: .csv)
        #expect(records.map(\.line) == [1, 3, 6])
        #expect(records.map(\.text) == ["a,b", "\"x\ny\",1", "last,\"open\nend"])
        #expect(RecordFields.split(records[1].bytes, delimiter: UInt8(ascii: ",")) == ["x\ny", "1"])
        #expect(RecordFields.split(Array("\"a \"\"q\"\" b\",c".utf8)[...], delimiter: UInt8(ascii: ",")) == ["a \"q\" b", "c"])
        #expect(RecordFields.split(Array("\"open".utf8)[...], delimiter: UInt8(ascii: ",")) == nil)
        // A quote opens quoting only at the start of a field, as the transform cuts records.
        let stray = InputRecords.split(RecordBlock(bytes: Array("a 5\" screen,x\n\"ab\"cd,\"e\"\"\"\n".utf8), firstLine: 2), format: .csv)
        #expect(stray.map(\.line) == [2, 3])
        #expect(stray.map { RecordFields.split($0.bytes, delimiter: UInt8(ascii: ",")) } == [["a 5\" screen", "x"], ["abcd", "e\""]])
        // In JSONL a quote does not join lines.
        let jsonl = InputRecords.split(RecordBlock(bytes: Array("{\"a\": \"\\\"\"}\n\t\n[1]\n".utf8), firstLine: 7), format: .jsonl)
        #expect(jsonl.map(\.line) == [7, 9])
    }

    // MARK: Text classification

    @Test func textCSVWithHeaderKeepsAColumnAndReportsBadRowsAtTheirLines() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let version = try await textVersion(fixture)
        let file = """
        id,text
        1,a great and wonderful film
        2,"an awful and boring
        film, truly"
        3,
        4
        5,"a great ""wonderful"" film"

        6,an awful and boring film

        """
        // Small blocks: the file is cut in several, scored at once, and lines stay exact.
        let result = try await InMemoryTransform.run(ServingBatchScoring(services: fixture.services), version, file: file, format: .csv, keep: ["id"], blockBytes: 40)
        #expect(result.blocks > 2)
        #expect(result.inputHasHeader)
        #expect(result.lines.first == "id,label,score")
        let rows = result.lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.map { $0[0] } == ["1", "2", "5", "6"])
        #expect(rows.map { $0[1] } == ["pos", "neg", "pos", "neg"])
        let scores = rows.compactMap { Double($0[2]) }
        #expect(scores.count == 4 && scores[0] > 0.5 && scores[1] < 0.5 && scores[2] > 0.5 && scores[3] < 0.5, "score is P(pos): \(scores)")
        #expect(result.rowsIn == 6 && result.rowsOut == 4)
        #expect(result.errors == [RowError(line: 5, reason: "empty text (column \"text\")", row: "3,"),
                                  RowError(line: 6, reason: "expected 2 comma-separated fields (as the header has), found 1", row: "4")])
    }

    @Test func textCSVWithoutHeaderReadsTheFirstFieldAndWritesProbabilities() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let version = try await textVersion(fixture)
        let file = "a great and wonderful film\nan awful, boring film\n\"a great, wonderful film\"\n"
        let result = try await InMemoryTransform.run(ServingBatchScoring(services: fixture.services), version, file: file, format: .csv, probabilities: true)
        #expect(!result.inputHasHeader)
        #expect(result.lines.first == "label,score,probability_neg,probability_pos")
        let rows = result.lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.map { $0[0] } == ["pos", "neg", "pos"])
        for row in rows {
            let (score, neg, pos) = (Double(row[1]) ?? -1, Double(row[2]) ?? -1, Double(row[3]) ?? -1)
            #expect(abs(neg + pos - 1) < 1e-6 && abs(score - pos) < 1e-12, "\(row)")
        }
        #expect(result.errors.isEmpty && result.rowsOut == 3)

        // --header on a file whose columns name no text column is refused before any row is read.
        let noText = TransformLayout(format: .csv, firstRecord: ["id", "body"], header: true)
        await #expect(throws: TrainyardError.self) { _ = try await ServingBatchScoring(services: fixture.services).open(version, layout: noText) }
        let missingKeep = TransformLayout(format: .csv, firstRecord: ["id", "text"], keep: ["nope"])
        do {
            _ = try await ServingBatchScoring(services: fixture.services).open(version, layout: missingKeep)
            Issue.record("a keep column the file lacks must be refused")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidInput && error.message.contains("\"nope\"") && error.message.contains("id, text"), "\(error)")
        }
    }

    /// A model trained with `data.text_column: body` finds that column in a file's header.
    @Test func textColumnOfTheTrainingSpec() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let services = fixture.services
        _ = try await services.submitter.submit("name: bodies\ntask: command\ncommand: [\"true\"]\ndata:\n  text_column: body\nretries: 0\n")
        let lease = try #require(try await services.store.dequeue(workerID: "test", kinds: [.train], leaseDuration: .seconds(60)))
        let model = try ModelName("bodies")
        let number = try await services.store.reserveVersion(lease.token)
        let reviews = try #require(try await services.store.version(try ModelName("reviews"), try await RegisteredVersions.registerText("reviews", services: services)))
        let bytes = try await ArtifactReader(artifacts: services.artifacts).read("model.bin", of: reviews)
        let stored = try await services.artifacts.put(ArtifactKeys.versionFile(model, number, "model.bin"), data: bytes)
        let manifest = Manifest(model: model, version: number, task: .textClassification, algorithm: "test", inputSchema: .object(["type": .string("text")]),
                                lineage: Lineage(jobID: lease.job.id, attempt: lease.token.attempt, data: [], createdAt: Date()),
                                artifacts: [ArtifactEntry(name: "model.bin", sha256: stored.sha256, bytes: stored.bytes)])
        _ = try await services.store.complete(lease.token, registration: VersionRegistration(manifest: manifest, promote: nil))
        let version = try #require(try await services.store.version(model, number))

        let result = try await InMemoryTransform.run(ServingBatchScoring(services: services), version, file: "id,body\n1,an awful and boring film\n", format: .csv, keep: ["id"])
        #expect(result.inputHasHeader)
        #expect(result.lines.first == "id,label,score" && result.lines.dropFirst().first?.hasPrefix("1,neg,") == true, "\(result.lines)")
    }

    @Test func textTSVJoinInputKeepsEveryColumnQuotedWhereNeeded() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let version = try await textVersion(fixture)
        // A quote inside a field is written quoted and doubled (the transform's CSV rule, for TSV too).
        let file = "sentence\tnote\na great and wonderful film\t\"said \"\"wow\"\"\"\nan awful and boring film\tplain\n"
        let result = try await InMemoryTransform.run(ServingBatchScoring(services: fixture.services), version, file: file, format: .tsv, joinInput: true)
        #expect(result.lines.first == "sentence\tnote\tlabel\tscore")
        let rows = result.lines.dropFirst().map { RecordFields.split(Array($0.utf8)[...], delimiter: UInt8(ascii: "\t")) ?? [] }
        #expect(rows.map { Array($0.prefix(3)) } == [["a great and wonderful film", "said \"wow\"", "pos"], ["an awful and boring film", "plain", "neg"]])
    }

    @Test func textJSONLObjectsAndStringsWithJoinInputOrKeep() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let version = try await textVersion(fixture)
        let scoring = ServingBatchScoring(services: fixture.services)
        let file = """
        {"id": 7, "text": "a great and wonderful film"}
        "an awful and boring film"
        {"id": 9}
        {"id": 10, "text":
        {"id": 11, "text": 5}

        {"id": 12, "text": "   "}
        [1]
        {"text": "an awful and boring film", "label": "gold"}

        """
        let joined = try await InMemoryTransform.run(scoring, version, file: file, format: .jsonl, joinInput: true)
        #expect(joined.lines.count == 3 && joined.rowsIn == 8 && joined.rowsOut == 3)
        // The input object's own text is kept byte for byte, the model's members appended.
        #expect(joined.lines[0].hasPrefix(#"{"id": 7, "text": "a great and wonderful film","label":"pos","score":"#), "\(joined.lines[0])")
        let objects = try joined.lines.map { try FastJSON.parse(Array($0.utf8)) }
        #expect(objects[1]["text"] == .string("an awful and boring film") && objects[1]["label"] == .string("neg"))
        // A member the model writes replaces the input's (no duplicate key).
        #expect(objects[2]["label"] == .string("neg") && joined.lines[2].components(separatedBy: "\"label\"").count == 2, "\(joined.lines[2])")
        #expect(joined.errors.map(\.line) == [3, 4, 5, 7, 8])
        #expect(joined.errors[0].reason == "missing field \"text\" (a string)")
        #expect(joined.errors[1].reason.hasPrefix("invalid JSON: "))
        #expect(joined.errors[2].reason == "field \"text\" must be a string; got a number")
        #expect(joined.errors[3].reason == "empty text (field \"text\")")
        #expect(joined.errors[4].reason.hasPrefix("expected an object with a \"text\" field or a JSON string"))
        #expect(joined.errors[1].row == #"{"id": 10, "text":"#)

        let kept = try await InMemoryTransform.run(scoring, version, file: file, format: .jsonl, keep: ["id"], probabilities: true)
        let first = try FastJSON.parse(Array(kept.lines[0].utf8)), second = try FastJSON.parse(Array(kept.lines[1].utf8))
        #expect(first["id"] == .int(7) && first["text"] == nil && first["label"] == .string("pos"))
        #expect(first["probabilities"]?["pos"]?.doubleValue == first["score"]?.doubleValue)
        #expect(second["id"] == .null)
    }

    // MARK: Dispatch

    @Test func tabularVersionsScoreThroughTheTabularScorer() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let number = try await fixture.registerTabular("prices")
        let version = try #require(try await fixture.services.store.version(try ModelName("prices"), number))
        let result = try await InMemoryTransform.run(ServingBatchScoring(services: fixture.services), version, file: "id,a,b,c\n1,4,2,u\n", format: .csv, keep: ["id"])
        #expect(result.lines.first == "id,prediction" && result.rowsOut == 1, "\(result.lines)")
        let prediction = try #require(Double(result.lines[1].split(separator: ",").last.map(String.init) ?? ""))
        guard case .tabular(let predictor) = try await NativeModel.load(version, reader: ArtifactReader(artifacts: fixture.services.artifacts)) else {
            Issue.record("a tabular version")
            return
        }
        let direct = try #require(try predictor.predict(records: [["a": .number(4), "b": .number(2), "c": .string("u")]]).first?.value)
        #expect(abs(prediction - direct) < 1e-9 * max(1, abs(direct)), "\(prediction) vs \(direct)")
    }

    // MARK: NER

    @Test func nerJSONLAndCSV() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let result = try EntityRecognition.train(NERTrainingRequest(train: Self.toyCoNLL(), params: ["iterations": .int(40)]), observer: SilentObserver())
        let number = try await RegisteredVersions.register("people", task: .ner, files: ["model.bin": Data(result.model)],
                                                           inputSchema: .object(["type": .string("text")]), services: fixture.services)
        let version = try #require(try await fixture.services.store.version(try ModelName("people"), number))
        let scoring = ServingBatchScoring(services: fixture.services)

        let jsonl = try await InMemoryTransform.run(scoring, version, file: "{\"id\": 1, \"text\": \"Mary Khan lives in Lima .\"}\n{\"id\": 2}\n",
                                            format: .jsonl, keep: ["id"])
        #expect(jsonl.lines.count == 1 && jsonl.errors.map(\.line) == [2])
        let object = try FastJSON.parse(Array(jsonl.lines[0].utf8))
        #expect(object["id"] == .int(1) && object["text"] == nil)
        let entities = try #require(object["entities"]?.arrayValue)
        #expect(entities.contains { $0["text"] == .string("Mary Khan") && $0["tag"] == .string("PER") && $0["start"] == .int(0) && $0["end"] == .int(9) },
                "\(entities)")
        #expect(entities.allSatisfy { $0.objectValue.map { Set($0.keys) } == ["text", "tag", "score", "start", "end"] })

        let csv = try await InMemoryTransform.run(scoring, version, file: "id,text\n1,Globex hired Anna Novak in Oslo .\n", format: .csv, keep: ["id"])
        #expect(csv.lines.first == "id,entities")
        let fields = try #require(RecordFields.split(Array(csv.lines[1].utf8)[...], delimiter: UInt8(ascii: ",")))
        #expect(fields.count == 2 && fields[0] == "1")
        let parsed = try #require(try FastJSON.parse(Array(fields[1].utf8)).arrayValue)
        #expect(parsed.contains { $0["text"] == .string("Globex") && $0["tag"] == .string("ORG") }, "\(parsed)")
    }

    // MARK: Bring your own model

    /// The bundled `examples/iris-byom` serve program: CSV records sent header-less without the
    /// kept id, several requests under a small payload cap, a record it refuses isolated.
    @Test func irisExampleScoresInSeveralRequestsAndIsolatesARefusedRecord() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/iris-byom/serve.py")
        let model = #"{"features": ["sepal_length", "sepal_width", "petal_length", "petal_width"], "centroids": {"setosa": [5.01, 3.43, 1.46, 0.25], "versicolor": [5.94, 2.77, 4.26, 1.33], "virginica": [6.59, 2.97, 5.55, 2.03]}}"#
        let number = try await RegisteredVersions.register("iris", task: .command, files: ["serve.py": try Data(contentsOf: example), "model.json": Data(model.utf8)],
                                                           inputSchema: nil, serve: ["python3", "serve.py"], services: fixture.services)
        let version = try #require(try await fixture.services.store.version(try ModelName("iris"), number))
        var file = "id,sepal_length,sepal_width,petal_length,petal_width\n"
        for i in 0..<4 { file += "a\(i),5.1,3.5,1.4,0.2\nb\(i),6.9,3.1,5.4,2.1\nc\(i),5.9,3.0,4.2,1.5\n" }
        file += "bad,wide,3.0,4.2,1.5\nlast,5.0,3.4,1.5,0.2\n"
        let result = try await InMemoryTransform.run(Self.byomScoring(fixture, maxPayloadBytes: 64), version, file: file, format: .csv, keep: ["id"], blockBytes: 100)
        #expect(result.inputHasHeader)
        #expect(result.lines.first == "id,prediction")
        let rows = result.lines.dropFirst().compactMap { RecordFields.split(Array($0.utf8)[...], delimiter: UInt8(ascii: ",")) }
        let labels = try rows.map { try FastJSON.parse(Array($0[1].utf8))["label"]?.stringValue ?? "" }
        #expect(rows.map { $0[0] } == (0..<4).flatMap { ["a\($0)", "b\($0)", "c\($0)"] } + ["last"])
        #expect(labels == Array(repeating: ["setosa", "virginica", "versicolor"], count: 4).flatMap { $0 } + ["setosa"])
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.line == 14 && result.errors.first?.row == "bad,wide,3.0,4.2,1.5")
        #expect(result.errors.first?.reason.contains("expected a number") == true, "\(result.errors)")
    }

    /// A test serve program that reports each request's record count and the requests in
    /// flight: requests stay under the payload cap and the concurrency limit, a refused record
    /// becomes the only row error, order is kept; then JSONL, and what fails a file.
    @Test func requestsStayUnderTheCapsAndOnlyRefusedRecordsFail() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let version = try await Self.echoVersion(fixture, "echo", options: #"{"delay": 0.02}"#)
        var file = ""
        for i in 1...40 { file += i == 23 ? "REFUSE,\(i)\n" : "r\(i),\(i)\n" }
        let scoring = Self.byomScoring(fixture, maxPayloadBytes: 64)
        let result = try await InMemoryTransform.run(scoring, version, file: file, format: .csv, blockBytes: 90)
        #expect(!result.inputHasHeader && result.lines.first == "prediction")
        let answers = try result.lines.dropFirst().map { try FastJSON.parse(Array((RecordFields.split(Array($0.utf8)[...], delimiter: 44)?.first ?? "").utf8)) }
        #expect(answers.map { $0["echo"]?.stringValue ?? "" } == (1...40).filter { $0 != 23 }.map { "r\($0),\($0)" })
        let sizes = answers.compactMap { $0["rows"]?.intValue }, inFlight = answers.compactMap { $0["inflight"]?.intValue }
        // (64 - 16 bytes of envelope) / at least 5 bytes a record and its newline: at most 9 records a request.
        #expect(sizes.count == 39 && sizes.allSatisfy { (1...9).contains($0) } && sizes.contains { $0 > 1 }, "\(sizes)")
        #expect(inFlight.allSatisfy { (1...2).contains($0) }, "\(inFlight)")
        #expect(result.errors == [RowError(line: 23, reason: "the model refused it (400): record 0 is refused", row: "REFUSE,23")])

        // JSONL goes as {"instances": [...]}; one large request is refused, probed, bisected.
        var lines = ""
        for i in 1...40 { lines += i == 31 ? "{\"id\": \(i), \"x\": \"REFUSE\"}\n" : "{\"id\": \(i)}\n" }
        let jsonl = try await InMemoryTransform.run(Self.byomScoring(fixture, maxPayloadBytes: 1 << 20), version, file: lines, format: .jsonl, joinInput: true)
        #expect(jsonl.rowsOut == 39 && jsonl.errors.map(\.line) == [31])
        let objects = try jsonl.lines.map { try FastJSON.parse(Array($0.utf8)) }
        #expect(objects.map { $0["id"]?.intValue ?? 0 } == (1...40).filter { $0 != 31 })
        #expect(objects.first?["prediction"]?["echo"] == .string(#"{"id": 1}"#))
        #expect(objects.contains { ($0["prediction"]?["rows"]?.intValue ?? 0) > 8 })

        // The process the scorer started stops with it.
        let layout = TransformLayout(format: .jsonl, firstRecord: nil)
        let scorer = try #require(try await scoring.open(version, layout: layout) as? CommandRecordScorer)
        let pid = try #require(scorer.process.processID)
        await scorer.close()
        #expect(!isProcessRunning(pid))
    }

    @Test func whatFailsAFile() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let scoring = Self.byomScoring(fixture, maxPayloadBytes: 1 << 20)
        var lines = ""
        for i in 1...40 { lines += "{\"id\": \(i)}\n" }

        // A model that refuses everything (here: any record) fails the file after a few
        // requests instead of one per record.
        let refusing = try await Self.echoVersion(fixture, "refusing", options: #"{"refuse_all": true}"#)
        await Self.expectFailure(scoring, refusing, lines, containing: "refused each of 8 records of lines 1–40 sent alone")

        // An answer without one prediction per record.
        let short = try await Self.echoVersion(fixture, "short", options: #"{"drop_one": true}"#)
        await Self.expectFailure(scoring, short, lines, containing: "answered 39 predictions for 40 records (lines 1–40)")

        // A 5xx: the serve process failed, not the record.
        let crashing = try await Self.echoVersion(fixture, "crashing", options: "{}")
        await Self.expectFailure(scoring, crashing, lines + "{\"x\": \"CRASH\"}\n", containing: "answered 500")
    }

    // MARK: Helpers

    func textVersion(_ fixture: ServingFixture) async throws -> ModelVersion {
        let number = try await RegisteredVersions.registerText("reviews", services: fixture.services)
        return try #require(try await fixture.services.store.version(try ModelName("reviews"), number))
    }

    static func byomScoring(_ fixture: ServingFixture, maxPayloadBytes: Int) -> ServingBatchScoring {
        var services = fixture.services
        services.configuration.transform.maxPayloadBytes = maxPayloadBytes
        services.configuration.transform.maxConcurrentRequests = 2
        return ServingBatchScoring(services: services)
    }

    static func expectFailure(_ scoring: ServingBatchScoring, _ version: ModelVersion, _ file: String, containing text: String,
                              sourceLocation: Testing.SourceLocation = #_sourceLocation) async {
        do {
            let result = try await InMemoryTransform.run(scoring, version, file: file, format: .jsonl)
            Issue.record("the file should fail; it gave \(result.rowsOut) rows and \(result.errors.count) errors", sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains(text), "\(error)", sourceLocation: sourceLocation)
        }
    }

    static func echoVersion(_ fixture: ServingFixture, _ name: String, options: String) async throws -> ModelVersion {
        let number = try await RegisteredVersions.register(name, task: .command, files: ["serve.py": Data(echoServe.utf8), "model.json": Data(options.utf8)],
                                                           inputSchema: nil, serve: ["python3", "serve.py"], services: fixture.services)
        return try #require(try await fixture.services.store.version(try ModelName(name), number))
    }

    /// Answers each record with `{"echo": the record, "rows": records in its request, "inflight":
    /// requests being answered}`; a request holding `REFUSE` gets a 400 naming the first such
    /// record, one holding `CRASH` a 500. model.json: `delay` (s), `refuse_all`, `drop_one`.
    static let echoServe = #"""
    import json, os, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    model = json.load(open(os.path.join(os.environ["TRAINYARD_MODEL_DIR"], "model.json")))
    lock = threading.Lock()
    state = {"inflight": 0}
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def do_GET(self):
            self.reply(200 if self.path == "/ping" else 404, {})
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            if self.headers.get("Content-Type", "").startswith("text/csv"):
                rows = [line for line in body.split("\n") if line]
            else:
                rows = [json.dumps(r) for r in json.loads(body)["instances"]]
            with lock:
                state["inflight"] += 1
                inflight = state["inflight"]
            time.sleep(model.get("delay", 0))
            code, answer = self.answer(rows, inflight)
            # Out of flight before answering: the client sends its next request once it has the answer.
            with lock:
                state["inflight"] -= 1
            self.reply(code, answer)
        def answer(self, rows, inflight):
            if model.get("refuse_all"):
                return 400, {"error": "this model takes nothing"}
            bad = [i for i, r in enumerate(rows) if "REFUSE" in r]
            if bad:
                return 400, {"error": "record %d is refused" % bad[0]}
            if any("CRASH" in r for r in rows):
                return 500, {"error": "boom"}
            out = [{"echo": r, "rows": len(rows), "inflight": inflight} for r in rows]
            return 200, {"predictions": out[1:] if model.get("drop_one") else out}
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
    """#

    /// "<First> <Last> lives in <City> ." and "<Org> hired <First> <Last> in <City> ." in BIO.
    static func toyCoNLL() -> [UInt8] {
        let first = ["John", "Mary", "Ahmed", "Li", "Carlos", "Anna"], last = ["Smith", "Jones", "Khan", "Wei", "Garcia", "Novak"]
        let cities = ["Paris", "Berlin", "Lagos", "Lima", "Osaka", "Oslo"], orgs = ["Acme", "Globex", "Initech"]
        var out = ""
        for i in 0..<36 {
            let f = first[i % 6], l = last[(i / 2) % 6], c = cities[(i / 3) % 6], o = orgs[i % 3]
            out += i % 2 == 0 ? "\(f) B-PER\n\(l) I-PER\nlives O\nin O\n\(c) B-LOC\n. O\n\n"
                              : "\(o) B-ORG\nhired O\n\(f) B-PER\n\(l) I-PER\nin O\n\(c) B-LOC\n. O\n\n"
        }
        return Array(out.utf8)
    }
}

private extension JSONValue {
    var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    var intValue: Int? { if case .int(let i) = self { return i } else { return nil } }
}

/// What the transform does with a scorer, in memory: the layout from the file's first record,
/// the header skipped when the scorer says so, the rest cut into blocks of about `blockBytes`
/// after their last complete record (`RecordScanner`), every block scored at once, the
/// outputs joined in input order.
enum InMemoryTransform {
    struct Result {
        var output: String
        var errors: [RowError]
        var rowsIn: Int
        var rowsOut: Int
        var blocks: Int
        var inputHasHeader: Bool
        var lines: [String] { output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
    }

    static func run(_ scoring: ServingBatchScoring, _ version: ModelVersion, file: String, format: TransformFormat, header: Bool? = nil,
                    keep: [String] = [], joinInput: Bool = false, probabilities: Bool = false, blockBytes: Int = 1 << 20) async throws -> Result {
        let bytes = Array(file.utf8)
        func firstRecordEnd(from start: Int) -> Int {
            var scanner = RecordScanner(format: format)
            return bytes[start...].withUnsafeBufferPointer { scanner.firstRecordEnd(in: $0) }.map { start + $0 } ?? bytes.count
        }
        var first: [String]?
        if let delimiter = format.fieldDelimiter, !bytes.isEmpty {
            first = DelimitedRecord.fields(bytes[..<firstRecordEnd(from: 0)], delimiter: delimiter)
        }
        let layout = TransformLayout(format: format, firstRecord: first, header: header, keep: keep, joinInput: joinInput, probabilities: probabilities)
        let scorer = try await scoring.open(version, layout: layout)
        var offset = 0, line = 1
        if scorer.inputHasHeader {
            offset = firstRecordEnd(from: 0)
            line += bytes[..<offset].filter { $0 == 10 }.count
        }
        var blocks: [RecordBlock] = []
        while offset < bytes.count {
            let limit = min(bytes.count, offset + blockBytes)
            var scanner = RecordScanner(format: format)
            var end = bytes.count
            if limit < bytes.count, let last = bytes[offset..<limit].withUnsafeBufferPointer({ scanner.lastRecordEnd(in: $0) }) { end = offset + last }
            blocks.append(RecordBlock(bytes: Array(bytes[offset..<end]), firstLine: line))
            line += bytes[offset..<end].filter { $0 == 10 }.count
            offset = end
        }
        do {
            let scored = try await withThrowingTaskGroup(of: (Int, ScoredBlock).self) { group in
                for (i, block) in blocks.enumerated() { group.addTask { (i, try await scorer.score(block)) } }
                var results = [ScoredBlock?](repeating: nil, count: blocks.count)
                for try await (i, block) in group { results[i] = block }
                return results.map { $0! }
            }
            await scorer.close()
            var output = scorer.outputHeader ?? []
            for block in scored { output += block.output }
            return Result(output: String(decoding: output, as: UTF8.self), errors: scored.flatMap(\.errors), rowsIn: scored.reduce(0) { $0 + $1.rowsIn },
                          rowsOut: scored.reduce(0) { $0 + $1.rowsOut }, blocks: blocks.count, inputHasHeader: scorer.inputHasHeader)
        } catch {
            await scorer.close()
            throw error
        }
    }
}
