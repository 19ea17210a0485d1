import Crypto
import Foundation
import Synchronization
import TrainyardCore

/// An `ArtifactStore` held in memory: the same contract as `FileArtifactStore` (the suite in
/// Tests/TrainyardStorageTests/ArtifactStoreContractTests.swift runs against both), for fast
/// tests and single-process runs that need no persistence. One instance is one namespace.
///
/// A final class around a `Mutex` rather than an actor: streamed writes and reads take the
/// caller's chunk sequence and chunk handler, which are not `Sendable` and so could not be
/// handed to an actor. Chunks are gathered outside the lock and the object is stored under it
/// in one step, so a reader sees a whole object or none, as with the folder's rename.
public final class InMemoryArtifactStore: ArtifactStore {
    /// A stored object with the digest computed when it was written.
    struct Object {
        var bytes: Data
        var sha256: String
    }

    private let objects = Mutex<[String: Object]>([:])
    public let location: String

    /// - Parameter label: names the store in `location` (`memory://label`); a fresh one by
    ///   default, so two stores never look like the same place (a serving cache keys on it).
    public init(label: String = UUID().uuidString) {
        location = "memory://\(label)"
    }

    @discardableResult
    public func put(_ key: String, data: Data) async throws -> StoredObject {
        try ArtifactKeys.validate(key)
        return store(key, Object(bytes: data, sha256: SHA256.hex(of: data)))
    }

    @discardableResult
    public func put(_ key: String, file: URL) async throws -> StoredObject {
        try ArtifactKeys.validate(key)
        let data = try await runBlocking {
            guard FileManager.default.fileExists(atPath: file.path) else { throw TrainyardError.notFound("file \(file.path)") }
            return try Data(contentsOf: file)
        }
        return store(key, Object(bytes: data, sha256: SHA256.hex(of: data)))
    }

    @discardableResult
    public func put<Chunks: AsyncSequence>(_ key: String, from chunks: Chunks) async throws -> StoredObject where Chunks.Element == Data {
        try ArtifactKeys.validate(key)
        var bytes = Data()
        var hasher = SHA256()
        for try await chunk in chunks {
            hasher.update(data: chunk)
            bytes.append(chunk)
        }
        // An AsyncStream ends (rather than throws) when its task is cancelled: a cancelled
        // writer's chunks so far are not the whole object.
        try Task.checkCancellation()
        return store(key, Object(bytes: bytes, sha256: hasher.finalize().hex))
    }

    private func store(_ key: String, _ object: Object) -> StoredObject {
        objects.withLock { $0[key] = object }
        return StoredObject(key: key, sha256: object.sha256, bytes: Int64(object.bytes.count))
    }

    public func get(_ key: String) async throws -> Data {
        try object(key).bytes
    }

    @discardableResult
    public func read(_ key: String, chunks consume: (Data) async throws -> Void) async throws -> StoredObject {
        let object = try object(key)
        var start = object.bytes.startIndex
        while start < object.bytes.endIndex {
            let end = min(start + ArtifactKeys.chunkBytes, object.bytes.endIndex)
            try await consume(object.bytes.subdata(in: start..<end))
            start = end
        }
        return StoredObject(key: key, sha256: object.sha256, bytes: Int64(object.bytes.count))
    }

    @discardableResult
    public func download(_ key: String, to file: URL) async throws -> StoredObject {
        let object = try object(key)
        try await runBlocking { try Self.writeAtomically(object.bytes, to: file) }
        return StoredObject(key: key, sha256: object.sha256, bytes: Int64(object.bytes.count))
    }

    /// A temporary file beside `file`, then a rename, so a reader never sees half of it; 0600
    /// in a 0700 folder when created, as the folder store's downloads are.
    private static func writeAtomically(_ bytes: Data, to file: URL) throws {
        let folder = file.deletingLastPathComponent()
        try PrivateFiles.makeDirectory(folder)
        let temporary = folder.appendingPathComponent(".download-\(UUID().uuidString)")
        let handle = FileHandle(fileDescriptor: try PrivateFiles.createFile(temporary), closeOnDealloc: true)
        do {
            try handle.write(contentsOf: bytes)
            try handle.close()
            guard rename(temporary.path, file.path) == 0 else { throw PrivateFiles.ioError(errno, "writing", file.path) }
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    /// The object at a valid `key`, or `.notFound`.
    private func object(_ key: String) throws -> Object {
        try ArtifactKeys.validate(key)
        guard let object = objects.withLock({ $0[key] }) else { throw TrainyardError.notFound("artifact \(key)") }
        return object
    }

    public func exists(_ key: String) async throws -> Bool {
        try ArtifactKeys.validate(key)
        return objects.withLock { $0[key] != nil }
    }

    public func list(prefix: String) async throws -> [String] {
        objects.withLock { $0.keys.filter { $0.hasPrefix(prefix) } }.sorted()
    }

    public func delete(_ key: String) async throws {
        try ArtifactKeys.validate(key)
        objects.withLock { _ = $0.removeValue(forKey: key) }
    }

    /// Under one lock: checks the destination is empty, then moves every key across.
    public func publish(_ source: String, to destination: String) async throws -> PublicationOutcome {
        try ArtifactKeys.validatePrefix(source)
        try ArtifactKeys.validatePrefix(destination)
        return try objects.withLock { objects in
            let moving = objects.keys.filter { $0.hasPrefix(source) }
            guard !moving.isEmpty else { throw TrainyardError.notFound("nothing to publish under \(source)") }
            guard !objects.keys.contains(where: { $0.hasPrefix(destination) }) else { return .occupied }
            for key in moving {
                objects[destination + key.dropFirst(source.count)] = objects.removeValue(forKey: key)
            }
            return .published
        }
    }
}
