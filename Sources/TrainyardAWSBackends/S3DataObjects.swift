import Foundation
import Logging
import TrainyardAWS
import TrainyardCore

/// The `DataObjectStore` port on S3 (or an S3-compatible store): `s3://bucket/key` URIs read,
/// listed, written and deleted through one ``S3Client``. An object's identity is its ETag and
/// size; a read that pins one sends `If-Match`, so a replaced object fails with `.conflict`
/// before any byte arrives, and a connection broken mid-object resumes on the same version only.
///
/// Nothing is contacted when it is made: credentials are loaded (AWS's chain: environment,
/// shared files, ECS task role, EC2 instance metadata) on the first call, and a process without
/// any gets `.invalidArgument` naming where it looked, for the URI it was asked about.
public struct S3DataObjects: DataObjectStore {
    public let s3: S3Client

    public init(s3: S3Client) { self.s3 = s3 }

    /// The endpoint and credentials AWS's conventions name in `environment`; `endpoint` (the
    /// application's `TRAINYARD_S3_ENDPOINT`) comes first when given.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment, endpoint: URL? = nil,
                                       logger: Logger = Logger(label: "trainyard.s3.data")) throws -> S3DataObjects {
        let resolved = try AWSEndpoint.resolve(service: "s3", url: endpoint, environment: environment)
        let client = AWSClient(endpoint: resolved, credentials: AWSCredentialsChain.default(environment: environment, logger: logger), logger: logger)
        return S3DataObjects(s3: S3Client(client: client))
    }

    public func serves(_ uri: String) -> Bool { S3Location.isURI(uri) }

    // MARK: - Listing and heads

    public func list(under prefix: String, after cursor: String?, limit: Int) async throws -> DataObjectPage {
        try await listPage(under: prefix, after: cursor, limit: limit, delimiter: nil)
    }

    public func listFolder(_ folder: String, after cursor: String?, limit: Int) async throws -> DataObjectPage {
        try await listPage(under: folder, after: cursor, limit: limit, delimiter: "/")
    }

    func listPage(under prefix: String, after cursor: String?, limit: Int, delimiter: String?) async throws -> DataObjectPage {
        let location = try Self.location(prefix)
        var startAfter: String?
        if let cursor {
            let resumed = try Self.location(cursor)
            guard resumed.bucket == location.bucket else {
                throw TrainyardError(.invalidArgument, "the listing cursor \(clientEcho(cursor)) is not in the bucket of \(clientEcho(prefix))")
            }
            startAfter = resumed.key
        }
        let page = try await translating(prefix) {
            try await s3.listObjectsPage(bucket: location.bucket, prefix: location.key, delimiter: delimiter, startAfter: startAfter,
                                         maxKeys: min(max(limit, 1), 1000))
        }
        let objects = page.objects.map { object in
            DataObjectIdentity(uri: S3Location.uri(bucket: location.bucket, key: object.key), bytes: object.size, etag: object.eTag,
                               lastModified: object.lastModified)
        }
        // Resuming after the last key returned continues exactly where S3 stopped, and (unlike a
        // continuation token) is a cursor a watch can persist for as long as it likes. With the
        // delimiter a page may end on a "folder" (a common prefix, counted in max-keys): resuming
        // after the last object would list that folder again (a page of folders alone would end
        // the listing), so the cursor then passes every key in it (U+10FFFF sorts after any key
        // character, in UTF-8 bytes as in code points).
        var last = objects.last?.uri
        if let folder = page.commonPrefixes.last {
            let pastFolder = S3Location.uri(bucket: location.bucket, key: folder + "\u{10FFFF}")
            if last.map({ $0.utf8.lexicographicallyPrecedes(pastFolder.utf8) }) ?? true { last = pastFolder }
        }
        let next = page.nextContinuationToken == nil ? nil : last
        return DataObjectPage(objects: objects, next: next)
    }

    public func head(_ uri: String) async throws -> DataObjectIdentity? {
        let location = try Self.location(uri)
        guard !location.key.isEmpty else { return nil }
        guard let head = try await translating(uri, { try await s3.headObject(bucket: location.bucket, key: location.key) }) else {
            // HEAD answers a bare 404 for a missing bucket too: a listing tells which it is.
            try await checkBucket(location, for: uri)
            return nil
        }
        return DataObjectIdentity(uri: uri, bytes: head.contentLength, etag: head.eTag, lastModified: head.lastModified)
    }

    /// `.notFound` naming the bucket when it does not exist.
    func checkBucket(_ location: S3Location, for uri: String) async throws {
        _ = try await translating(uri) { try await s3.listObjectsPage(bucket: location.bucket, prefix: location.key, maxKeys: 1) }
    }

    // MARK: - Reading

    @discardableResult
    public func read(_ uri: String, range: Range<Int64>?, expecting identity: DataObjectIdentity?,
                     chunks consume: (Data) async throws -> Void) async throws -> DataObjectRead {
        let location = try Self.location(uri)
        if let range, range.lowerBound < 0 {
            throw TrainyardError(.invalidArgument, "\(clientEcho(uri)): byte range \(range) starts before the object")
        }
        let read = try await translating(uri) {
            try await s3.getObject(bucket: location.bucket, key: location.key, range: range, ifMatch: identity?.etag, consume: consume)
        }
        let object = DataObjectIdentity(uri: uri, bytes: read.objectSize, etag: read.head.eTag, lastModified: read.head.lastModified)
        if let identity { try Self.check(object, isStill: identity) }
        return DataObjectRead(object: object, sha256: read.sha256, bytes: read.bytes)
    }

    @discardableResult
    public func download(_ uri: String, to file: URL, expecting identity: DataObjectIdentity?, maximumBytes: Int64) async throws -> DataObjectRead {
        if let identity, identity.bytes > maximumBytes { throw Self.tooLarge(uri, bytes: identity.bytes, limit: maximumBytes) }
        let folder = file.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(file.lastPathComponent).download-\(UUID().uuidString.prefix(8))")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw TrainyardError(.internal, "cannot create \(temporary.path) to download \(clientEcho(uri)) into")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            var written: Int64 = 0
            let read = try await self.read(uri, range: nil, expecting: identity) { chunk in
                written += Int64(chunk.count)
                if written > maximumBytes { throw Self.tooLarge(uri, bytes: written, limit: maximumBytes) }
                try handle.write(contentsOf: chunk)
            }
            try handle.synchronize()
            if FileManager.default.fileExists(atPath: file.path) { try FileManager.default.removeItem(at: file) }
            try FileManager.default.moveItem(at: temporary, to: file)
            return read
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    // MARK: - Writing

    @discardableResult
    public func write(_ uri: String, from file: URL) async throws -> DataObjectIdentity {
        let location = try Self.objectLocation(uri)
        let written = try await translating(uri) { try await s3.upload(bucket: location.bucket, key: location.key, file: file) }
        return DataObjectIdentity(uri: uri, bytes: written.bytes, etag: written.eTag, lastModified: nil)
    }

    @discardableResult
    public func write(_ uri: String, data: Data) async throws -> DataObjectIdentity {
        let location = try Self.objectLocation(uri)
        let written = try await translating(uri) { try await s3.putObject(bucket: location.bucket, key: location.key, body: data) }
        return DataObjectIdentity(uri: uri, bytes: written.bytes, etag: written.eTag, lastModified: nil)
    }

    public func delete(_ uri: String) async throws {
        let location = try Self.objectLocation(uri)
        try await translating(uri) { try await s3.deleteObject(bucket: location.bucket, key: location.key) }
    }

    // MARK: - Errors

    static func location(_ uri: String) throws(TrainyardError) -> S3Location {
        do {
            return try S3Location(parsing: uri)
        } catch {
            throw TrainyardError(.invalidArgument, error.message)
        }
    }

    /// A location that names an object (a key), not a bucket.
    static func objectLocation(_ uri: String) throws(TrainyardError) -> S3Location {
        let location = try location(uri)
        guard !location.key.isEmpty, !location.key.hasSuffix("/") else {
            throw TrainyardError(.invalidArgument, "\(clientEcho(uri)) names no object (a bucket or a prefix ending in /)")
        }
        return location
    }

    /// A read that pinned an object without an ETag compares size and modification time.
    static func check(_ object: DataObjectIdentity, isStill pinned: DataObjectIdentity) throws(TrainyardError) {
        guard object.bytes == pinned.bytes, pinned.etag != nil || object.lastModified == pinned.lastModified else {
            throw changed(object.uri, pinned: pinned)
        }
    }

    static func changed(_ uri: String, pinned: DataObjectIdentity?) -> TrainyardError {
        let was = pinned.map { " (it was \($0.etag.map { "ETag \($0), " } ?? "")\($0.bytes) bytes)" } ?? ""
        return TrainyardError(.conflict, "\(clientEcho(uri)) changed since it was listed\(was): the object was replaced or rewritten")
    }

    static func tooLarge(_ uri: String, bytes: Int64, limit: Int64) -> TrainyardError {
        TrainyardError(.payloadTooLarge, "\(clientEcho(uri)) holds \(bytes) bytes or more, over the \(limit) allowed (limits.stage_bytes)")
    }

    /// Runs `body`, turning S3's answers into the port's errors, each naming `uri`.
    func translating<T>(_ uri: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AWSError {
            throw Self.translate(error, uri: uri)
        }
    }

    static func translate(_ error: AWSError, uri: String) -> TrainyardError {
        let shown = clientEcho(uri)
        if error.kind == .credentials {
            return TrainyardError(.invalidArgument, "\(shown): this process has no S3 credentials: \(error.message)")
        }
        if error.kind == .configuration {
            return TrainyardError(.invalidArgument, "\(shown): \(error.message)")
        }
        if error.isPreconditionFailed { return changed(uri, pinned: nil) }
        if error.code == "NoSuchBucket" {
            let bucket = (try? S3Location(parsing: uri))?.bucket ?? uri
            return TrainyardError(.notFound, "\(shown): the bucket \(clientEcho(bucket)) does not exist")
        }
        if error.isNotFound { return TrainyardError(.notFound, "\(shown): no such object") }
        if error.status == 416 || error.code == "InvalidRange" {
            return TrainyardError(.conflict, "\(shown): the byte range asked for is past the object's end (it changed since it was listed)")
        }
        if error.status == 403 || error.code == "AccessDenied" {
            return TrainyardError(.forbidden, "\(shown): S3 refused this process access (\(error.code ?? "403"): \(error.message))")
        }
        if error.status == 400 {
            return TrainyardError(.invalidArgument, "\(shown): S3 refused the request (\(error.code ?? "400"): \(error.message))")
        }
        return TrainyardError(.unavailable, "\(shown): S3 could not be reached or kept failing: \(error)")
    }
}

extension S3Location {
    /// `s3://bucket/key` for a key listed in `bucket` (bucket names were checked when parsed).
    static func uri(bucket: String, key: String) -> String { "s3://\(bucket)/\(key)" }
}
