import Foundation

/// Data that lives outside the artifact store and is named by URI: today objects in S3 or an
/// S3-compatible store (`s3://bucket/key`). What specs (`data.train: s3://…`), transform inputs
/// and outputs and `s3://` watches read and write; the artifact store stays the system's own.
///
/// Objects are identified the way S3 identifies them: a URI plus its ETag (and size). Whoever
/// looks at an object first (the submitter, a watch) pins that identity, and whoever reads it
/// later (a worker, maybe hours later) passes the pinned identity back: a read then fails with
/// `.conflict` naming the URI when the object was replaced in between, instead of silently
/// reading other bytes than those the job was accepted for (S3 `If-Match`).
///
/// Every write is atomic (one PUT, or one multipart upload completed at the end): a reader sees
/// the whole object or the older one, never a part. Writing the same URI again replaces the
/// object, so a retried attempt that writes deterministic names duplicates nothing.
///
/// Errors are `TrainyardError`s naming the URI:
/// - `.invalidArgument`: not a URI this store serves, or a malformed one (`s3://` without bucket);
///   also when the store has no credentials to call with (nothing to retry);
/// - `.notFound`: no such object, or no such bucket;
/// - `.forbidden`: the store refused this process access;
/// - `.conflict`: the object is no longer the one `expecting` pinned;
/// - `.payloadTooLarge`: a download over its `maximumBytes`;
/// - `.unavailable`: the store could not be reached or kept failing (worth retrying later).
///
/// Implementation: `TrainyardAWSBackends.S3DataObjects`. Runtime sees only this port, as
/// `TrainyardServices.dataObjects` (nil when this process has no S3: `s3://` is then refused
/// when submitted, saying so).
public protocol DataObjectStore: Sendable {
    /// Whether `uri` has a scheme this store serves (`s3://`). Looks at the text only.
    func serves(_ uri: String) -> Bool

    /// Up to `limit` objects whose URI starts with `prefix` (a plain string prefix, e.g.
    /// `s3://bucket/incoming/`), in key order (UTF-8 bytes), strictly after the object `cursor`
    /// names (a URI returned earlier: where a persisted listing resumes), with the cursor of the
    /// next page (nil on the last page).
    func list(under prefix: String, after cursor: String?, limit: Int) async throws -> DataObjectPage

    /// `list`, but only the objects directly in `folder` (a prefix ending in `/`), as a folder's
    /// files: keys with no further `/` after it (S3: a listing with the delimiter `/`). What a
    /// transform input `s3://bucket/prefix/` scores. A default filters `list`.
    func listFolder(_ folder: String, after cursor: String?, limit: Int) async throws -> DataObjectPage

    /// The object's identity (size, ETag, modification time); nil when there is no object at
    /// `uri` (a prefix of other keys is not an object). A missing bucket is `.notFound`.
    func head(_ uri: String) async throws -> DataObjectIdentity?

    /// Hands the object's bytes (or those of `range`, half-open byte offsets) to `consume` in
    /// order, in bounded chunks, never holding the whole object. With `expecting`, only if the
    /// object is still that one (`.conflict` otherwise, before any chunk). An error thrown by
    /// `consume` stops the read and is rethrown as is.
    @discardableResult
    func read(_ uri: String, range: Range<Int64>?, expecting identity: DataObjectIdentity?,
              chunks consume: (Data) async throws -> Void) async throws -> DataObjectRead

    /// Streams the object to the local `file` (written under a temporary name, then renamed,
    /// creating its folder), refusing objects over `maximumBytes` (`.payloadTooLarge`, no file
    /// left). With `expecting`, only if the object is still that one (`.conflict`).
    @discardableResult
    func download(_ uri: String, to file: URL, expecting identity: DataObjectIdentity?, maximumBytes: Int64) async throws -> DataObjectRead

    /// Writes the local `file` at `uri` atomically (one PUT, or a multipart upload for a large
    /// file, completed only once every part is in); returns the new object's identity.
    @discardableResult
    func write(_ uri: String, from file: URL) async throws -> DataObjectIdentity

    /// Writes `data` at `uri` atomically (small objects: `_SUCCESS.json`, error files).
    @discardableResult
    func write(_ uri: String, data: Data) async throws -> DataObjectIdentity

    /// Removes the object at `uri`; a missing object is not an error.
    func delete(_ uri: String) async throws
}

extension DataObjectStore {
    public func listFolder(_ folder: String, after cursor: String?, limit: Int) async throws -> DataObjectPage {
        let page = try await list(under: folder, after: cursor, limit: limit)
        return DataObjectPage(objects: page.objects.filter { !$0.uri.dropFirst(folder.count).contains("/") }, next: page.next)
    }
}

/// Which object, exactly: what a submitter pins and a reader checks.
public struct DataObjectIdentity: Sendable, Hashable, Codable {
    /// `s3://bucket/key`.
    public var uri: String
    public var bytes: Int64
    /// The store's version tag of these bytes (S3's ETag, with its quotes); nil if the store
    /// gave none, in which case size and modification time stand in for it.
    public var etag: String?
    public var lastModified: Date?

    public init(uri: String, bytes: Int64, etag: String?, lastModified: Date?) {
        self.uri = uri
        self.bytes = bytes
        self.etag = etag
        self.lastModified = lastModified
    }

    /// Whether `other` names the same bytes: same URI and size, and the same ETag (or, without
    /// one, the same modification time).
    public func isSameObject(as other: DataObjectIdentity) -> Bool {
        guard uri == other.uri, bytes == other.bytes else { return false }
        if let etag, let otherTag = other.etag { return etag == otherTag }
        return lastModified == other.lastModified
    }

    /// `s3://b/k@"etag"`-style text for lineage and logs: the URI and what pins it.
    public var pinnedDescription: String {
        etag.map { "\(uri) (etag \($0), \(bytes) bytes)" } ?? "\(uri) (\(bytes) bytes)"
    }
}

/// One page of a listing.
public struct DataObjectPage: Sendable, Equatable {
    public var objects: [DataObjectIdentity]
    /// Pass as `after` to get the next page; nil when this was the last one.
    public var next: String?

    public init(objects: [DataObjectIdentity], next: String?) {
        self.objects = objects
        self.next = next
    }
}

/// What a streamed read or download went through.
public struct DataObjectRead: Sendable, Equatable {
    /// The object as it was read (its ETag and whole size, even for a range).
    public var object: DataObjectIdentity
    /// Lowercase hex SHA-256 and count of the bytes handed over (of the range, for a range).
    public var sha256: String
    public var bytes: Int64

    public init(object: DataObjectIdentity, sha256: String, bytes: Int64) {
        self.object = object
        self.sha256 = sha256
        self.bytes = bytes
    }
}
