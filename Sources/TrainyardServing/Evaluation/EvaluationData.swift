import Foundation
import TrainyardCore
import TrainyardRuntime

/// The labelled data an evaluation request names, read under the rules every data file from
/// outside follows: the data-access policy (an uploaded blob, an `s3://` object, or a file the
/// policy allows; one 403 for every refusal), regular files only, at most `limits.stage_bytes`,
/// read off the cooperative pool within `limits.stage_seconds`.
public struct EvaluationData: Sendable {
    public let artifacts: any ArtifactStore
    /// Where `s3://` objects are read; nil in a process without S3 access.
    public let dataObjects: (any DataObjectStore)?
    public let access: DataAccessPolicy
    public let limits: ResourceLimits

    public init(artifacts: any ArtifactStore, dataObjects: (any DataObjectStore)? = nil, access: DataAccessPolicy, limits: ResourceLimits) {
        self.artifacts = artifacts
        self.dataObjects = dataObjects
        self.access = access
        self.limits = limits
    }

    /// The bytes `location` names (`artifact:sha256:<hex>`, `s3://bucket/key`, an absolute path
    /// or `file://` URI). Errors name the request key `data`.
    public func read(_ location: String) async throws -> [UInt8] {
        let parsed: DataLocation
        switch DataLocation.parse(location, base: nil) {
        case .success(let l): parsed = l
        case .failure(.invalidBlobReference):
            throw Self.invalid("\"\(clientEcho(location))\" is not a blob reference: expected artifact:sha256: and 64 lowercase hex digits")
        case .failure(.invalidFileURI): throw Self.invalid("invalid file URI \"\(clientEcho(location))\": expected file:///absolute/path")
        case .failure(.unsupportedScheme): throw Self.invalid("unsupported URI scheme in \"\(clientEcho(location))\"; use artifact:sha256:…, an absolute path or file://")
        case .failure(.relativePathWithoutBase):
            throw Self.invalid("relative path \"\(clientEcho(location))\": give an absolute path on the server, or upload the file as a blob (`trainyard evaluate --server` does)")
        case .failure(.nulCharacter): throw Self.invalid("the location contains a NUL character")
        }
        guard access.permits(parsed) else { throw TrainyardError(.forbidden, access.refusal(for: "data")) }
        switch parsed {
        case .blob(let sha): return try await readBlob(sha)
        case .s3(let uri): return try await readObject(uri)
        case .file(let path): return try await Self.readFile(path, written: location, access: access, limits: limits)
        }
    }

    /// An uploaded blob, streamed so that one over the limit is refused without being held
    /// whole, and checked against its name (the digest the read computed).
    func readBlob(_ sha: String) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        let limit = limits.stageBytes
        let stored: StoredObject
        do {
            stored = try await artifacts.read(ArtifactKeys.blob(sha256: sha)) { chunk in
                guard Int64(bytes.count + chunk.count) <= limit else { throw Self.tooLarge(Int64(bytes.count + chunk.count), limit) }
                bytes.append(contentsOf: chunk)
            }
        } catch let error as TrainyardError where error.code == .notFound {
            throw Self.invalid("blob \(ArtifactKeys.blobReference(sha256: sha)) is not stored on this server; upload it first (PUT /api/v1/blobs/sha256/\(sha))")
        }
        guard stored.sha256 == sha else {
            throw TrainyardError(.artifactCorrupt, "blob \(ArtifactKeys.blobReference(sha256: sha)) is corrupt: its content does not match its sha256")
        }
        guard !bytes.isEmpty else { throw Self.invalid("blob \(ArtifactKeys.blobReference(sha256: sha)) is empty") }
        return bytes
    }

    /// An `s3://` object: its size checked before anything is read, then read pinned to the
    /// identity that was checked (a rewrite in between is a conflict, not a mix of two objects).
    func readObject(_ uri: String) async throws -> [UInt8] {
        guard let objects = dataObjects, objects.serves(uri) else {
            throw Self.invalid("\(clientEcho(uri)): this process has no S3 access (configure TRAINYARD_S3_ENDPOINT or AWS credentials), or upload the file as a blob")
        }
        let identity: DataObjectIdentity
        do {
            guard let found = try await objects.head(uri) else { throw Self.invalid("no object at \(clientEcho(uri))") }
            identity = found
        } catch let error as TrainyardError where error.code == .notFound {
            throw Self.invalid("\(clientEcho(uri)): \(error.message)")
        }
        guard identity.bytes > 0 else { throw Self.invalid("object \(clientEcho(uri)) is empty") }
        let limit = limits.stageBytes
        guard identity.bytes <= limit else { throw Self.tooLarge(identity.bytes, limit) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(identity.bytes))
        try await objects.read(uri, range: nil, expecting: identity) { chunk in
            guard Int64(bytes.count + chunk.count) <= limit else { throw Self.tooLarge(Int64(bytes.count + chunk.count), limit) }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }

    /// A local file, opened and read through one descriptor after every check (`LocalDataFile`),
    /// off the cooperative pool within `limits.stage_seconds`. `written` is the location as the
    /// caller gave it (quoted in errors).
    public static func readFile(_ path: String, written: String, access: DataAccessPolicy, limits: ResourceLimits) async throws -> [UInt8] {
        do {
            return try await runBlocking(deadline: .seconds(limits.stageSeconds), onDeadline: {
                TrainyardError(.timeout, "data: reading \"\(clientEcho(written))\" took longer than limits.stage_seconds (\(limits.stageSeconds) s)")
            }) { _ in
                let file = try LocalDataFile.open(path, policy: access, limits: limits)
                return try file.prefix(Int(file.size))
            }
        } catch let problem as LocalDataFile.Problem {
            throw Self.error(problem, written: written, access: access)
        }
    }

    /// The error for a local data file that is not read (key `data`).
    public static func error(_ problem: LocalDataFile.Problem, written text: String, access: DataAccessPolicy) -> TrainyardError {
        let shown = "\"\(clientEcho(text))\""
        switch problem {
        case .refused: return TrainyardError(.forbidden, access.refusal(for: "data"))
        case .doesNotExist: return invalid("file \(shown) does not exist")
        case .folder: return invalid("\(shown) is a folder; expected a data file")
        case .notRegularFile: return invalid("\(shown) is not a regular file (a device, FIFO or socket); only regular files are read as data")
        case .pseudoFile: return invalid("\(shown) is a kernel pseudo-file (/proc, /sys); only regular files are read as data")
        case .empty: return invalid("file \(shown) is empty")
        case .tooLarge(let bytes, let limit): return tooLarge(bytes, limit)
        case .unreadable(let reason): return invalid("file \(shown) cannot be read: \(reason)")
        }
    }

    static func tooLarge(_ bytes: Int64, _ limit: Int64) -> TrainyardError {
        invalid("the data holds \(bytes) bytes or more, over limits.stage_bytes (\(limit)); raise limits.stage_bytes or use a smaller file")
    }

    static func invalid(_ message: String) -> TrainyardError {
        TrainyardError(.invalidArgument, "data: \(message)", details: [.init(path: "data", message: message)])
    }
}
