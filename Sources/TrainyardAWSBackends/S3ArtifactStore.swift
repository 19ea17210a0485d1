import Foundation
import Logging
import TrainyardAWS
import TrainyardCore

/// An `ArtifactStore` in an S3 bucket (or an S3-compatible store): the object
/// `s3://{bucket}/{prefix}/{project}/{env}/{key}` for every key, like `FileArtifactStore`'s folder.
///
/// What S3 gives: a PUT or a completed multipart upload is atomic, and a listing never shows an
/// upload in progress. Streamed writes go in multipart uploads (parts of
/// `S3Client.Configuration.partSize`, a few in flight, so memory is bounded by a few parts),
/// aborted when the stream fails or the task is cancelled. Reads stream chunk by chunk, resumed
/// after a broken connection. Digests are computed on the way.
///
/// What it adds: `publish` (put-if-absent of a whole prefix, which S3 has no one request for),
/// made safe for concurrent publishers with a claim object written with `If-None-Match: *`; see
/// `S3ArtifactStore+Publication.swift`. The claims live beside the namespace
/// (`{prefix}/.trainyard/publications/{project}/{env}/…`), never under it, so `list` never
/// shows them.
public struct S3ArtifactStore: ArtifactStore {
    public let s3: S3Client
    public let bucket: String
    /// The key prefix of this namespace's objects: `{prefix}/{project}/{env}/`.
    public let root: String
    /// Where publication claims and in-progress markers live: `{prefix}/.trainyard/publications/{project}/{env}/`.
    let publicationsRoot: String
    /// Objects copied at once while publishing.
    let copyConcurrency: Int
    /// The most `get` reads into memory.
    let maximumGetBytes: Int
    let logger: Logger

    /// - Parameters:
    ///   - prefix: the key prefix inside the bucket (`s3://bucket/prefix`), empty for the whole bucket.
    public init(s3: S3Client, bucket: String, prefix: String, namespace: Namespace = Namespace(),
                copyConcurrency: Int = 8, maximumGetBytes: Int = 1 << 30, logger: Logger = Logger(label: "trainyard.s3")) {
        var base = prefix
        while base.hasPrefix("/") { base.removeFirst() }
        if !base.isEmpty, !base.hasSuffix("/") { base += "/" }
        // The port hands chunks of at most ArtifactKeys.chunkBytes to readers.
        var configuration = s3.configuration
        if configuration.readChunkSize > ArtifactKeys.chunkBytes {
            configuration.readChunkSize = ArtifactKeys.chunkBytes
        }
        self.s3 = S3Client(client: s3.client, addressing: s3.addressing, configuration: configuration)
        self.bucket = bucket
        self.root = base + namespace.keyPrefix
        self.publicationsRoot = base + ".trainyard/publications/" + namespace.keyPrefix
        self.copyConcurrency = max(1, copyConcurrency)
        self.maximumGetBytes = maximumGetBytes
        self.logger = logger
    }

    public var location: String { "s3://\(bucket)/\(root)" }

    /// The S3 key of an artifact key, after checking it.
    func objectKey(_ key: String) throws -> String {
        try ArtifactKeys.validate(key)
        return root + key
    }

    // MARK: - Writing

    @discardableResult
    public func put(_ key: String, data: Data) async throws -> StoredObject {
        let objectKey = try objectKey(key)
        let written = try await translating(key) {
            if data.count <= s3.configuration.partSize {
                return try await s3.putObject(bucket: bucket, key: objectKey, body: data)
            }
            return try await s3.upload(bucket: bucket, key: objectKey, from: Self.slices(of: data, size: s3.configuration.partSize))
        }
        return StoredObject(key: key, sha256: written.sha256, bytes: written.bytes)
    }

    @discardableResult
    public func put(_ key: String, file: URL) async throws -> StoredObject {
        let objectKey = try objectKey(key)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isFolder), !isFolder.boolValue else {
            throw TrainyardError.notFound("file \(file.path)")
        }
        let written = try await translating(key) { try await s3.upload(bucket: bucket, key: objectKey, file: file) }
        return StoredObject(key: key, sha256: written.sha256, bytes: written.bytes)
    }

    @discardableResult
    public func put<Chunks: AsyncSequence>(_ key: String, from chunks: Chunks) async throws -> StoredObject where Chunks.Element == Data {
        let objectKey = try objectKey(key)
        let written = try await translating(key) { try await s3.upload(bucket: bucket, key: objectKey, from: chunks) }
        return StoredObject(key: key, sha256: written.sha256, bytes: written.bytes)
    }

    // MARK: - Reading

    public func get(_ key: String) async throws -> Data {
        let objectKey = try objectKey(key)
        return try await translating(key) { try await s3.getObjectData(bucket: bucket, key: objectKey, limit: maximumGetBytes) }
    }

    @discardableResult
    public func read(_ key: String, chunks consume: (Data) async throws -> Void) async throws -> StoredObject {
        let objectKey = try objectKey(key)
        let read = try await translating(key) { try await s3.getObject(bucket: bucket, key: objectKey, consume: consume) }
        return StoredObject(key: key, sha256: read.sha256, bytes: read.bytes)
    }

    /// Streams the object into a temporary file beside `file` (created 0600, with its folder
    /// 0700, at the first byte) and renames it into place after the last one; on any error the
    /// temporary file is removed, so no file appears for a missing object.
    @discardableResult
    public func download(_ key: String, to file: URL) async throws -> StoredObject {
        let objectKey = try objectKey(key)
        let target = S3DownloadFile(destination: file)
        do {
            let read = try await translating(key) {
                try await s3.getObject(bucket: bucket, key: objectKey) { chunk in try await target.write(chunk) }
            }
            try await target.commit()
            return StoredObject(key: key, sha256: read.sha256, bytes: read.bytes)
        } catch {
            target.discard()
            throw error
        }
    }

    public func exists(_ key: String) async throws -> Bool {
        let objectKey = try objectKey(key)
        return try await translating(key) { try await s3.headObject(bucket: bucket, key: objectKey) != nil }
    }

    /// Sorted keys under `prefix`, without the objects of a publication still being copied
    /// (their destination appears whole, once its claim says published).
    public func list(prefix: String) async throws -> [String] {
        let hidden = try await destinationsBeingPublished()
        let keys = try await listRaw(prefix)
        return keys.filter { key in !hidden.contains { key.hasPrefix($0) } }.sorted()
    }

    /// Every key under `prefix`, publications in progress included (what `publish` copies and deletes).
    func listRaw(_ prefix: String) async throws -> [String] {
        try await translating(prefix) {
            var keys: [String] = []
            for try await page in s3.listPages(bucket: bucket, prefix: root + prefix) {
                keys += page.objects.map { String($0.key.dropFirst(root.count)) }
            }
            return keys
        }
    }

    // MARK: - Deleting

    public func delete(_ key: String) async throws {
        let objectKey = try objectKey(key)
        try await translating(key) { try await s3.deleteObject(bucket: bucket, key: objectKey) }
    }

    // MARK: - Support

    /// `data` as parts of a multipart upload.
    static func slices(of data: Data, size: Int) -> AsyncStream<Data> {
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

    /// Runs `body`, turning S3's answers into the port's errors: a missing object is
    /// `.notFound`; an unreachable store, throttling past the retries or missing credentials is
    /// `.unavailable` (try again later); anything else S3 refused is `.internal` with S3's words.
    func translating<T>(_ key: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AWSError {
            throw S3ArtifactErrors.translate(error, key: key, location: location)
        }
    }
}

enum S3ArtifactErrors {
    static func translate(_ error: AWSError, key: String, location: String) -> TrainyardError {
        if error.isNotFound, error.code != "NoSuchBucket" {
            return TrainyardError.notFound("artifact \(key)")
        }
        switch error.kind {
        case .connection, .credentials:
            return TrainyardError(.unavailable, "the artifact store \(location) cannot be reached: \(error)")
        case .service where error.status.map { $0 >= 500 || $0 == 429 } == true:
            return TrainyardError(.unavailable, "the artifact store \(location) is unavailable: \(error)")
        default:
            return TrainyardError(.internal, "the artifact store \(location) refused a request for \(key): \(error)")
        }
    }
}
