import Foundation
import Testing
import TrainyardApp
import TrainyardCore
@testable import TrainyardRuntime

/// Spec data named by `s3://` against a real S3 endpoint (moto; objects written and changed by
/// boto3): pinned at submit (ETag and size in the job's spec), downloaded by the worker only
/// while it is still that object, the lineage naming the URI, the ETag and the sha256 read; a
/// missing object or bucket, a header without the target, no S3 and no credentials refused at
/// submit naming the key and the URI.
@Suite("S3 spec data", .enabled(if: MotoBucket.enabled, Comment(rawValue: MotoBucket.skipReason)))
struct S3DataSpecTests {
    struct Setup {
        let harness: Harness
        let bucket: MotoBucket
        let services: TrainyardServices
        let folder: URL

        init() async throws {
            bucket = try await MotoBucket()
            harness = try await Harness()
            var services = harness.services
            services.dataObjects = try bucket.dataObjects()
            self.services = services
            folder = try harness.specFolder()
        }

        func spec(_ location: String, extra: String = "retries: 2") -> String {
            harness.spec(extra: extra).replacingOccurrences(of: "data/train.csv", with: location)
        }

        func submit(_ text: String, access: DataAccessPolicy = .unrestricted, base: Bool = true) async throws -> Job {
            try await services.submitter.submit(text, options: .init(baseDirectory: base ? folder : nil, access: access))
        }

        func run() async throws {
            try await WorkerPool(services: services, options: .init(workers: 1, exitWhenIdle: .milliseconds(600), minPoll: .milliseconds(20),
                                                                    maxPoll: .milliseconds(100), namePrefix: "test")).run()
        }

        /// The refusal a submit of `text` gets.
        func refusal(_ text: String, services other: TrainyardServices? = nil) async throws -> TrainyardError {
            do {
                _ = try await (other ?? services).submitter.submit(text, options: .init(baseDirectory: folder))
            } catch let error as TrainyardError {
                return error
            }
            Issue.record("expected the submit to be refused")
            throw CancellationError()
        }
    }

    @Test func trainsOnAnS3ObjectPinnedAtSubmitAndNamesItInTheLineage() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        // Five rows, where the spec folder's local copy has four: the job reads the object.
        let csv = Harness.csv + "5,10\n"
        try await s.bucket.put("data/train.csv", csv)
        let uri = s.bucket.uri("data/train.csv")
        let job = try await s.submit(s.spec(uri))
        // The URI stays in the spec (nothing copied into the store); its identity is pinned.
        #expect(job.spec.data.train == uri)
        let pin = try #require(job.spec.staged.first { $0.key == "data.train" })
        #expect(pin.source == uri && pin.bytes == Int64(csv.utf8.count))
        let etag = try #require(pin.etag)
        #expect(etag.count > 2)
        #expect(try await !s.services.artifacts.exists("blobs/sha256/\(Harness.sha256(csv))"))

        try await s.run()
        let done = try #require(try await s.services.store.job(job.id))
        let log = try await s.harness.logText(job.id)
        #expect(done.state == .succeeded, "\(done.failureReason ?? "") \(log)")
        let version = try await s.services.store.resolve(ModelReference(name: try ModelName("byom")))
        #expect(version.metrics["rows"] == 5)
        let data = try #require(version.manifest.lineage.data.first)
        #expect(version.manifest.lineage.data.count == 1)
        #expect(data == DataDigest(key: "data.train", source: uri, sha256: Harness.sha256(csv), bytes: Int64(csv.utf8.count), etag: etag))
        #expect(log.contains("downloaded \(uri)"), "\(log)")
    }

    @Test func anObjectChangedAfterSubmitFailsTheJobWithoutRetrying() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        try await s.bucket.put("train.csv", Harness.csv)
        let job = try await s.submit(s.spec(s.bucket.uri("train.csv")))
        // Same size, other bytes: only the ETag tells.
        try await s.bucket.put("train.csv", Harness.csv.replacingOccurrences(of: "4,8", with: "4,9"))
        try await s.run()
        let done = try #require(try await s.services.store.job(job.id))
        #expect(done.state == .failed)
        #expect(done.attempt == 1, "a changed object fails at once: retrying finds the same")
        let reason = done.failureReason ?? ""
        #expect(reason.contains("data.train") && reason.contains(s.bucket.uri("train.csv")) && reason.contains("changed after the job was submitted"), "\(reason)")
        #expect(try await s.services.store.versions(of: try ModelName("byom")).isEmpty)
    }

    @Test func anObjectDeletedAfterSubmitFailsTheJobSayingSo() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        try await s.bucket.put("train.csv", Harness.csv)
        let job = try await s.submit(s.spec(s.bucket.uri("train.csv")))
        try await MotoBucket.boto3("s3.delete_object(Bucket=sys.argv[1], Key='train.csv')", [s.bucket.name])
        try await s.run()
        let done = try #require(try await s.services.store.job(job.id))
        #expect(done.state == .failed && done.attempt == 1)
        #expect(done.failureReason?.contains("is gone") == true, "\(done.failureReason ?? "")")
    }

    @Test func aMissingObjectOrBucketIsRefusedAtSubmitNamingTheKeyAndTheURI() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        try await s.bucket.put("empty.csv", "")
        let missingBucket = "s3://trainyard-missing-\(UUID().uuidString.lowercased().prefix(12))/train.csv"
        for (location, words) in [(s.bucket.uri("missing.csv"), "no such object"), (missingBucket, "does not exist"),
                                  (s.bucket.uri("empty.csv"), "is empty"), ("s3://Not_A_Bucket/x.csv", "not an S3 bucket name")] {
            let error = try await s.refusal(s.spec(location))
            #expect(error.code == .invalidSpec && error.code.httpStatus == 400)
            #expect(error.details.first?.path == "data.train" && error.details.first?.line == 5)
            #expect(error.message.contains(words), "\(error.message)")
            if location != "s3://Not_A_Bucket/x.csv" { #expect(error.message.contains(location), "\(error.message)") }
        }
        #expect(try await s.services.store.jobs(JobFilter(limit: 10)).isEmpty, "nothing is enqueued")
    }

    @Test func anObjectOverTheStageLimitIsRefusedAtSubmit() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        try await s.bucket.put("big.csv", Harness.csv)
        var services = s.services
        services.configuration.limits.stageBytes = 10
        let error = try await s.refusal(s.spec(s.bucket.uri("big.csv")), services: services)
        #expect(error.message.contains("limits.stage_bytes"), "\(error.message)")
    }

    /// The task checks the object's header as it checks a local file's, from its first bytes.
    @Test func theTaskChecksTheObjectsHeaderAtSubmit() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        try await s.bucket.put("diamonds.csv", "carat,depth\n0.3,61\n0.4,62\n")
        var services = s.services
        services.trainers = TrainyardApp.defaultTrainers(services.configuration)
        let spec = """
        name: prices
        task: tabular-regression
        data:
          train: \(s.bucket.uri("diamonds.csv"))
          target: price
        """
        let error = try await s.refusal(spec, services: services)
        #expect(error.details.first?.path == "data.train")
        #expect(error.message.contains("price") && error.message.contains("diamonds.csv"), "\(error.message)")
    }

    @Test func withoutS3OrWithoutCredentialsS3DataIsRefusedSayingSo() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        try await s.bucket.put("train.csv", Harness.csv)
        let text = s.spec(s.bucket.uri("train.csv"))
        var none = s.services
        none.dataObjects = nil
        let unconfigured = try await s.refusal(text, services: none)
        #expect(unconfigured.details.first?.path == "data.train")
        #expect(unconfigured.message.contains("needs S3"), "\(unconfigured.message)")

        var anonymous = s.services
        anonymous.dataObjects = try s.bucket.dataObjects(["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
        let noCredentials = try await s.refusal(text, services: anonymous)
        #expect(noCredentials.code == .invalidSpec && noCredentials.details.first?.path == "data.train")
        #expect(noCredentials.message.contains("no S3 credentials") && noCredentials.message.contains(s.bucket.uri("train.csv")), "\(noCredentials.message)")
        #expect(!noCredentials.message.contains(MotoBucket.environment("AWS_SECRET_ACCESS_KEY") ?? "testing-secret-never"))
    }

    /// Over HTTP to a server others can reach, a spec may name s3:// data, and still no local
    /// file outside server.data_roots: allowing S3 loosened nothing else.
    @Test func aRestrictedSubmitterTakesS3DataButStillNoLocalFiles() async throws {
        let s = try await Setup()
        defer { s.bucket.remove() }
        try await s.bucket.put("train.csv", Harness.csv)
        let restricted = DataAccessPolicy.restricted(to: [])
        let job = try await s.submit(s.spec(s.bucket.uri("train.csv")), access: restricted, base: false)
        #expect(job.spec.staged.first?.etag != nil)
        let local = s.folder.appendingPathComponent("data/train.csv").path
        do {
            _ = try await s.submit(s.spec(local), access: restricted, base: false)
            Issue.record("a local file was accepted from a restricted submitter")
        } catch let error as TrainyardError {
            #expect(error.code == .forbidden)
        }
    }
}
