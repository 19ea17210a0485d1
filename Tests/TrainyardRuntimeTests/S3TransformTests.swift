import Crypto
import Foundation
import Testing
import TrainyardCore
@testable import TrainyardRuntime
import TrainyardTestSupport

/// Transforms whose input and output are `s3://` against a real S3 endpoint (moto), with the
/// known scorer of `TransformJobTests` (`a,b` → `a+b`): a prefix of several CSVs scored into an
/// output prefix (outputs, errors files and `_SUCCESS.json` read back by boto3), a large object
/// cut into ranges read by ranged GETs, the idempotency key following each object's ETag, a
/// changed object failing the job with nothing committed, and every refusal at submit naming
/// the option and the URI.
@Suite("S3 transforms", .enabled(if: MotoBucket.enabled, Comment(rawValue: MotoBucket.skipReason)))
struct S3TransformTests {
    struct Setup {
        let harness: Harness
        let bucket: MotoBucket
        let services: TrainyardServices

        init(partBytes: Int64 = 256 << 20, blockBytes: Int = 64 << 10) async throws {
            bucket = try await MotoBucket()
            harness = try await Harness()
            var services = harness.services
            services.scoring = TransformJobTests.SumScoring()
            services.dataObjects = try bucket.dataObjects()
            services.configuration.transform.partBytes = partBytes
            services.configuration.transform.blockBytes = blockBytes
            self.services = services
            try await RegisteredVersions.registerTabular("m", services: services)
        }

        func request(_ input: String, _ output: String, _ configure: (inout TransformRequest) -> Void = { _ in }) -> TransformRequest {
            var request = TransformRequest(model: "m", input: input, output: output)
            configure(&request)
            return request
        }

        func submit(_ input: String, _ output: String, _ configure: (inout TransformRequest) -> Void = { _ in }) async throws -> (job: Job, created: Bool) {
            try await services.transformSubmitter.submission(request(input, output, configure))
        }

        func run(workers: Int = 1) async throws {
            try await WorkerPool(services: services, options: .init(workers: workers, exitWhenIdle: .milliseconds(600), minPoll: .milliseconds(20),
                                                                    maxPoll: .milliseconds(100), namePrefix: "test")).run()
        }

        func finished(_ job: Job) async throws -> Job {
            let done = try #require(try await services.store.job(job.id))
            return done
        }

        func summary(_ key: String) async throws -> TransformSummary {
            try JSONDecoder.iso().decode(TransformSummary.self, from: try await bucket.get(key))
        }

        func refusal(_ request: TransformRequest, services other: TrainyardServices? = nil) async throws -> TrainyardError {
            do {
                _ = try await (other ?? services).transformSubmitter.submit(request)
            } catch let error as TrainyardError {
                return error
            }
            Issue.record("expected \(request.input) → \(request.output) to be refused")
            throw CancellationError()
        }
    }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    @Test func scoresAPrefixOfCSVsIntoAnOutputPrefixAndTheSameObjectsAreTheSameJob() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        var expected: [String: [String]] = [:]
        for (name, rows) in [("a.csv", 30), ("b.csv", 1), ("c.csv", 500)] {
            let (text, sums) = TransformJobTests.rows(rows)
            try await s.bucket.put("in/\(name)", text)
            expected[name] = sums
        }
        // Not scored: another extension, a hidden object, an object in a "subfolder".
        try await s.bucket.put("in/notes.txt", "not data")
        try await s.bucket.put("in/.hidden.csv", "a,b\n1,1\n")
        try await s.bucket.put("in/older/d.csv", "a,b\n1,1\n")

        let (job, created) = try await s.submit(s.bucket.uri("in"), s.bucket.uri("out"))
        #expect(created)
        let transform = try #require(job.spec.transform)
        #expect(transform.input == s.bucket.uri("in/") && transform.output == s.bucket.uri("out/"))
        #expect(transform.files.map(\.path) == ["a.csv", "b.csv", "c.csv"].map { s.bucket.uri("in/\($0)") })
        #expect(transform.files.allSatisfy { $0.etag != nil && $0.bytes > 0 })
        // The probe that proved the prefix writable is gone.
        await #expect(try s.bucket.keys(under: "out/").isEmpty)

        try await s.run(workers: 2)
        let done = try await s.finished(job)
        let log = try await s.harness.logText(job.id)
        #expect(done.state == .succeeded, "\(done.failureReason ?? "") \(log)")
        await #expect(try s.bucket.keys(under: "out/") == ["out/_SUCCESS.json", "out/a.csv.out", "out/b.csv.out", "out/c.csv.out"])
        let summary = try await s.summary("out/_SUCCESS.json")
        #expect(summary.model == "m" && summary.version == 1 && summary.job == job.id)
        #expect(summary.files.map(\.input) == transform.files.map(\.path))
        for file in summary.files {
            let name = String(file.input.split(separator: "/").last!)
            let output = try await s.bucket.get("out/\(file.output)")
            #expect(file.output == name + ".out")
            #expect(String(decoding: output, as: UTF8.self) == "sum\n" + expected[name]!.joined(separator: "\n") + "\n")
            #expect(file.rowsIn == expected[name]!.count && file.rowsOut == file.rowsIn && file.errors == 0)
            #expect(file.sha256 == Self.sha256(output) && file.bytes == Int64(output.count))
        }
        #expect(done.progress?.rows == 531)

        // The same objects: the same job. One object rewritten: a new job.
        let again = try await s.submit(s.bucket.uri("in/"), s.bucket.uri("out/"))
        #expect(!again.created && again.job.id == job.id)
        let (text, _) = TransformJobTests.rows(2)
        try await s.bucket.put("in/b.csv", text)
        let changed = try await s.submit(s.bucket.uri("in/"), s.bucket.uri("out/"))
        #expect(changed.created && changed.job.id != job.id)
    }

    /// One object over `transform.part_mb`: cut at record boundaries, each part read by a
    /// ranged GET; the assembled output is in input order with the file's own line numbers.
    @Test func aLargeObjectIsCutIntoPartsReadByRange() async throws {
        let s = try await Setup(partBytes: 48 << 10, blockBytes: 8 << 10)
        defer { s.bucket.remove() }
        let (text, sums) = TransformJobTests.rows(20_000, bad: [15_000])
        try await s.bucket.put("big.csv", text)
        let (job, _) = try await s.submit(s.bucket.uri("big.csv"), s.bucket.uri("scored/")) { $0.maxErrorRate = 0.5 }
        try await s.run(workers: 2)
        let done = try await s.finished(job)
        let log = try await s.harness.logText(job.id)
        #expect(done.state == .succeeded, "\(done.failureReason ?? "") \(log)")
        let parts = try #require(log.split(separator: "\n").first { $0.contains("fanned out into") })
        #expect(!parts.contains("into 1 part"), "\(parts)")
        await #expect(try s.bucket.text("scored/big.csv.out") == "sum\n" + sums.joined(separator: "\n") + "\n")
        let errors = try await s.bucket.text("scored/big.csv.errors.jsonl")
        // Line 1 is the header: row 15,000 is on line 15,002.
        #expect(errors.contains("\"line\":15002"), "\(errors)")
        let summary = try await s.summary("scored/_SUCCESS.json")
        #expect(summary.files.first?.errors == 1 && summary.files.first?.errorsFile == "big.csv.errors.jsonl")
        await #expect(summary.files.first?.sha256 == Self.sha256(try s.bucket.get("scored/big.csv.out")))
    }

    @Test func anObjectChangedAfterSubmitFailsTheJobAndCommitsNothing() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        let (text, _) = TransformJobTests.rows(100)
        try await s.bucket.put("one.csv", text)
        let (job, _) = try await s.submit(s.bucket.uri("one.csv"), s.bucket.uri("out/"))
        try await s.bucket.put("one.csv", text.replacingOccurrences(of: "99,198", with: "99,199"))
        try await s.run()
        let done = try await s.finished(job)
        #expect(done.state == .failed && done.attempt == 1)
        let reason = done.failureReason ?? ""
        #expect(reason.contains(s.bucket.uri("one.csv")) && reason.contains("changed after the transform was submitted"), "\(reason)")
        await #expect(try s.bucket.keys(under: "out/").isEmpty)
    }

    /// Mixed locations: a local file into an S3 prefix, an object into a local folder (which
    /// keeps working exactly as before: renamed into place).
    @Test func localAndS3LocationsMix() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        let (text, sums) = TransformJobTests.rows(40)
        let local = s.harness.root.appendingPathComponent("local.csv")
        try text.write(to: local, atomically: true, encoding: .utf8)
        let (up, _) = try await s.submit(local.path, s.bucket.uri("from-local"))
        try await s.bucket.put("remote.csv", text)
        let folder = s.harness.root.appendingPathComponent("scored")
        let (down, _) = try await s.submit(s.bucket.uri("remote.csv"), folder.path)
        try await s.run()
        #expect(try await s.finished(up).state == .succeeded)
        #expect(try await s.finished(down).state == .succeeded)
        let expected = "sum\n" + sums.joined(separator: "\n") + "\n"
        await #expect(try s.bucket.text("from-local/local.csv.out") == expected)
        #expect(try String(contentsOf: folder.appendingPathComponent("remote.csv.out"), encoding: .utf8) == expected)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["_SUCCESS.json", "remote.csv.out"])
        let summary = try JSONDecoder.iso().decode(TransformSummary.self, from: Data(contentsOf: folder.appendingPathComponent("_SUCCESS.json")))
        #expect(summary.files.first?.input == s.bucket.uri("remote.csv"))
    }

    @Test func refusalsAtSubmitNameTheOptionAndTheURI() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        try await s.bucket.put("in/a.csv", "a,b\n1,2\n")
        try await s.bucket.put("in/readme.md", "no data")
        let missingBucket = "s3://trainyard-missing-\(UUID().uuidString.lowercased().prefix(12))"
        let cases: [(TransformRequest, [String])] = [
            (s.request(s.bucket.uri("nothing-here.csv"), s.bucket.uri("out/")), ["input", "no object", s.bucket.uri("nothing-here.csv")]),
            (s.request(missingBucket + "/in/", s.bucket.uri("out/")), ["input", "does not exist", missingBucket]),
            (s.request(s.bucket.uri("in/"), missingBucket + "/out/"), ["output", "does not exist", missingBucket]),
            (s.request(s.bucket.uri("in/"), s.bucket.uri("in/")), ["output", "input prefix"]),
            (s.request(s.bucket.uri("in/"), s.bucket.uri("out/")) { $0.glob = "*.parquet" }, ["input", "--glob *.parquet"]),
            (s.request(s.bucket.uri("in/readme.md"), s.bucket.uri("out/")), ["input", "format", "readme.md"]),
        ]
        for (request, words) in cases {
            let error = try await s.refusal(request)
            #expect(error.code == .invalidArgument, "\(error)")
            for word in words { #expect(error.message.contains(word), "\(words): \(error.message)") }
        }
        var none = s.services
        none.dataObjects = nil
        let unconfigured = try await s.refusal(s.request(s.bucket.uri("in/"), s.harness.root.appendingPathComponent("o").path), services: none)
        #expect(unconfigured.code == .invalidArgument && unconfigured.message.contains("input: s3:// locations need S3"), "\(unconfigured.message)")
        #expect(try await s.services.store.jobs(JobFilter(kind: .transform, limit: 10)).isEmpty, "nothing is enqueued")
        await #expect(try s.bucket.keys() == ["in/a.csv", "in/readme.md"], "no probe is left behind")
    }

    /// Over HTTP to a server others can reach, s3:// inputs and outputs are allowed, and local
    /// folders outside server.data_roots still are not.
    @Test func aRestrictedSubmitterTakesS3LocationsButNoLocalFolder() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        try await s.bucket.put("in/a.csv", "a,b\n1,2\n")
        let restricted = TransformSubmitter.Options(access: .restricted(to: []))
        let job = try await s.services.transformSubmitter.submit(s.request(s.bucket.uri("in/"), s.bucket.uri("out/")), options: restricted)
        #expect(job.spec.transform?.files.count == 1)
        do {
            _ = try await s.services.transformSubmitter.submit(s.request(s.bucket.uri("in/"), s.harness.root.path), options: restricted)
            Issue.record("a local output folder was accepted from a restricted submitter")
        } catch let error as TrainyardError {
            #expect(error.code == .forbidden)
        }
    }
}
