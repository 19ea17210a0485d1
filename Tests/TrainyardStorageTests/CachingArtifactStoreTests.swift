import Foundation
import Synchronization
import Testing
import TrainyardCore
@testable import TrainyardStorage

/// Counts the reads that reach the remote store.
final class CountingStore: ArtifactStore {
    let base: FileArtifactStore
    private let reads = Mutex<[String]>([])
    init(_ base: FileArtifactStore) { self.base = base }
    var remoteReads: [String] { reads.withLock { $0 } }
    @discardableResult func put(_ key: String, data: Data) async throws -> StoredObject { try await base.put(key, data: data) }
    @discardableResult func put(_ key: String, file: URL) async throws -> StoredObject { try await base.put(key, file: file) }
    @discardableResult func put<Chunks: AsyncSequence>(_ key: String, from chunks: Chunks) async throws -> StoredObject where Chunks.Element == Data {
        try await base.put(key, from: chunks)
    }
    func get(_ key: String) async throws -> Data {
        reads.withLock { $0.append(key) }
        return try await base.get(key)
    }
    func read(_ key: String, chunks consume: (Data) async throws -> Void) async throws -> StoredObject {
        reads.withLock { $0.append(key) }
        return try await base.read(key, chunks: consume)
    }
    func download(_ key: String, to file: URL) async throws -> StoredObject {
        reads.withLock { $0.append(key) }
        return try await base.download(key, to: file)
    }
    func exists(_ key: String) async throws -> Bool { try await base.exists(key) }
    func list(prefix: String) async throws -> [String] { try await base.list(prefix: prefix) }
    func delete(_ key: String) async throws { try await base.delete(key) }
    func publish(_ source: String, to destination: String) async throws -> PublicationOutcome { try await base.publish(source, to: destination) }
    var location: String { "s3://counting/" }
}

@Suite("CachingArtifactStore")
struct CachingArtifactStoreTests {
    @Test func immutableKeysAreReadOnceThenServedLocally() async throws {
        let remote = CountingStore(try FileArtifactStore(root: try temporaryDirectory("trainyard-remote")))
        let cacheDirectory = try temporaryDirectory("trainyard-cache")
        let cache = try CachingArtifactStore(remote: remote, directory: cacheDirectory, namespace: Namespace())
        try await remote.put("models/iris/1/model.bin", data: Data("weights".utf8))
        try await remote.put("jobs/7/log", data: Data("line 1".utf8))

        #expect(try await cache.get("models/iris/1/model.bin") == Data("weights".utf8))
        #expect(try await cache.get("models/iris/1/model.bin") == Data("weights".utf8))
        #expect(remote.remoteReads == ["models/iris/1/model.bin"], "the second read is local")
        // Mutable keys always go to the remote store.
        _ = try await cache.get("jobs/7/log")
        _ = try await cache.get("jobs/7/log")
        #expect(remote.remoteReads.filter { $0 == "jobs/7/log" }.count == 2)
        #expect(try await cache.cachedKeys() == ["models/iris/1/model.bin"])

        // A restarted server with the same folder reads nothing remotely, even if the remote is gone.
        try await remote.base.delete("models/iris/1/model.bin")
        let restarted = try CachingArtifactStore(remote: remote, directory: cacheDirectory, namespace: Namespace())
        let file = cacheDirectory.deletingLastPathComponent().appendingPathComponent("copy-\(UUID().uuidString)")
        try await restarted.download("models/iris/1/model.bin", to: file)
        #expect(try Data(contentsOf: file) == Data("weights".utf8))
        #expect(remote.remoteReads.filter { $0 == "models/iris/1/model.bin" }.count == 1)
        // A missing object is still a not-found error.
        await #expect(throws: TrainyardError.self) { try await restarted.get("models/iris/2/model.bin") }
    }

    @Test func leastRecentlyUsedFilesLeaveBeyondTheBudget() async throws {
        let remote = CountingStore(try FileArtifactStore(root: try temporaryDirectory("trainyard-remote")))
        let cache = try CachingArtifactStore(remote: remote, directory: try temporaryDirectory("trainyard-cache"), namespace: Namespace(), maxBytes: 25)
        for name in ["a", "b", "c"] { try await remote.put("blobs/sha256/\(name)", data: Data(repeating: 1, count: 10)) }
        _ = try await cache.get("blobs/sha256/a")
        try await Task.sleep(for: .milliseconds(20))
        _ = try await cache.get("blobs/sha256/b")
        try await Task.sleep(for: .milliseconds(20))
        _ = try await cache.get("blobs/sha256/a")  // a is now more recent than b
        try await Task.sleep(for: .milliseconds(20))
        _ = try await cache.get("blobs/sha256/c")  // 30 bytes > 25: b goes
        #expect(try await cache.cachedKeys() == ["blobs/sha256/a", "blobs/sha256/c"])
    }

    /// dev's and prod's `models/iris/1/model.bin` are different bytes: one cache folder shared
    /// by both keeps them apart (as it keeps two remote stores apart).
    @Test func namespacesAndStoresDoNotShareCachedFiles() async throws {
        let cacheDirectory = try temporaryDirectory("trainyard-cache")
        let devRemote = CountingStore(try FileArtifactStore(root: try temporaryDirectory("trainyard-remote"), namespace: Namespace()))
        let prodNamespace = try Namespace(project: "default", environment: "prod")
        let prodRemote = CountingStore(try FileArtifactStore(root: try temporaryDirectory("trainyard-remote"), namespace: prodNamespace))
        try await devRemote.put("models/iris/1/model.bin", data: Data("dev weights".utf8))
        try await prodRemote.put("models/iris/1/model.bin", data: Data("prod weights".utf8))
        let dev = try CachingArtifactStore(remote: devRemote, directory: cacheDirectory, namespace: Namespace())
        let prod = try CachingArtifactStore(remote: prodRemote, directory: cacheDirectory, namespace: prodNamespace)
        #expect(try await dev.get("models/iris/1/model.bin") == Data("dev weights".utf8))
        #expect(try await prod.get("models/iris/1/model.bin") == Data("prod weights".utf8))
        #expect(prodRemote.remoteReads == ["models/iris/1/model.bin"], "prod read dev's cached copy")
    }
}
