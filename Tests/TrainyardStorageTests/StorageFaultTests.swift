import Foundation
import Synchronization
import Testing
import TrainyardCore
@testable import TrainyardStorage

/// A disk that fills up: writes to files whose path contains `pathContaining` succeed for the
/// first `bytesBeforeFull` bytes of each file, then fail with `error` (ENOSPC by default),
/// `failures` times in all; every other write goes to the real disk.
final class FillingDisk: Sendable {
    let pathContaining: String
    let bytesBeforeFull: Int
    let error: Int32
    private let state: Mutex<(failuresLeft: Int, written: [String: Int])>

    init(pathContaining: String, bytesBeforeFull: Int, failures: Int = .max, error: Int32 = ENOSPC) {
        self.pathContaining = pathContaining
        self.bytesBeforeFull = bytesBeforeFull
        self.error = error
        state = Mutex((failures, [:]))
    }

    var failuresLeft: Int { state.withLock { $0.failuresLeft } }

    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) -> Int {
        guard path.contains(pathContaining) else { return Glibc.write(fd, bytes.baseAddress, bytes.count) }
        let allowed: Int? = state.withLock { s in
            guard s.failuresLeft > 0 else { return bytes.count }
            let done = s.written[path, default: 0]
            if done >= bytesBeforeFull { s.failuresLeft -= 1; return nil }
            let n = min(bytes.count, bytesBeforeFull - done)
            s.written[path] = done + n
            return n
        }
        guard let allowed else { errno = error; return -1 }
        return Glibc.write(fd, bytes.baseAddress, allowed)
    }

    func store(over files: FileArtifactStore) -> FileArtifactStore {
        FileArtifactStore(namespacedRoot: files.root, writeChunk: { [self] in write($0, $1, $2) })
    }
}

/// Every `.tmp-*` / `.download-*` file under `folder`.
func temporaryFiles(under folder: URL) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
    return walker.compactMap { $0 as? String }.filter { FileArtifactStore.isTemporary(URL(fileURLWithPath: $0).lastPathComponent) }
}

func mode(_ url: URL) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

@Suite("Storage faults and permissions")
struct StorageFaultTests {
    @Test func diskFullMidWriteNamesTheKeyAndLeavesNoTemporaryFile() async throws {
        let root = try temporaryDirectory("trainyard-full")
        let files = try FileArtifactStore(root: root)
        try await files.put("models/x/3/model.bin", data: Data("old".utf8))
        let disk = FillingDisk(pathContaining: "/models/x/3/", bytesBeforeFull: (1 << 20) + 100)
        let store = disk.store(over: files)
        let source = root.appendingPathComponent("big.bin")
        try Data(repeating: 7, count: 3 << 20).write(to: source)
        do {
            try await store.put("models/x/3/model.bin", file: source)
            Issue.record("expected the write to fail")
        } catch let error as TrainyardError {
            #expect(error.code == .unavailable)
            #expect(error.message == "no space left on device while writing models/x/3/model.bin")
        }
        // Nothing half-written is left, and the object already there is untouched.
        #expect(temporaryFiles(under: root).isEmpty)
        #expect(try await files.get("models/x/3/model.bin") == Data("old".utf8))

        // Data puts too, with the error the disk gave (a read-only file system here).
        let readOnly = FillingDisk(pathContaining: "/models/x/4/", bytesBeforeFull: 10, error: EROFS).store(over: files)
        await #expect(throws: TrainyardError(.unavailable, "read-only file system while writing models/x/4/manifest.json")) {
            try await readOnly.put("models/x/4/manifest.json", data: Data(repeating: 1, count: 100))
        }
        #expect(temporaryFiles(under: root).isEmpty)
        #expect(try await !files.exists("models/x/4/manifest.json"))
    }

    @Test func diskFullWhileDownloadingLeavesNoTemporaryFile() async throws {
        let root = try temporaryDirectory("trainyard-full")
        let files = try FileArtifactStore(root: root)
        try await files.put("blobs/sha256/abc", data: Data(repeating: 1, count: 5000))
        let target = root.appendingPathComponent("work/job-1-1-x/input/train/data.csv")
        let store = FillingDisk(pathContaining: "/work/", bytesBeforeFull: 1000, error: EDQUOT).store(over: files)
        do {
            try await store.download("blobs/sha256/abc", to: target)
            Issue.record("expected the download to fail")
        } catch let error as TrainyardError {
            #expect(error.message.hasSuffix("while writing \(target.path)"), "\(error.message)")
            #expect(error.message.lowercased().contains("quota"), "\(error.message)")
        }
        #expect(temporaryFiles(under: root).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: target.path))
    }

    @Test func storeFilesAreOnlyTheOwners() async throws {
        let root = try temporaryDirectory("trainyard-modes")
        let data = root.appendingPathComponent("data")
        let store = try SQLiteMetadataStore(file: data.appendingPathComponent("trainyard.sqlite"))
        _ = try await store.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec()))
        let artifacts = try FileArtifactStore(root: data.appendingPathComponent("artifacts"))
        try await artifacts.put("models/iris/1/model.bin", data: Data("m".utf8))
        try await artifacts.put("jobs/1/log", file: data.appendingPathComponent("trainyard.sqlite"))

        #expect(try mode(data) == 0o711) // passable to a job folder handed to runner.user, not listable
        for name in ["trainyard.sqlite", "trainyard.sqlite-wal", "trainyard.sqlite-shm"] {
            #expect(try mode(data.appendingPathComponent(name)) == 0o600, "\(name)")
        }
        let namespaced = artifacts.root
        for folder in ["", "models", "models/iris", "models/iris/1", "jobs/1"] {
            #expect(try mode(namespaced.appendingPathComponent(folder)) == 0o700, "\(folder)")
        }
        #expect(try mode(data.appendingPathComponent("artifacts")) == 0o700)
        #expect(try mode(namespaced.appendingPathComponent("models/iris/1/model.bin")) == 0o600)
        #expect(try mode(namespaced.appendingPathComponent("jobs/1/log")) == 0o600)
        let downloaded = root.appendingPathComponent("out/model.bin")
        try await artifacts.download("models/iris/1/model.bin", to: downloaded)
        #expect(try mode(downloaded) == 0o600)
    }

    @Test func readingAStoreCreatesNothing() async throws {
        let root = try temporaryDirectory("trainyard-read")
        let store = try FileArtifactStore(root: root.appendingPathComponent("artifacts"))
        #expect(try await store.list(prefix: "").isEmpty)
        #expect(try await !store.exists("models/x/1/model.bin"))
        await #expect(throws: TrainyardError.self) { _ = try await store.get("models/x/1/model.bin") }
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("artifacts").path))
    }

    @Test func staleTemporaryFilesAreRemovedAndLiveOnesKept() async throws {
        let root = try temporaryDirectory("trainyard-stale")
        let store = try FileArtifactStore(root: root)
        try await store.put("models/x/1/model.bin", data: Data("m".utf8))
        let folder = store.root.appendingPathComponent("models/x/1")
        let stale = folder.appendingPathComponent(".tmp-\(UUID().uuidString)")
        let live = folder.appendingPathComponent(".tmp-\(UUID().uuidString)")
        try Data(repeating: 0, count: 4096).write(to: stale)
        try Data(repeating: 0, count: 10).write(to: live)
        let hourAgo = Date().addingTimeInterval(-3600)
        try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: stale.path)
        try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: folder.appendingPathComponent("model.bin").path)

        let freed = store.removeStaleTemporaryFiles(olderThan: 60)
        #expect(freed.files == 1 && freed.bytes == 4096)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(FileManager.default.fileExists(atPath: live.path))
        #expect(try await store.get("models/x/1/model.bin") == Data("m".utf8)) // old, but not a temporary file
    }
}
