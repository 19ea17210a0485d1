import Crypto
import Foundation
import Synchronization
import Testing
@testable import TrainyardAWS
import TrainyardTestServices

func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

/// The S3 client against moto, with boto3 as the independent reader and writer.
@Suite("S3 client (moto)", .enabled(if: MotoS3.enabled, Comment(rawValue: MotoS3.skipReason)))
struct S3ClientMotoTests {
    /// The smallest parts S3 allows, two in flight: 3 parts from 10 MiB + a bit.
    static let smallParts = S3Client.Configuration(partSize: 5 << 20, uploadConcurrency: 2, readChunkSize: 256 << 10)

    @Test func aMultipartUploadOfThreePartsReadsBackWithItsSHA256() async throws {
        try await MotoS3.withBucket(configuration: Self.smallParts) { s3, bucket in
            let payload = patternedBytes(2 * (5 << 20) + 123_457)
            let written = try await s3.upload(bucket: bucket, key: "models/big/1/model.bin", from: chunked(payload, size: 300_000))
            #expect(written.sha256 == sha256Hex(payload))
            #expect(written.bytes == Int64(payload.count))
            // A multipart object's ETag ends in -<parts>.
            #expect(written.eTag?.hasSuffix("-3\"") == true)

            var sizes: [Int] = []
            var received = Data()
            let read = try await s3.getObject(bucket: bucket, key: "models/big/1/model.bin") { chunk in
                sizes.append(chunk.count)
                received.append(chunk)
            }
            #expect(read.sha256 == written.sha256)
            #expect(read.bytes == written.bytes)
            #expect(received == payload)
            #expect(sizes.count > 1 && sizes.allSatisfy { $0 <= 256 << 10 })
            #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)

            // boto3 agrees, byte for byte.
            let independent = try await MotoS3.boto3("""
            print(hashlib.sha256(s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])["Body"].read()).hexdigest())
            """, [bucket, "models/big/1/model.bin"])
            #expect(independent == sha256Hex(payload))

            // Each part went with its CRC-32, the upload named CRC32, and the object keeps a
            // composite checksum: S3 (here moto, with zlib) computes the CRC-32 of the parts'
            // big-endian CRC-32s. Computing it from ours checks them against zlib's.
            var composite = S3ChecksumCRC32()
            for start in stride(from: 0, to: payload.count, by: 5 << 20) {
                let part = payload.subdata(in: start..<min(start + (5 << 20), payload.count))
                withUnsafeBytes(of: S3ChecksumCRC32.of(part).value.bigEndian) { composite.update($0) }
            }
            let stored = try await MotoS3.boto3("""
            h = s3.head_object(Bucket=sys.argv[1], Key=sys.argv[2], ChecksumMode="ENABLED")
            print(h.get("ChecksumCRC32"))
            """, [bucket, "models/big/1/model.bin"])
            // AWS appends the part count ("…-3"); moto does not.
            #expect(stored.split(separator: "-").first.map(String.init) == composite.base64)
        }
    }

    @Test func boto3ReadsWhatWeWroteUnderAnAwkwardKey() async throws {
        try await MotoS3.withBucket { s3, bucket in
            let key = "data/ünï cødé+1 (copy)/a=b&c.csv"
            let payload = Data("id,value\n1,2\n".utf8)
            try await s3.putObject(bucket: bucket, key: key, body: payload, contentType: "text/csv")
            let answer = try await MotoS3.boto3("""
            o = s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])
            print(hashlib.sha256(o["Body"].read()).hexdigest(), o["ContentType"])
            """, [bucket, key])
            #expect(answer == "\(sha256Hex(payload)) text/csv")
            // The single PUT carried the payload's CRC-32, which zlib agrees with.
            let checksums = try await MotoS3.boto3("""
            h = s3.head_object(Bucket=sys.argv[1], Key=sys.argv[2], ChecksumMode="ENABLED")
            body = s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])["Body"].read()
            print(h.get("ChecksumCRC32"), base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode())
            """, [bucket, key])
            let crc = S3ChecksumCRC32.of(payload).base64
            #expect(checksums == "\(crc) \(crc)")
            #expect(try await s3.listAllObjects(bucket: bucket).map(\.key) == [key])
        }
    }

    @Test func weReadWhatBoto3Wrote() async throws {
        try await MotoS3.withBucket { s3, bucket in
            let answer = try await MotoS3.boto3("""
            body = bytes((i * 7 + 3) % 256 for i in range(3_000_001))
            s3.put_object(Bucket=sys.argv[1], Key="from boto3/blob.bin", Body=body)
            print(hashlib.sha256(body).hexdigest())
            """, [bucket])
            let read = try await s3.getObject(bucket: bucket, key: "from boto3/blob.bin") { _ in }
            #expect(read.sha256 == answer)
            #expect(read.bytes == 3_000_001)
            let head = try #require(try await s3.headObject(bucket: bucket, key: "from boto3/blob.bin"))
            #expect(head.contentLength == 3_000_001)
            #expect(try await s3.getObjectData(bucket: bucket, key: "from boto3/blob.bin").count == 3_000_001)
        }
    }

    @Test func listingsArePagedWithContinuationTokens() async throws {
        try await MotoS3.withBucket { s3, bucket in
            // 23 keys, one "folder" deeper, written concurrently.
            let keys = (0..<23).map { String(format: "logs/%03d.txt", $0) } + ["logs/deeper/x.txt", "other/y.txt"]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for key in keys { group.addTask { try await s3.putObject(bucket: bucket, key: key, body: Data(key.utf8)) } }
                try await group.waitForAll()
            }
            var pages: [S3ListPage] = []
            for try await page in s3.listPages(bucket: bucket, prefix: "logs/", pageSize: 10) { pages.append(page) }
            #expect(pages.map(\.objects.count) == [10, 10, 4])
            #expect(pages.dropLast().allSatisfy { $0.nextContinuationToken != nil })
            #expect(pages.last?.nextContinuationToken == nil)
            #expect(pages.flatMap(\.objects).map(\.key) == keys.filter { $0.hasPrefix("logs/") }.sorted())
            #expect(pages.first?.objects.first?.size == Int64("logs/000.txt".utf8.count))

            // Resuming after a key (a persisted listing cursor), and folders with a delimiter.
            let resumed = try await s3.listObjectsPage(bucket: bucket, prefix: "logs/", startAfter: "logs/020.txt")
            #expect(resumed.objects.map(\.key) == ["logs/021.txt", "logs/022.txt", "logs/deeper/x.txt"])
            let folders = try await s3.listObjectsPage(bucket: bucket, delimiter: "/")
            #expect(folders.commonPrefixes == ["logs/", "other/"])
            #expect(folders.objects.isEmpty)
        }
    }

    @Test func moreThanAThousandKeysAreListedAcrossPages() async throws {
        try await MotoS3.withBucket { s3, bucket in
            _ = try await MotoS3.boto3("""
            for i in range(1_050):
                s3.put_object(Bucket=sys.argv[1], Key="many/%05d" % i, Body=b"")
            """, [bucket])
            var pageSizes: [Int] = []
            for try await page in s3.listPages(bucket: bucket, prefix: "many/") { pageSizes.append(page.objects.count) }
            #expect(pageSizes == [1000, 50])
            let all = try await s3.listAllObjects(bucket: bucket, prefix: "many/")
            #expect(all.count == 1_050)
            #expect(Set(all.map(\.key)).count == 1_050)
            #expect(try await s3.deleteObjects(bucket: bucket, keys: all.map(\.key)).isEmpty)
            #expect(try await s3.listAllObjects(bucket: bucket, prefix: "many/").isEmpty)
        }
    }

    struct ProducerFailed: Error {}

    @Test func aFailedStreamAbortsTheUploadAndWritesNothing() async throws {
        try await MotoS3.withBucket(configuration: Self.smallParts) { (s3: S3Client, bucket: String) async throws in
            let (input, feed) = AsyncThrowingStream<Data, any Error>.makeStream()
            feed.yield(patternedBytes(6 << 20))
            feed.yield(patternedBytes(5 << 20, seed: 1))
            feed.finish(throwing: ProducerFailed())
            await #expect(throws: ProducerFailed.self) { try await s3.upload(bucket: bucket, key: "half.bin", from: input) }
            #expect(try await s3.headObject(bucket: bucket, key: "half.bin") == nil)
            #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
        }
    }

    @Test func aCancelledUploadAbortsAndWritesNothing() async throws {
        try await MotoS3.withBucket(configuration: Self.smallParts) { (s3: S3Client, bucket: String) async throws in
            let (input, feed) = AsyncStream<Data>.makeStream()
            let (pulled, pull) = AsyncStream<Void>.makeStream()
            let chunks = input.map { chunk in pull.yield(); return chunk }
            let writer = Task { try await s3.upload(bucket: bucket, key: "cancelled.bin", from: chunks) }
            var pulls = pulled.makeAsyncIterator()
            // Enough for one part to be sent, so a multipart upload exists when the task is cancelled.
            for seed in 0..<3 {
                feed.yield(patternedBytes(3 << 20, seed: seed))
                _ = await pulls.next()
            }
            writer.cancel()
            await #expect(throws: CancellationError.self) { try await writer.value }
            feed.finish()
            #expect(try await s3.headObject(bucket: bucket, key: "cancelled.bin") == nil)
            #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
        }
    }

    @Test func conditionalWritesLetOneWriterWin() async throws {
        try await MotoS3.withBucket { s3, bucket in
            let first = try await s3.putObject(bucket: bucket, key: "claim", body: Data("one".utf8), condition: .ifAbsent)
            let lost = await #expect(throws: AWSError.self) {
                try await s3.putObject(bucket: bucket, key: "claim", body: Data("two".utf8), condition: .ifAbsent)
            }
            #expect(lost?.isPreconditionFailed == true)
            let stale = await #expect(throws: AWSError.self) {
                try await s3.putObject(bucket: bucket, key: "claim", body: Data("three".utf8), condition: .ifMatch(eTag: "\"0000\""))
            }
            #expect(stale?.isPreconditionFailed == true)
            try await s3.putObject(bucket: bucket, key: "claim", body: Data("four".utf8), condition: .ifMatch(eTag: try #require(first.eTag)))
            #expect(try await s3.getObjectData(bucket: bucket, key: "claim") == Data("four".utf8))
        }
    }

    @Test func copyHeadAndDelete() async throws {
        try await MotoS3.withBucket { s3, bucket in
            let written = try await s3.putObject(bucket: bucket, key: "a/source file.bin", body: patternedBytes(70_000),
                                                 metadata: ["origin": "test"])
            try await s3.copyObject(sourceBucket: bucket, sourceKey: "a/source file.bin", bucket: bucket, key: "b/copy.bin",
                                    sourceETag: written.eTag)
            #expect(try await s3.getObjectData(bucket: bucket, key: "b/copy.bin") == patternedBytes(70_000))
            let head = try #require(try await s3.headObject(bucket: bucket, key: "a/source file.bin"))
            #expect(head.contentLength == 70_000)
            #expect(head.eTag == written.eTag)
            #expect(head.metadata["origin"] == "test")
            // (x-amz-copy-source-if-match is sent, but moto ignores it, so it is not checked here.)

            try await s3.deleteObject(bucket: bucket, key: "a/source file.bin")
            try await s3.deleteObject(bucket: bucket, key: "a/source file.bin") // missing is fine
            #expect(try await s3.headObject(bucket: bucket, key: "a/source file.bin") == nil)
            let missing = await #expect(throws: AWSError.self) { try await s3.getObject(bucket: bucket, key: "a/source file.bin") { _ in } }
            #expect(missing?.isNotFound == true)
            #expect(try await s3.listAllObjects(bucket: bucket).map(\.key) == ["b/copy.bin"])
        }
    }

    @Test func aLocalFileIsUploadedInParts() async throws {
        try await MotoS3.withBucket(configuration: Self.smallParts) { s3, bucket in
            let payload = patternedBytes(11 << 20, seed: 5)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("s3-upload-\(UUID().uuidString)")
            try payload.write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let written = try await s3.upload(bucket: bucket, key: "from-file.bin", file: file)
            #expect(written.sha256 == sha256Hex(payload))
            #expect(written.eTag?.hasSuffix("-3\"") == true)
            #expect(try await s3.getObject(bucket: bucket, key: "from-file.bin") { _ in }.sha256 == sha256Hex(payload))
        }
    }
}

/// What does not need a server: addressing, locations, XML.
@Suite("S3 client requests")
struct S3ClientRequestTests {
    static func s3(_ endpoint: AWSEndpoint, _ addressing: S3Addressing = .automatic) throws -> S3Client {
        S3Client(client: AWSClient(endpoint: endpoint, credentials: StaticCredentialsProvider(try AWSCredentials(accessKeyID: "A", secretAccessKey: "s"))),
                 addressing: addressing)
    }

    @Test func addressingIsVirtualHostedOnAWSAndPathStyleOnCustomEndpoints() throws {
        let aws = try Self.s3(try AWSEndpoint(service: "s3", region: "eu-west-1"))
        let virtual = aws.request("GetObject", "GET", bucket: "my-bucket", key: "a b/c.txt")
        #expect(virtual.hostPrefix == "my-bucket.")
        #expect(virtual.path == "/a b/c.txt")
        #expect(try aws.client.url(for: virtual).absoluteString == "https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/c.txt")
        // A dotted bucket would break TLS name matching in the host: path-style.
        let dotted = aws.request("GetObject", "GET", bucket: "my.bucket", key: "k")
        #expect(dotted.hostPrefix.isEmpty && dotted.path == "/my.bucket/k")
        let forced = try Self.s3(try AWSEndpoint(service: "s3", region: "eu-west-1"), .pathStyle).request("GetObject", "GET", bucket: "b-1", key: "k")
        #expect(forced.hostPrefix.isEmpty && forced.path == "/b-1/k")

        let custom = try Self.s3(try AWSEndpoint(service: "s3", region: "us-east-1", customURL: URL(string: "http://127.0.0.1:9000/base/")!))
        let request = custom.request("ListObjectsV2", "GET", bucket: "bucket", query: [("list-type", "2"), ("prefix", "a+b c"), ("uploads", nil)])
        #expect(try custom.client.url(for: request).absoluteString == "http://127.0.0.1:9000/base/bucket?list-type=2&prefix=a%2Bb%20c&uploads")
    }

    @Test func s3LocationsParse() throws {
        let location = try S3Location(parsing: "s3://my-bucket/data/train.csv")
        #expect(location.bucket == "my-bucket" && location.key == "data/train.csv")
        #expect(try S3Location(parsing: "s3://my-bucket").key == "")
        #expect(try S3Location(parsing: "s3://my-bucket/").key == "")
        #expect(try S3Location(parsing: "s3://b-1/p/").appending("x.csv").description == "s3://b-1/p/x.csv")
        #expect(throws: AWSError.self) { try S3Location(parsing: "s3://UPPER/x") }
        #expect(throws: AWSError.self) { try S3Location(parsing: "http://b/x") }
        #expect(throws: AWSError.self) { try S3Location(parsing: "s3:///x") }
    }

    @Test func listingKeysAreURLDecoded() {
        #expect(S3Client.urlDecoded("a%20b%2Bc+d/%C3%BC") == "a b+c d/ü")
    }

    @Test func aBrokenDownloadResumesFromTheNextByteOfTheSameObject() async throws {
        let payload = patternedBytes(100_000)
        let server = try await FakeHTTPServer.start { request in
            let eTag = ("ETag", "\"v1\"")
            guard let range = request.headers["range"] else {
                return .truncated(status: 200, headers: [eTag], body: payload, sent: 40_000)
            }
            guard request.headers["if-match"] == "\"v1\"", range.hasPrefix("bytes="), let start = Int(range.dropFirst(6).dropLast()) else {
                return .status(400)
            }
            return .answer(status: 206, headers: [eTag], body: payload.dropFirst(start))
        }
        defer { Task { try? await server.stop() } }
        let aws = AWSClient(endpoint: try AWSEndpoint(service: "s3", region: "us-east-1", customURL: server.url),
                            credentials: StaticCredentialsProvider(try AWSCredentials(accessKeyID: "A", secretAccessKey: "s")),
                            configuration: .init(retry: AWSRetryPolicy(maximumAttempts: 3, baseDelay: .milliseconds(1))))
        let s3 = S3Client(client: aws, configuration: .init(readChunkSize: 16_384))
        var received = Data()
        let read = try await s3.getObject(bucket: "b", key: "k") { received.append($0) }
        #expect(received == payload)
        #expect(read.sha256 == sha256Hex(payload))
        #expect(server.requests.count == 2)
        #expect(try #require(server.requests.last?.headers["range"]).hasPrefix("bytes="))
    }
}
