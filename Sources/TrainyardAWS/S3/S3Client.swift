import Crypto
import Foundation
import Logging

/// Amazon S3 (or an S3-compatible store) spoken directly over ``AWSClient``: objects written,
/// read as streams, listed page by page, copied and deleted; large objects in multipart uploads
/// with several parts in flight. Every body is signed with its SHA-256
/// (`x-amz-content-sha256`), and every write and streamed read returns the SHA-256 and size of
/// the bytes that went through, computed on the way.
///
/// ```swift
/// let s3 = S3Client(client: AWSClient(endpoint: try .resolve(service: "s3"), credentials: AWSCredentialsChain.default()))
/// let location = try S3Location(parsing: "s3://my-bucket/data/train.csv")
/// try await s3.getObject(bucket: location.bucket, key: location.key) { chunk in … }
/// for try await page in s3.listPages(bucket: "my-bucket", prefix: "data/") { … }
/// ```
///
/// Safe to share between tasks; one per endpoint.
public struct S3Client: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Bytes per part of a multipart upload (S3: 5 MiB … 5 GiB, at most 10,000 parts).
        public var partSize: Int
        /// Parts uploaded at once; memory held by one upload is about `partSize × (concurrency + 1)`.
        public var uploadConcurrency: Int
        /// The largest chunk a streamed read hands over (small network buffers are joined up to it).
        public var readChunkSize: Int
        /// Objects larger than this are copied part by part (CopyObject stops at 5 GiB).
        public var maximumSingleCopyBytes: Int64
        /// Bytes per part of a multipart copy.
        public var copyPartSize: Int64

        public init(partSize: Int = 8 << 20, uploadConcurrency: Int = 4, readChunkSize: Int = 1 << 20,
                    maximumSingleCopyBytes: Int64 = 5 << 30, copyPartSize: Int64 = 512 << 20) {
            self.partSize = max(Self.minimumPartSize, partSize)
            self.uploadConcurrency = max(1, uploadConcurrency)
            self.readChunkSize = max(1, readChunkSize)
            self.maximumSingleCopyBytes = max(1, maximumSingleCopyBytes)
            self.copyPartSize = max(Int64(Self.minimumPartSize), copyPartSize)
        }

        /// S3 refuses parts (other than the last) under 5 MiB.
        public static let minimumPartSize = 5 << 20
        /// S3 refuses a multipart upload with more parts than this.
        public static let maximumParts = 10_000
    }

    public let client: AWSClient
    public let addressing: S3Addressing
    public let configuration: Configuration

    public init(client: AWSClient, addressing: S3Addressing = .automatic, configuration: Configuration = Configuration()) {
        self.client = client
        self.addressing = addressing
        self.configuration = configuration
    }

    var logger: Logger { client.logger }

    // MARK: - Requests

    /// A request for `key` in `bucket` (`key` empty: the bucket itself), addressed per ``addressing``.
    func request(_ operation: String, _ method: String, bucket: String, key: String = "",
                 query: [(name: String, value: String?)] = [], headers: [HTTPField] = [], body: Data = Data(),
                 payloadHash: SigV4PayloadHash? = nil) -> AWSRequest {
        let pathStyle = addressing.usesPathStyle(bucket: bucket, endpoint: client.endpoint)
        let path: String
        if pathStyle {
            path = key.isEmpty ? "/\(bucket)" : "/\(bucket)/\(key)"
        } else {
            path = "/\(key)"
        }
        return AWSRequest(operation: operation, method: method, path: path, query: query, headers: headers, body: body,
                          payloadHash: payloadHash, hostPrefix: pathStyle ? "" : "\(bucket).")
    }

    // MARK: - Buckets

    /// Creates `bucket` in the client's region. An existing bucket of this account is fine.
    public func createBucket(_ bucket: String) async throws {
        var body = Data()
        if client.endpoint.region != "us-east-1" {
            body = Data("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(client.endpoint.region.xmlEscaped)</LocationConstraint></CreateBucketConfiguration>".utf8)
        }
        do {
            _ = try await client.send(request("CreateBucket", "PUT", bucket: bucket, body: body))
        } catch let error as AWSError where error.code == "BucketAlreadyOwnedByYou" {
            return
        }
    }

    /// Deletes an empty bucket.
    public func deleteBucket(_ bucket: String) async throws {
        _ = try await client.send(request("DeleteBucket", "DELETE", bucket: bucket))
    }

    // MARK: - Single objects

    /// Writes `body` at `key` in one request (up to 5 GiB; use ``upload(bucket:key:from:contentType:)``
    /// for streams and large objects), with its SHA-256 in the signature and its CRC-32 for S3 to check.
    @discardableResult
    public func putObject(bucket: String, key: String, body: Data, contentType: String? = nil,
                          condition: S3WriteCondition? = nil, metadata: [String: String] = [:]) async throws -> S3WriteResult {
        let digest = SHA256.hash(data: body)
        let hex = Hex.lowercase(digest)
        var headers: [HTTPField] = []
        if let contentType { headers.append(HTTPField("Content-Type", contentType)) }
        if let condition { headers.append(condition.header) }
        // S3 checks the CRC-32 on arrival; `x-amz-sdk-checksum-algorithm` names it, as the SDKs do.
        headers.append(HTTPField("x-amz-sdk-checksum-algorithm", "CRC32"))
        headers.append(HTTPField("x-amz-checksum-crc32", S3ChecksumCRC32.of(body).base64))
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) { headers.append(HTTPField("x-amz-meta-\(name)", value)) }
        let response = try await client.send(request("PutObject", "PUT", bucket: bucket, key: key, headers: headers, body: body,
                                                     payloadHash: try SigV4PayloadHash(hexSHA256: hex)))
        return S3WriteResult(eTag: response.header("etag"), sha256: hex, bytes: Int64(body.count))
    }

    /// The object's head; `nil` if there is no object at `key`.
    public func headObject(bucket: String, key: String) async throws -> S3ObjectHead? {
        do {
            let response = try await client.send(request("HeadObject", "HEAD", bucket: bucket, key: key))
            return S3ObjectHead(response.head)
        } catch let error as AWSError where error.isNotFound {
            return nil
        }
    }

    /// The whole object in memory, refused beyond `limit` bytes. Throws ``AWSError`` with
    /// ``AWSError/isNotFound`` when absent.
    public func getObjectData(bucket: String, key: String, limit: Int = 64 << 20) async throws -> Data {
        try await client.send(request("GetObject", "GET", bucket: bucket, key: key)) { head, body in
            if let length = head.header("content-length").flatMap(Int.init), length > limit {
                throw AWSError(.invalidResponse, "s3://\(bucket)/\(key) holds \(length) bytes, more than the \(limit) read into memory")
            }
            return try await body.collect(upTo: limit)
        }
    }

    /// Removes the object at `key`; a missing key is not an error (S3 says 204 either way).
    public func deleteObject(bucket: String, key: String) async throws {
        _ = try await client.send(request("DeleteObject", "DELETE", bucket: bucket, key: key))
    }

    /// Removes `keys` with DeleteObjects, 1,000 per request. Returns the keys S3 could not
    /// delete, with its reason; missing keys count as deleted.
    @discardableResult
    public func deleteObjects(bucket: String, keys: [String]) async throws -> [(key: String, error: String)] {
        var failures: [(key: String, error: String)] = []
        var start = 0
        while start < keys.count {
            let batch = keys[start..<min(start + 1000, keys.count)]
            start += batch.count
            var xml = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            for key in batch { xml += "<Object><Key>\(key.xmlEscaped)</Key></Object>" }
            xml += "</Delete>"
            let body = Data(xml.utf8)
            // DeleteObjects requires a checksum of its body; Content-MD5 is the one every S3-compatible store knows.
            let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
            let response = try await client.send(request("DeleteObjects", "POST", bucket: bucket, query: [("delete", nil)],
                                                         headers: [HTTPField("Content-MD5", md5), HTTPField("Content-Type", "application/xml")],
                                                         body: body))
            let root = try Self.parseXML(response.body, what: "DeleteObjects")
            for error in root.children("Error") {
                failures.append((error.text(of: "Key") ?? "?", "\(error.text(of: "Code") ?? "?"): \(error.text(of: "Message") ?? "")"))
            }
        }
        return failures
    }

    // MARK: - Helpers

    static func parseXML(_ body: Data, what: String) throws -> AWSXMLElement {
        do {
            return try AWSXML.parse(body)
        } catch {
            throw AWSError(.invalidResponse, "the answer to \(what) is not readable XML: \(error)")
        }
    }

    /// `a%20b%2Bc` → `a b+c`: keys in listings asked with `encoding-type=url` (spaces may come as `+`).
    static func urlDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
