import Foundation
import Testing
import TrainyardCore
@testable import TrainyardRuntime
import TrainyardTestSupport

/// The transform job's own behaviour (reading in blocks, order, line numbers, errors file,
/// error rate, commit, idempotency, fan-out), with a scorer whose answers are known: a record
/// `a,b` becomes `a+b`, and a record holding `bad` is refused.
@Suite struct TransformJobTests {
    /// `a,b` → `a+b\n`; a record containing "bad" is a row error; a header `a,b` is detected.
    struct SumScoring: BatchScoring {
        func open(_ version: ModelVersion, layout: TransformLayout) async throws -> any RecordBlockScorer {
            if let first = layout.firstRecord, first.contains("missing") {
                throw TrainyardError(.invalidInput, "the input has no column 'a'")
            }
            return SumScorer(inputHasHeader: layout.header ?? (layout.firstRecord == ["a", "b"]))
        }
    }

    struct SumScorer: RecordBlockScorer {
        let inputHasHeader: Bool
        var outputHeader: [UInt8]? { Array("sum\n".utf8) }

        func score(_ block: RecordBlock) async throws -> ScoredBlock {
            var output: [UInt8] = []
            var errors: [RowError] = []
            var rowsIn = 0
            var line = block.firstLine
            // Records split on newlines outside quotes, as the transform cut them.
            var record: [UInt8] = []
            var quoted = false
            var recordLine = line
            func finish() {
                guard !record.isEmpty else { return }
                rowsIn += 1
                let text = String(decoding: record, as: UTF8.self)
                let fields = DelimitedRecord.fields(record, delimiter: UInt8(ascii: ","))
                if text.contains("bad") || fields.count != 2 {
                    errors.append(RowError(line: recordLine, reason: "refused", row: text))
                } else {
                    output += Array("\((Double(fields[0]) ?? 0) + (Double(fields[1]) ?? 0))\n".utf8)
                }
                record = []
            }
            for b in block.bytes {
                if b == UInt8(ascii: "\"") { quoted.toggle() }
                if b == UInt8(ascii: "\n") {
                    line += 1
                    if !quoted { finish(); recordLine = line; continue }
                }
                record.append(b)
            }
            finish()
            return ScoredBlock(output: output, rowsIn: rowsIn, rowsOut: rowsIn - errors.count, errors: errors)
        }

        func close() async {}
    }

    struct Setup {
        let harness: Harness
        let services: TrainyardServices
        let input: URL
        let output: URL

        init(blockBytes: Int = 64 << 10, partBytes: Int64 = 256 << 20, inMemory: Bool = false) async throws {
            harness = try await Harness(inMemory: inMemory)
            var services = harness.services
            services.scoring = SumScoring()
            services.configuration.transform.blockBytes = blockBytes
            services.configuration.transform.partBytes = partBytes
            self.services = services
            input = harness.root.appendingPathComponent("in")
            output = harness.root.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            try await RegisteredVersions.registerTabular("m", services: services)
        }

        func write(_ name: String, _ text: String) throws -> URL {
            let url = input.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }

        func submit(_ path: URL, _ configure: (inout TransformRequest) -> Void = { _ in }) async throws -> Job {
            var request = TransformRequest(model: "m", input: path.path, output: output.path)
            configure(&request)
            return try await services.transformSubmitter.submit(request)
        }

        func run(workers: Int = 1) async throws {
            try await WorkerPool(services: services, options: .init(workers: workers, exitWhenIdle: .milliseconds(600), minPoll: .milliseconds(20),
                                                                    maxPoll: .milliseconds(100), namePrefix: "test")).run()
        }

        func read(_ name: String) throws -> String { try String(contentsOf: output.appendingPathComponent(name), encoding: .utf8) }

        func outputFiles() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: output.path).sorted() }
    }

    static func rows(_ n: Int, bad: Set<Int> = []) -> (text: String, sums: [String]) {
        var text = "a,b\n"
        var sums: [String] = []
        for i in 0..<n {
            if bad.contains(i) { text += "\(i),bad\n"; continue }
            text += "\(i),\(i * 2)\n"
            sums.append("\(Double(i + i * 2))")
        }
        return (text, sums)
    }

    @Test func scoresAFileInOrderAcrossManyBlocksAndCommitsWithASummary() async throws {
        let s = try await Setup(blockBytes: 16 << 10)
        let (text, sums) = Self.rows(20_000)
        let file = try s.write("data.csv", text)
        let job = try await s.submit(file)
        #expect(job.kind == .transform && job.state == .queued)
        try await s.run()
        let done = try #require(try await s.services.store.job(job.id))
        #expect(done.state == .succeeded, "\(done.failureReason ?? "")")
        #expect(try s.read("data.csv.out") == "sum\n" + sums.joined(separator: "\n") + "\n")
        #expect(done.progress?.rows == 20_000 && done.progress?.rowsOut == 20_000 && done.progress?.rowErrors == 0)
        let summary = try JSONDecoder.iso().decode(TransformSummary.self, from: Data(try s.read("_SUCCESS.json").utf8))
        #expect(summary.files.count == 1 && summary.rowsIn == 20_000 && summary.version == 1)
        #expect(summary.files[0].sha256 == SHA256Hex.of(try s.read("data.csv.out")))
        // Only results: no temporary or probe file is left in the output folder.
        #expect(try s.outputFiles() == ["_SUCCESS.json", "data.csv.out"])
    }

    @Test func badRowsGoToTheErrorsFileWithTheirInputLines() async throws {
        let s = try await Setup(blockBytes: 16 << 10)
        // A quoted field spanning two lines before the bad row: line numbers stay the file's.
        var text = "a,b\n1,2\n\"3\n\",4\n"
        for i in 0..<300 { text += "\(i),1\n" }
        text += "7,bad\n"
        let file = try s.write("data.csv", text)
        _ = try await s.submit(file)
        try await s.run()
        let errors = try s.read("data.csv.errors.jsonl").split(separator: "\n")
        #expect(errors.count == 1)
        let error = try JSONDecoder().decode(RowError.self, from: Data(errors[0].utf8))
        #expect(error.line == 2 + 3 + 300)  // header, 1,2, a 2-line record, 300 rows, then it
        #expect(error.row == "7,bad")
        let summary = try JSONDecoder.iso().decode(TransformSummary.self, from: Data(try s.read("_SUCCESS.json").utf8))
        #expect(summary.errors == 1 && summary.files[0].errorsFile == "data.csv.errors.jsonl")
    }

    @Test func tooManyBadRowsFailTheJobAndCommitNoOutput() async throws {
        let s = try await Setup()
        let (text, _) = Self.rows(100, bad: [3, 50])
        let file = try s.write("data.csv", text)
        let job = try await s.submit(file)  // default max_error_rate: 1 %; 2 % are bad
        try await s.run()
        let done = try #require(try await s.services.store.job(job.id))
        #expect(done.state == .failed)
        #expect(done.failureReason?.contains("2 of 100 rows") == true)
        #expect(done.failureReason?.contains("max_error_rate 1 %") == true)
        #expect(done.attempt == 1)  // not retried: the same rows would fail again
        #expect(try s.outputFiles() == ["data.csv.errors.jsonl"])
        // Allowed with a higher rate.
        let again = try await s.submit(file) { $0.maxErrorRate = 0.05 }
        #expect(again.id != job.id)
        try await s.run()
        #expect(try await s.services.store.job(again.id)?.state == .succeeded)
    }

    @Test func theSameInputSubmittedAgainIsTheSameJobAndAChangedFileIsANewOne() async throws {
        let s = try await Setup()
        let file = try s.write("data.csv", Self.rows(10).text)
        let first = try await s.submit(file)
        let second = try await s.submit(file)
        #expect(first.id == second.id)
        try await s.run()
        let third = try await s.submit(file)
        #expect(third.id == first.id && third.state == .succeeded)
        // New content (size and modification time change): a new input, a new job.
        try Self.rows(11).text.write(to: file, atomically: true, encoding: .utf8)
        let fourth = try await s.submit(file)
        #expect(fourth.id != first.id)
    }

    @Test func anInputChangedAfterSubmitFailsTheJobWithoutWritingOutput() async throws {
        let s = try await Setup()
        let file = try s.write("data.csv", Self.rows(10).text)
        let job = try await s.submit(file)
        try Self.rows(12).text.write(to: file, atomically: true, encoding: .utf8)
        try await s.run()
        let done = try #require(try await s.services.store.job(job.id))
        #expect(done.state == .failed)
        #expect(done.failureReason?.contains("changed after the transform was submitted") == true)
        #expect(try s.outputFiles().isEmpty)
    }

    @Test func submitTimeErrorsNameTheProblemAndEnqueueNothing() async throws {
        let s = try await Setup()
        let file = try s.write("data.csv", Self.rows(3).text)
        func refusal(_ configure: (inout TransformRequest) -> Void, file path: URL? = nil) async -> TrainyardError? {
            do { _ = try await s.submit(path ?? file, configure); return nil } catch let e as TrainyardError { return e } catch { return nil }
        }
        #expect(await refusal { $0.model = "nope" }?.message.contains("model") == true)
        #expect(await refusal { $0.input = "/definitely/not/here.csv" }?.message.contains("does not exist") == true)
        #expect(await refusal { $0.maxErrorRate = 2 }?.message.contains("max_error_rate") == true)
        #expect(await refusal { $0.keep = ["id"]; $0.joinInput = true }?.message.contains("exclude each other") == true)
        #expect(await refusal { $0.outputTemplate = "../x" }?.message.contains("output_template") == true)
        #expect(await refusal({ $0.output = s.input.path }, file: s.input)?.message.contains("is the input folder") == true)
        #expect(await refusal { $0.output = "/proc/forbidden" }?.message.contains("output") == true)
        let missing = try s.write("other.csv", "missing,b\n1,2\n")
        #expect(await refusal({ _ in }, file: missing)?.message.contains("other.csv: the input has no column 'a'") == true)
        #expect(await refusal { $0.probabilities = true }?.message.contains("regression") == true)
        #expect(try await s.services.store.jobs(JobFilter(kind: .transform)).isEmpty)
    }

    @Test(arguments: [false, true]) func aFolderFansOutIntoPartsAndABigFileIntoRanges(inMemory: Bool) async throws {
        // Parts of about 2 KiB: the big file becomes many ranges; each small file one part.
        let s = try await Setup(blockBytes: 16 << 10, partBytes: 2 << 10, inMemory: inMemory)
        let (big, bigSums) = Self.rows(3000, bad: [1234])
        _ = try s.write("big.csv", big)
        var small: [String: [String]] = [:]
        for k in 0..<5 {
            let (text, sums) = Self.rows(10 + k)
            _ = try s.write("small-\(k).csv", text)
            small["small-\(k).csv"] = sums
        }
        let job = try await s.submit(s.input) { $0.glob = "*.csv"; $0.maxErrorRate = 0.01 }
        #expect(job.spec.transform?.files.count == 6)
        try await s.run(workers: 2)
        let done = try #require(try await s.services.store.job(job.id))
        #expect(done.state == .succeeded, "\(done.failureReason ?? "")")
        let parts = try await s.services.store.jobs(JobFilter(kind: .transformPart, limit: 1000))
        #expect(parts.count > 6)
        #expect(parts.allSatisfy { $0.state == .succeeded && $0.spec.transform?.part?.parent == job.id })
        #expect(try s.read("big.csv.out") == "sum\n" + bigSums.joined(separator: "\n") + "\n")
        for (name, sums) in small { #expect(try s.read(name + ".out") == "sum\n" + sums.joined(separator: "\n") + "\n") }
        let error = try JSONDecoder().decode(RowError.self, from: Data(try s.read("big.csv.errors.jsonl").split(separator: "\n")[0].utf8))
        #expect(error.line == 1236)  // header is line 1, row 0 is line 2
        let summary = try JSONDecoder.iso().decode(TransformSummary.self, from: Data(try s.read("_SUCCESS.json").utf8))
        #expect(summary.files.count == 6 && summary.rowsIn == 3000 + (10...14).reduce(0, +) && summary.errors == 1)
        #expect(done.progress?.rows == summary.rowsIn)
        // The parts' staging is gone once the parent committed.
        #expect(try await s.services.artifacts.list(prefix: ArtifactKeys.transformParts(job.id)).isEmpty)
    }

    @Test func aRetriedAttemptRemovesWhatAKilledOneLeftInTheOutputFolder() async throws {
        let s = try await Setup()
        let file = try s.write("data.csv", Self.rows(50).text)
        let job = try await s.submit(file)
        // What a worker killed mid-write leaves: a temporary file of attempt 1.
        try FileManager.default.createDirectory(at: s.output, withIntermediateDirectories: true)
        let leftover = TransformOutput.temporary("data.csv.out", in: s.output.path, job: job.id, attempt: 1)
        try "partial".write(toFile: leftover, atomically: true, encoding: .utf8)
        try await s.run()
        #expect(try await s.services.store.job(job.id)?.state == .succeeded)
        #expect(try s.outputFiles() == ["_SUCCESS.json", "data.csv.out"])
    }

    @Test func recordBoundariesAreFoundOutsideQuotesOnly() {
        var scanner = RecordScanner(format: .csv)
        let text = Array("a,\"x\ny\"\nb,c\n\"open".utf8)
        let end = text.withUnsafeBufferPointer { scanner.lastRecordEnd(in: $0) }
        #expect(end == 12)
        #expect(scanner.inQuotes)
        // A quote inside a field is text; an escaped quote stays inside its field.
        var stray = RecordScanner(format: .csv)
        let screen = Array("5\" screen,1\n\"a\"\"\nb\",2\nx,3\n".utf8)
        #expect(screen.withUnsafeBufferPointer { stray.firstRecordEnd(in: $0) } == 12)
        #expect(screen.withUnsafeBufferPointer { stray.lastRecordEnd(in: UnsafeBufferPointer(rebasing: $0[12...])) } == screen.count - 12)
        #expect(!stray.inQuotes)
        #expect(DelimitedRecord.fields(Array("\"a,b\",\"c\"\"d\" , e\r\n".utf8), delimiter: UInt8(ascii: ",")) == ["a,b", "c\"d", "e"])
    }
}

extension JSONDecoder {
    static func iso() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}

enum SHA256Hex {
    static func of(_ text: String) -> String { Harness.sha256(text) }
}
