import Foundation

/// Where artifacts live: a folder, or (later) an S3 bucket. Keys are `/`-separated relative
/// paths (`models/iris/3/model.bin`, checked by `ArtifactKeys.validate`); the store is already
/// scoped to its namespace.
///
/// Writes are atomic: a reader sees the whole object or none of it, and `list` never shows an
/// object still being written. Large objects never need to be held whole in memory: they go in
/// from a local file or a sequence of chunks, and come out to a local file or chunk by chunk.
/// Every write and every streamed read returns the sha256 and size it computed on the way, so
/// no caller has to read the bytes a second time to hash them.
///
/// Every backend passes the same suite (`Tests/TrainyardStorageTests/ArtifactStoreContractTests.swift`).
public protocol ArtifactStore: Sendable {
    /// Writes `data` at `key` atomically; returns its sha256 and size.
    @discardableResult
    func put(_ key: String, data: Data) async throws -> StoredObject
    /// Copies a local file to `key` atomically; `.notFound` if the file is missing.
    @discardableResult
    func put(_ key: String, file: URL) async throws -> StoredObject
    /// Writes the bytes `chunks` yields, in order, at `key`: the object appears whole once the
    /// sequence ends, and not at all if the sequence throws (or the task is cancelled), which
    /// leaves an older object at `key` as it was. A sequence that simply ends because the task
    /// was cancelled (as `AsyncStream` does) is a failed write too, never a short object.
    /// Chunks may have any size; a backend writes
    /// them as they come (a folder appends to a temporary file, S3 gathers them into the parts
    /// of a multipart upload), so memory stays bounded by one chunk or one part.
    @discardableResult
    func put<Chunks: AsyncSequence>(_ key: String, from chunks: Chunks) async throws -> StoredObject where Chunks.Element == Data
    /// The object's bytes; `.notFound` if absent. For small objects (manifests, trees, logs);
    /// use `read` or `download` for large ones.
    func get(_ key: String) async throws -> Data
    /// Hands the object's bytes to `consume` in order, in chunks of at most
    /// `ArtifactKeys.chunkBytes`, and returns the sha256 and size of everything it read.
    /// `.notFound` (before any chunk) if absent; an error thrown by `consume` stops the read.
    /// A chunk handler rather than a returned sequence, so the store opens and closes what it
    /// reads from itself, whether or not the consumer reads to the end.
    @discardableResult
    func read(_ key: String, chunks consume: (Data) async throws -> Void) async throws -> StoredObject
    /// Downloads `key` to a local file (atomically, creating its folder), returning the sha256
    /// and size computed while writing it. `.notFound` if absent (and no file is created).
    @discardableResult
    func download(_ key: String, to file: URL) async throws -> StoredObject
    /// Whether an object is stored at `key` (a prefix of other keys is not an object).
    func exists(_ key: String) async throws -> Bool
    /// Keys that start with `prefix` (a plain string prefix; `""` lists everything), sorted;
    /// never an object still being written.
    func list(prefix: String) async throws -> [String]
    /// Removes the object at `key`; removing a missing key does nothing. Only that object:
    /// a key that is a prefix of others removes none of them.
    func delete(_ key: String) async throws
    /// Moves every object under the prefix `source` to the prefix `destination` as one step,
    /// if nothing is stored under `destination` yet: put-if-absent for a whole model version.
    /// Once published, a destination's objects are never written again by `publish`; a second
    /// publisher gets `.occupied` and its objects stay under `source`. Both prefixes end in `/`.
    /// `.notFound` if nothing is stored under `source`.
    func publish(_ source: String, to destination: String) async throws -> PublicationOutcome
    /// A human/location string for logs (`file:///…`, `s3://…`).
    var location: String { get }
}

/// What `ArtifactStore.publish` did.
public enum PublicationOutcome: Sendable, Equatable {
    /// The objects now live under the destination.
    case published
    /// Something was already published there; nothing moved.
    case occupied
}

public struct StoredObject: Sendable, Equatable {
    public var key: String
    public var sha256: String
    public var bytes: Int64
    public init(key: String, sha256: String, bytes: Int64) { self.key = key; self.sha256 = sha256; self.bytes = bytes }
}

/// The storage key layout, in one place.
public enum ArtifactKeys {
    public static func versionPrefix(_ name: ModelName, _ version: Int) -> String { "models/\(name)/\(version)/" }
    public static func versionFile(_ name: ModelName, _ version: Int, _ file: String) -> String { "models/\(name)/\(version)/\(file)" }
    public static func jobLog(_ id: JobID) -> String { "jobs/\(id)/log" }
    /// Where one attempt of a job writes its version's files before publishing them: a place
    /// of its own, so a stale attempt (its lease lost) never writes where another one does.
    public static func attemptStaging(_ id: JobID, attempt: Int) -> String { "staging/jobs/\(id)/attempt-\(attempt)/" }
    /// Every attempt's staging area of one job.
    public static func jobStaging(_ id: JobID) -> String { "staging/jobs/\(id)/" }
    /// What one part of a fanned-out transform scored (`output`, `errors.jsonl`,
    /// `summary.json`), kept until its parent assembles the outputs.
    public static func transformPart(_ parent: JobID, index: Int) -> String { "staging/transforms/\(parent)/part-\(index)/" }
    /// Every part of one fanned-out transform.
    public static func transformParts(_ parent: JobID) -> String { "staging/transforms/\(parent)/" }
    /// Content-addressed staged data and code, deduplicated by digest.
    public static func blob(sha256: String) -> String { "blobs/sha256/\(sha256)" }
    /// A staged reference as written into a spec after staging.
    public static func blobReference(sha256: String) -> String { "artifact:sha256:\(sha256)" }
    public static func sha256(ofReference reference: String) -> String? {
        reference.hasPrefix("artifact:sha256:") ? String(reference.dropFirst("artifact:sha256:".count)) : nil
    }
}
