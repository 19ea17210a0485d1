import Crypto
import Foundation
import TrainyardCore

/// Copies what a spec refers to into the artifact store, content-addressed by sha256, so any
/// worker on any machine can read exactly those bytes and the version's lineage can name them.
///
/// - Data files: `data.train` / `data.validation` paths (relative to the spec's folder) or
///   `file://` URIs become `artifact:sha256:<hex>` references; identical bytes are stored once.
/// - Code (`task: command`): the spec's folder becomes a tree blob (a JSON list of files and
///   their digests), recorded as the `code` entry of `spec.staged`.
/// - Objects (`s3://bucket/key`) stay where they are: the URI stays in the spec and its
///   identity (size, ETag) is pinned in `spec.staged`; the worker downloads exactly that object.
public struct Stager: Sendable {
    public let artifacts: any ArtifactStore
    /// `limits.stage_bytes` / `limits.stage_seconds` for each data file.
    public var limits: ResourceLimits
    /// Which local files the spec may name (`DataAccessPolicy`).
    public var access: DataAccessPolicy
    /// Where a data file is copied (and hashed) before it goes to the store: the store gets
    /// exactly the bytes that were hashed, read once through the checked descriptor.
    public var scratchDirectory: URL
    /// How `s3://` data is treated (pinned, forwarded to a server, or refused).
    public var objects: DataObjectAccess = .unavailable
    /// Folders never staged as code: build outputs, VCS data, virtual environments, caches.
    static let ignoredNames: Set<String> = [".git", ".build", ".trainyard", ".venv", "venv", "__pycache__", "node_modules", ".swiftpm"]
    static let maxCodeBytes: Int64 = 256 << 20

    public init(artifacts: any ArtifactStore, limits: ResourceLimits = ResourceLimits(), access: DataAccessPolicy = .unrestricted,
                scratchDirectory: URL = FileManager.default.temporaryDirectory) {
        self.artifacts = artifacts
        self.limits = limits
        self.access = access
        self.scratchDirectory = scratchDirectory
    }

    /// `parsed` with the locations a remote client uploaded already (`preStaged`) replaced by
    /// their blob references. Idempotent.
    public static func applyingPreStaged(_ preStaged: [DataDigest], to parsed: ParsedSpec) throws -> ParsedSpec {
        var parsed = parsed
        for digest in preStaged {
            guard DataLocation.isSHA256(digest.sha256) else {
                throw TrainyardError(.invalidArgument, "staged \(clientEcho(digest.key)): \"\(clientEcho(digest.sha256))\" is not a sha256 (64 lowercase hex digits)")
            }
            let reference = ArtifactKeys.blobReference(sha256: digest.sha256)
            switch digest.key {
            case "data.train": parsed.spec.data.train = reference
            case "data.validation": parsed.spec.data.validation = .location(reference)
            case "code": break
            default: throw TrainyardError(.invalidArgument, "unknown staged key \(clientEcho(digest.key)); expected data.train, data.validation or code")
            }
        }
        return parsed
    }

    /// - Parameters:
    ///   - preStaged: digests a remote client uploaded already; their locations are replaced by
    ///     blob references (which must exist in the store).
    ///   - pinned: objects `JobSubmitter.check` already looked at (spec key → identity), pinned
    ///     as they were checked rather than looked at again.
    public func stage(_ parsed: ParsedSpec, baseDirectory: URL?, preStaged: [DataDigest] = [],
                      pinned: [String: DataObjectIdentity] = [:]) async throws -> Spec {
        let parsed = try Self.applyingPreStaged(preStaged, to: parsed)
        var spec = parsed.spec
        var staged: [DataDigest] = []
        if let train = spec.data.train {
            let (ref, digest) = try await stageData(train, key: "data.train", parsed: parsed, base: baseDirectory, pinned: pinned["data.train"])
            spec.data.train = ref
            staged += digest.map { [$0] } ?? []
        }
        if case .location(let loc) = spec.data.validation {
            let (ref, digest) = try await stageData(loc, key: "data.validation", parsed: parsed, base: baseDirectory, pinned: pinned["data.validation"])
            spec.data.validation = .location(ref)
            staged += digest.map { [$0] } ?? []
        }
        if spec.task == .command {
            if let code = preStaged.first(where: { $0.key == "code" }) {
                guard try await artifacts.exists(ArtifactKeys.blob(sha256: code.sha256)) else {
                    throw TrainyardError(.invalidArgument, "staged code tree \(code.sha256) is not in the artifact store")
                }
                staged.append(code)
            } else if let base = baseDirectory {
                staged.append(try await stageCode(base))
            }
        }
        // Keep the user's original locations in lineage for pre-staged data.
        for (i, d) in staged.enumerated() {
            if let original = preStaged.first(where: { $0.key == d.key }) { staged[i] = original }
        }
        spec.staged = staged
        return spec
    }

    /// The location the staged spec names and its digest (nil for an object forwarded to a
    /// server, which pins it itself).
    func stageData(_ text: String, key: String, parsed: ParsedSpec, base: URL?, pinned: DataObjectIdentity? = nil) async throws -> (String, DataDigest?) {
        switch try SubmittedData.location(text, key: key, parsed: parsed, base: base, access: access) {
        case .blob(let sha):
            guard try await artifacts.exists(ArtifactKeys.blob(sha256: sha)) else {
                throw parsed.error(at: key, "staged data \(text) is not in the artifact store")
            }
            return (text, DataDigest(key: key, source: text, sha256: sha, bytes: -1))
        case .s3(let uri):
            switch objects {
            case .unavailable: throw SubmittedObjects.unavailable(key: key, parsed: parsed)
            case .forwarded: return (text, nil)
            case .pinned(let store):
                let identity: DataObjectIdentity
                if let pinned { identity = pinned } else {
                    identity = try await SubmittedObjects.pin(uri, key: key, parsed: parsed, store: store, limits: limits)
                }
                // The bytes are hashed by the worker that downloads them (the version's lineage).
                return (text, DataDigest(key: key, source: uri, sha256: "", bytes: identity.bytes, etag: identity.etag))
            }
        case .file(let path):
            try FileManager.default.createDirectory(at: scratchDirectory, withIntermediateDirectories: true)
            let copy = scratchDirectory.appendingPathComponent(".trainyard-stage-\(UUID().uuidString)")
            // Also after a deadline or cancellation: a copy still being written is unlinked and
            // its space freed when the reading thread stops.
            defer { try? FileManager.default.removeItem(at: copy) }
            let limit = limits.stageBytes
            let (sha, size) = try await SubmittedData.withFile(path, key: key, written: text, parsed: parsed, access: access, limits: limits) {
                file, stop in try file.copyHashing(to: copy, limit: limit, stop: stop)
            }
            let blobKey = ArtifactKeys.blob(sha256: sha)
            if try await !artifacts.exists(blobKey) {
                try await artifacts.put(blobKey, file: copy)
            }
            return (ArtifactKeys.blobReference(sha256: sha), DataDigest(key: key, source: text, sha256: sha, bytes: size))
        }
    }

    /// One entry of a staged code tree.
    public struct TreeEntry: Codable, Sendable, Equatable {
        public var path: String
        public var sha256: String
        public var executable: Bool
    }

    func stageCode(_ folder: URL) async throws -> DataDigest {
        var entries: [TreeEntry] = []
        var total: Int64 = 0
        let root = folder.standardizedFileURL
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey]) else {
            throw TrainyardError(.invalidArgument, "cannot read the spec's folder \(folder.path)")
        }
        for case let file as URL in enumerator {
            if Self.ignoredNames.contains(file.lastPathComponent) { enumerator.skipDescendants(); continue }
            guard (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let relative = String(file.standardizedFileURL.path.dropFirst(root.path.count + 1))
            let (sha, size) = try Self.digest(of: file)
            total += size
            guard total <= Self.maxCodeBytes else {
                throw TrainyardError(.invalidArgument, "the spec's folder \(folder.path) holds more than \(Self.maxCodeBytes >> 20) MiB; move data out of it and reference it under data:")
            }
            if try await !artifacts.exists(ArtifactKeys.blob(sha256: sha)) {
                try await artifacts.put(ArtifactKeys.blob(sha256: sha), file: file)
            }
            entries.append(TreeEntry(path: relative, sha256: sha, executable: FileManager.default.isExecutableFile(atPath: file.path)))
        }
        entries.sort { $0.path < $1.path }
        let tree = try JSON.encode(entries)
        let treeSHA = SHA256.hex(of: tree)
        try await artifacts.put(ArtifactKeys.blob(sha256: treeSHA), data: tree)
        return DataDigest(key: "code", source: folder.path, sha256: treeSHA, bytes: total)
    }

    /// Rebuilds a staged code tree into `folder`. Every file is checked against the digest its
    /// blob is named by, using the digest the download computed (no second read of the file).
    public static func materializeCode(sha256: String, artifacts: any ArtifactStore, into folder: URL) async throws {
        let treeData = try await artifacts.get(ArtifactKeys.blob(sha256: sha256))
        guard SHA256.hex(of: treeData) == sha256 else {
            throw TrainyardError(.artifactCorrupt, "the staged code tree sha256:\(sha256) is corrupt: its content does not match its digest")
        }
        let tree = try JSON.decode([TreeEntry].self, from: treeData)
        for entry in tree {
            guard !entry.path.split(separator: "/").contains("..") else { continue }
            let target = folder.appendingPathComponent(entry.path)
            let stored = try await artifacts.download(ArtifactKeys.blob(sha256: entry.sha256), to: target)
            guard stored.sha256 == entry.sha256 else {
                throw TrainyardError(.artifactCorrupt, "staged code file \(clientEcho(entry.path)) is corrupt: its content does not match sha256:\(entry.sha256)")
            }
            if entry.executable {
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target.path)
            }
        }
    }

    static func digest(of file: URL) throws -> (String, Int64) {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (hasher.finalize().hex, size)
    }
}
