import Foundation
import Testing
import TrainyardAWS
import TrainyardTestServices

/// The S3 endpoint `scripts/services` started (moto_server), a bucket of its own per test, and
/// boto3 as an independent client to check what ours wrote (and write what ours reads).
enum MotoS3 {
    static var enabled: Bool { TestService.aws.shouldRun }
    static var skipReason: String { TestService.aws.skipReason }

    static func client(configuration: S3Client.Configuration = .init()) throws -> S3Client {
        let endpoint = try TestService.aws.require()
        let credentials = try AWSCredentials(accessKeyID: environment("AWS_ACCESS_KEY_ID") ?? "testing",
                                             secretAccessKey: environment("AWS_SECRET_ACCESS_KEY") ?? "testing")
        let aws = AWSClient(endpoint: try AWSEndpoint(service: "s3", region: "us-east-1", customURL: endpoint),
                            credentials: StaticCredentialsProvider(credentials))
        return S3Client(client: aws, configuration: configuration)
    }

    static func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }

    /// Runs `body` with a new bucket, then empties and deletes it (also when `body` throws).
    static func withBucket(configuration: S3Client.Configuration = .init(),
                           _ body: (S3Client, String) async throws -> Void) async throws {
        let s3 = try client(configuration: configuration)
        let bucket = "trainyard-test-" + UUID().uuidString.lowercased().prefix(18)
        try await s3.createBucket(bucket)
        do {
            try await body(s3, bucket)
        } catch {
            try? await empty(s3, bucket)
            throw error
        }
        try await empty(s3, bucket)
    }

    static func empty(_ s3: S3Client, _ bucket: String) async throws {
        for upload in try await s3.listMultipartUploads(bucket: bucket) {
            try await s3.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID)
        }
        let keys = try await s3.listAllObjects(bucket: bucket).map(\.key)
        try await s3.deleteObjects(bucket: bucket, keys: keys)
        try await s3.deleteBucket(bucket)
    }

    /// Runs a Python snippet with boto3 (`s3` a client for the test endpoint, `sys.argv[1:]` the
    /// arguments); returns what it printed. The shared runner (`TrainyardTestServices.Boto3`).
    @discardableResult
    static func boto3(_ script: String, _ arguments: [String] = []) async throws -> String {
        try await Boto3.run(script, arguments)
    }
}

/// `count` bytes that differ from one chunk to the next (a misplaced part changes the digest).
func patternedBytes(_ count: Int, seed: Int = 0) -> Data {
    Data((0..<count).map { UInt8(truncatingIfNeeded: ($0 &+ seed) % 251 &+ $0 / 65_536) })
}

/// `data` as a stream of `size`-byte chunks.
func chunked(_ data: Data, size: Int) -> AsyncStream<Data> {
    AsyncStream { continuation in
        var start = data.startIndex
        while start < data.endIndex {
            let end = min(start + size, data.endIndex)
            continuation.yield(data.subdata(in: start..<end))
            start = end
        }
        continuation.finish()
    }
}
