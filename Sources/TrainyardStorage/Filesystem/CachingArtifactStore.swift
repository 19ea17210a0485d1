import Crypto
import Foundation
import TrainyardCore

/// A local read-through cache in front of a (remote) artifact store, for model servers.
///
/// Only immutable keys are cached: version files (`models/{name}/{v}/…`, which never change once
/// registered) and content-addressed blobs (`blobs/sha256/…`). A server whose cache is empty
/// downloads what it needs on first use; after a restart it loads from local disk. Everything
/// else (`put`, `list`, job logs) goes straight to the remote store. Integrity is not taken on
/// trust: `ArtifactReader` checks every artifact against its manifest sha256 wherever it came from.
///
/// The cache keeps at most `maxBytes`; beyond it the least recently used files are removed
/// (their access time is refreshed on every hit).
public struct CachingArtifactStore: ArtifactStore {
    public let remote: any ArtifactStore
    public let local: FileArtifactStore
    public let maxBytes: Int64

    /// - Parameters:
    ///   - directory: the cache folder; one folder may serve several stores and namespaces.
    ///   - namespace: the remote store's keys are this namespace's (`models/x/1/…` of dev and of
    ///     prod are different bytes), so the cache keeps each namespace apart, and each remote
    ///     store (by its location) apart too.
    public init(remote: any ArtifactStore, directory: URL, namespace: Namespace, maxBytes: Int64 = 10 << 30) throws {
        self.remote = remote
        let storeFolder = directory.appendingPathComponent(String(SHA256.hex(of: Data(remote.location.utf8)).prefix(16)), isDirectory: true)
        self.local = try FileArtifactStore(root: storeFolder, namespace: namespace)
        self.maxBytes = maxBytes
        // The cache is this server's own scratch space: made up front (0700), unlike the store,
        // which creates nothing until it writes.
        try PrivateFiles.makeDirectory(local.root)
    }

    public var location: String { remote.location }

    /// Whether `key` names bytes that never change (and so may be served from the cache).
    public static func isImmutable(_ key: String) -> Bool {
        key.hasPrefix("models/") || key.hasPrefix("blobs/sha256/")
    }

    public func get(_ key: String) async throws -> Data {
        guard Self.isImmutable(key) else { return try await remote.get(key) }
        if let hit = try? await local.get(key) {
            touch(key)
            return hit
        }
        let data = try await remote.get(key)
        try await local.put(key, data: data)
        try await runBlocking { trim(keeping: key) }
        return data
    }

    @discardableResult
    public func read(_ key: String, chunks consume: (Data) async throws -> Void) async throws -> StoredObject {
        guard Self.isImmutable(key) else { return try await remote.read(key, chunks: consume) }
        try await fill(key)
        // Another read's trimming may have removed it since; notFound comes before any chunk.
        do { return try await local.read(key, chunks: consume) } catch let error as TrainyardError where error.code == .notFound {
            return try await remote.read(key, chunks: consume)
        }
    }

    @discardableResult
    public func download(_ key: String, to file: URL) async throws -> StoredObject {
        guard Self.isImmutable(key) else { return try await remote.download(key, to: file) }
        try await fill(key)
        do { return try await local.download(key, to: file) } catch let error as TrainyardError where error.code == .notFound {
            return try await remote.download(key, to: file)
        }
    }

    /// Makes sure `key` is in the cache: refreshes its access time on a hit; on a miss,
    /// downloads it beside the cache and renames it into place (no second copy), then trims.
    private func fill(_ key: String) async throws {
        if try await local.exists(key) {
            touch(key)
            return
        }
        let staged = local.root.appendingPathComponent(".download-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: staged) }
        try await remote.download(key, to: staged)
        try await local.moveIn(staged, as: key)
        try await runBlocking { trim(keeping: key) }
    }

    @discardableResult
    public func put(_ key: String, data: Data) async throws -> StoredObject { try await remote.put(key, data: data) }
    @discardableResult
    public func put(_ key: String, file: URL) async throws -> StoredObject { try await remote.put(key, file: file) }
    @discardableResult
    public func put<Chunks: AsyncSequence>(_ key: String, from chunks: Chunks) async throws -> StoredObject where Chunks.Element == Data {
        try await remote.put(key, from: chunks)
    }
    public func exists(_ key: String) async throws -> Bool { try await remote.exists(key) }
    public func list(prefix: String) async throws -> [String] { try await remote.list(prefix: prefix) }

    public func delete(_ key: String) async throws {
        try await remote.delete(key)
        try? await local.delete(key)
    }

    /// Publishing writes the remote store only: nothing is cached until it is read.
    public func publish(_ source: String, to destination: String) async throws -> PublicationOutcome {
        try await remote.publish(source, to: destination)
    }

    /// Keys held locally (tests, diagnostics).
    public func cachedKeys() async throws -> [String] { try await local.list(prefix: "") }

    private func touch(_ key: String) {
        guard let url = try? local.url(key) else { return }
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: url.path)
    }

    /// Removes least recently used files until the cache fits `maxBytes` (never `keeping`).
    private func trim(keeping key: String) {
        let fm = FileManager.default
        let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey, .isRegularFileKey]
        guard let walker = fm.enumerator(at: local.root, includingPropertiesForKeys: keys) else { return }
        var files: [(url: URL, bytes: Int64, used: Date)] = []
        var total: Int64 = 0
        for case let url as URL in walker {
            guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true else { continue }
            let bytes = Int64(values.fileSize ?? 0)
            total += bytes
            files.append((url, bytes, values.contentModificationDate ?? .distantPast))
        }
        guard total > maxBytes else { return }
        let kept = try? local.url(key).standardizedFileURL.path
        for file in files.sorted(by: { $0.used < $1.used }) where total > maxBytes && file.url.standardizedFileURL.path != kept {
            try? fm.removeItem(at: file.url)
            total -= file.bytes
        }
    }
}
