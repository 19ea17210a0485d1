import Foundation
import Synchronization
import Testing
import TrainyardAWS
import TrainyardAWSBackends
import TrainyardCore
import TrainyardTestServices

/// S3 artifact stores for tests, on the endpoint `scripts/services` started
/// (`TRAINYARD_TEST_AWS_ENDPOINT`, moto): each store gets a bucket of its own, which
/// `.s3BucketsDeleted` empties and deletes when the test ends.
enum S3TestStores {
    /// The smallest parts S3 allows, so the contract's multi-mebibyte objects go in several parts.
    static let configuration = S3Client.Configuration(partSize: S3Client.Configuration.minimumPartSize, uploadConcurrency: 2)

    static func client() throws -> S3Client {
        let endpoint = try TestService.aws.require()
        let environment = ProcessInfo.processInfo.environment
        let credentials = try AWSCredentials(accessKeyID: environment["AWS_ACCESS_KEY_ID"] ?? "testing",
                                             secretAccessKey: environment["AWS_SECRET_ACCESS_KEY"] ?? "testing")
        let aws = AWSClient(endpoint: try AWSEndpoint(service: "s3", region: "us-east-1", customURL: endpoint),
                            credentials: StaticCredentialsProvider(credentials))
        return S3Client(client: aws, configuration: configuration)
    }

    /// A store in a new bucket, under a prefix (so the prefix handling is exercised too).
    /// A missing endpoint fails here under `TRAINYARD_REQUIRE_SERVICES=1`.
    static func open(namespace: Namespace = Namespace()) async throws -> S3ArtifactStore {
        let s3 = try client()
        guard let cleanup = S3BucketsDeleted.current else {
            Issue.record("a test opening S3 stores needs the .s3BucketsDeleted trait (its buckets would stay behind)")
            throw CancellationError()
        }
        let bucket = "trainyard-contract-" + UUID().uuidString.lowercased().prefix(20)
        try await s3.createBucket(bucket)
        cleanup.register(bucket)
        return S3ArtifactStore(s3: s3, bucket: bucket, prefix: "artifacts/", namespace: namespace)
    }

    /// Removes every object (and unfinished upload) of `bucket`, then the bucket.
    static func delete(_ bucket: String) async throws {
        let s3 = try client()
        for upload in try await s3.listMultipartUploads(bucket: bucket) {
            try await s3.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID)
        }
        try await s3.deleteObjects(bucket: bucket, keys: try await s3.listAllObjects(bucket: bucket).map(\.key))
        try await s3.deleteBucket(bucket)
    }
}

/// A test trait: the buckets `S3TestStores.open` made during each test are emptied and deleted
/// when the test ends, passed or failed.
struct S3BucketsDeleted: SuiteTrait, TestTrait, TestScoping {
    @TaskLocal static var current: Made?

    var isRecursive: Bool { true }

    final class Made: Sendable {
        private let buckets = Mutex<[String]>([])
        func register(_ bucket: String) { buckets.withLock { $0.append(bucket) } }
        var all: [String] { buckets.withLock { $0 } }
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil || !test.isSuite else { return try await function() }
        let made = Made()
        let outcome: Result<Void, any Error>
        do {
            try await Self.$current.withValue(made) { try await function() }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        for bucket in made.all {
            do { try await S3TestStores.delete(bucket) } catch { Issue.record("deleting the test bucket \(bucket): \(error)") }
        }
        try outcome.get()
    }
}

extension Trait where Self == S3BucketsDeleted {
    static var s3BucketsDeleted: Self { Self() }
}
