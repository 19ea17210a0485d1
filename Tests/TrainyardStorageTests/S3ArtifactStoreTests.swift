import Foundation
import Testing
import TrainyardAWS
@testable import TrainyardAWSBackends
import TrainyardCore
import TrainyardTestServices

/// What only the S3 store has to show: publication under concurrency and after a publisher
/// died mid-copy, where its bookkeeping lives, and its scoping. (The port's contract runs in
/// `ArtifactStoreContractTests` with the `s3` backend.)
@Suite("S3 artifact store", .s3BucketsDeleted, .enabled(if: TestService.aws.shouldRun, Comment(rawValue: TestService.aws.skipReason)))
struct S3ArtifactStoreTests {
    static func stage(_ store: S3ArtifactStore, job: Int, attempt: Int, files: [String: String]) async throws -> String {
        let prefix = "staging/jobs/\(job)/attempt-\(attempt)/"
        for (name, content) in files { try await store.put(prefix + name, data: Data(content.utf8)) }
        return prefix
    }

    @Test func exactlyOneOfManyConcurrentPublishersWins() async throws {
        let store = try await S3TestStores.open()
        var sources: [String] = []
        for attempt in 1...6 {
            sources.append(try await Self.stage(store, job: 9, attempt: attempt, files: [
                "model.bin": "weights of attempt \(attempt)", "manifest.json": "{\"attempt\":\(attempt)}", "extra/notes.txt": "\(attempt)",
            ]))
        }
        let outcomes = try await withThrowingTaskGroup(of: (String, PublicationOutcome).self) { group in
            for source in sources { group.addTask { (source, try await store.publish(source, to: "models/iris/1/")) } }
            var all: [(String, PublicationOutcome)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        let winners = outcomes.filter { $0.1 == .published }
        try #require(winners.count == 1)
        let winner = try #require(sources.firstIndex(of: winners[0].0)).advanced(by: 1)
        // The version is the winner's, whole; the losers' files are where they were.
        #expect(try await store.list(prefix: "models/") == ["models/iris/1/extra/notes.txt", "models/iris/1/manifest.json", "models/iris/1/model.bin"])
        #expect(try await store.get("models/iris/1/model.bin") == Data("weights of attempt \(winner)".utf8))
        #expect(try await store.get("models/iris/1/extra/notes.txt") == Data("\(winner)".utf8))
        #expect(try await store.list(prefix: "staging/").count == 3 * 5)
        #expect(try await store.list(prefix: winners[0].0).isEmpty)
    }

    @Test func aPublicationLeftHalfDoneIsFinishedByTheNextPublisher() async throws {
        let store = try await S3TestStores.open()
        let dead = try await Self.stage(store, job: 3, attempt: 1, files: ["a.bin": "A", "b.bin": "B", "c.bin": "C"])
        // What a publisher killed after its claim and one copy leaves behind.
        let claim = S3PublicationClaim(token: "dead", source: dead, keys: ["a.bin", "b.bin", "c.bin"], state: .pending, claimedAt: Date())
        _ = try #require(try await store.writeClaim(claim, for: "models/m/1/", condition: .ifAbsent))
        try await store.s3.putObject(bucket: store.bucket, key: store.pendingKey("models/m/1/"), body: Data("dead".utf8))
        try await store.s3.copyObject(sourceBucket: store.bucket, sourceKey: store.root + dead + "a.bin", bucket: store.bucket,
                                      key: store.root + "models/m/1/a.bin")
        // Half a version is not listed.
        #expect(try await store.list(prefix: "models/").isEmpty)
        #expect(try await store.exists("models/m/1/a.bin"))

        let late = try await Self.stage(store, job: 3, attempt: 2, files: ["a.bin": "other"])
        #expect(try await store.publish(late, to: "models/m/1/") == .occupied)
        #expect(try await store.list(prefix: "models/") == ["models/m/1/a.bin", "models/m/1/b.bin", "models/m/1/c.bin"])
        #expect(try await store.get("models/m/1/c.bin") == Data("C".utf8))
        #expect(try await store.list(prefix: dead).isEmpty)
        #expect(try await store.readClaim("models/m/1/")?.claim.state == .published)
        #expect(try await store.destinationsBeingPublished().isEmpty)
    }

    @Test func aPublicationWhoseSourceVanishedIsAbandonedAndTakenOver() async throws {
        let store = try await S3TestStores.open()
        let dead = try await Self.stage(store, job: 4, attempt: 1, files: ["a.bin": "A", "b.bin": "B"])
        let claim = S3PublicationClaim(token: "dead", source: dead, keys: ["a.bin", "b.bin"], state: .pending, claimedAt: Date())
        _ = try #require(try await store.writeClaim(claim, for: "models/m/2/", condition: .ifAbsent))
        try await store.s3.copyObject(sourceBucket: store.bucket, sourceKey: store.root + dead + "a.bin", bucket: store.bucket,
                                      key: store.root + "models/m/2/a.bin")
        // A later attempt cleared the dead one's staging before publishing its own.
        for key in try await store.list(prefix: dead) { try await store.delete(key) }
        let next = try await Self.stage(store, job: 4, attempt: 2, files: ["z.bin": "Z"])

        #expect(try await store.publish(next, to: "models/m/2/") == .published)
        #expect(try await store.list(prefix: "models/") == ["models/m/2/z.bin"])
        #expect(try await store.readClaim("models/m/2/")?.claim.token != "dead")
    }

    @Test func aVersionSetAsideCanBePublishedAgain() async throws {
        let store = try await S3TestStores.open()
        let first = try await Self.stage(store, job: 5, attempt: 1, files: ["model.bin": "first"])
        #expect(try await store.publish(first, to: "models/m/3/") == .published)
        // VersionPublication's path for an earlier attempt that published but never registered.
        #expect(try await store.publish("models/m/3/", to: "staging/jobs/5/superseded-1/") == .published)
        #expect(try await store.list(prefix: "models/").isEmpty)
        let second = try await Self.stage(store, job: 5, attempt: 2, files: ["model.bin": "second"])
        #expect(try await store.publish(second, to: "models/m/3/") == .published)
        #expect(try await store.get("models/m/3/model.bin") == Data("second".utf8))
    }

    @Test func bookkeepingLivesBesideTheNamespaceAndNamespacesAreApart() async throws {
        let dev = try await S3TestStores.open()
        let prod = S3ArtifactStore(s3: dev.s3, bucket: dev.bucket, prefix: "artifacts", namespace: try Namespace(project: "default", environment: "prod"))
        #expect(dev.location == "s3://\(dev.bucket)/artifacts/default/dev/")
        let staged = try await Self.stage(dev, job: 1, attempt: 1, files: ["model.bin": "dev"])
        #expect(try await dev.publish(staged, to: "models/m/1/") == .published)
        try await prod.put("models/m/1/model.bin", data: Data("prod".utf8))

        #expect(try await dev.list(prefix: "") == ["models/m/1/model.bin"])
        #expect(try await prod.list(prefix: "") == ["models/m/1/model.bin"])
        #expect(try await dev.get("models/m/1/model.bin") == Data("dev".utf8))
        let everything = try await dev.s3.listAllObjects(bucket: dev.bucket).map(\.key)
        #expect(everything.contains("artifacts/.trainyard/publications/default/dev/claims/models/m/1.json"))
        #expect(everything.contains("artifacts/default/prod/models/m/1/model.bin"))
    }

    @Test func s3ErrorsBecomeThePortsErrors() async throws {
        let store = try await S3TestStores.open()
        let missingBucket = S3ArtifactStore(s3: store.s3, bucket: "trainyard-no-such-bucket-\(UUID().uuidString.prefix(8).lowercased())", prefix: "")
        await #expect {
            try await missingBucket.put("jobs/1/log", data: Data("x".utf8))
        } throws: { error in
            (error as? TrainyardError)?.code == .internal && "\(error)".contains("NoSuchBucket")
        }
        await #expect { _ = try await store.get("jobs/none/log") } throws: { ($0 as? TrainyardError)?.code == .notFound }
    }
}
