import Foundation

/// Where artifacts live: a folder, or (later) an S3 bucket. Keys are `/`-separated relative
/// paths (`models/iris/3/model.bin`); the store is already scoped to its namespace.
///
/// Writes are atomic: a reader sees the whole object or none of it.
public protocol ArtifactStore: Sendable {
    /// Writes `data` at `key` atomically; returns its sha256 and size.
    @discardableResult
    func put(_ key: String, data: Data) async throws -> StoredObject
    /// Copies a local file to `key` atomically.
    @discardableResult
    func put(_ key: String, file: URL) async throws -> StoredObject
    /// The object's bytes; `.notFound` if absent.
    func get(_ key: String) async throws -> Data
    /// Downloads `key` to a local file (atomically), returning it.
    func download(_ key: String, to file: URL) async throws
    func exists(_ key: String) async throws -> Bool
    /// Keys under `prefix`, sorted.
    func list(prefix: String) async throws -> [String]
    func delete(_ key: String) async throws
    /// Moves every object under the prefix `source` to the prefix `destination` as one step,
    /// if nothing is stored under `destination` yet: put-if-absent for a whole model version.
    /// Once published, a destination's objects are never written again by `publish`; a second
    /// publisher gets `.occupied` and its objects stay under `source`. Both prefixes end in `/`.
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
    /// Content-addressed staged data and code, deduplicated by digest.
    public static func blob(sha256: String) -> String { "blobs/sha256/\(sha256)" }
    /// A staged reference as written into a spec after staging.
    public static func blobReference(sha256: String) -> String { "artifact:sha256:\(sha256)" }
    public static func sha256(ofReference reference: String) -> String? {
        reference.hasPrefix("artifact:sha256:") ? String(reference.dropFirst("artifact:sha256:".count)) : nil
    }
}
