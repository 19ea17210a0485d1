import Crypto
import Foundation
import TrainyardCore

/// An `ArtifactStore` in a local folder: `{root}/{project}/{env}/{key}`.
///
/// Writes go to a temporary file (`.tmp-…`) in the destination folder and are renamed into
/// place, so a reader (or a crash) never sees half an object; the temporary file is removed on
/// any failure, so a full disk is not made fuller by the attempt that found it full. The sha256
/// of every object is computed while writing and returned, for manifests and content addressing.
///
/// Folders are created 0700 and files 0600, and only when something is written: reading a store
/// (even a read-only one) creates nothing.
public struct FileArtifactStore: ArtifactStore {
    public let root: URL
    /// Writes one chunk to an open file, with `write(2)`'s contract (bytes written, or -1 and
    /// `errno`). Replaceable so that tests can give the errors of a full, over-quota or read-only
    /// disk (ENOSPC, EDQUOT, EROFS) at any point of a write; `path` is the file being written.
    typealias WriteChunk = @Sendable (_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) -> Int
    let writeChunk: WriteChunk

    static let systemWrite: WriteChunk = { fd, bytes, _ in write(fd, bytes.baseAddress, bytes.count) }

    public init(root: URL, namespace: Namespace = Namespace()) throws {
        self.init(namespacedRoot: root.appendingPathComponent(namespace.keyPrefix, isDirectory: true), writeChunk: Self.systemWrite)
    }

    /// The same folder with writes going through `writeChunk` (fault injection in tests).
    init(namespacedRoot: URL, writeChunk: @escaping WriteChunk) {
        self.root = namespacedRoot
        self.writeChunk = writeChunk
    }

    public var location: String { root.absoluteString }

    func url(_ key: String) throws -> URL {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.isEmpty, !key.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            throw TrainyardError(.invalidArgument, "invalid artifact key \"\(key)\"")
        }
        return root.appendingPathComponent(key)
    }

    @discardableResult
    public func put(_ key: String, data: Data) async throws -> StoredObject {
        let target = try url(key)
        try await runBlocking {
            try writeAtomically(to: target, naming: key) { file in
                try data.withUnsafeBytes { try file.write($0) }
            }
        }
        return StoredObject(key: key, sha256: SHA256.hex(of: data), bytes: Int64(data.count))
    }

    @discardableResult
    public func put(_ key: String, file: URL) async throws -> StoredObject {
        let target = try url(key)
        let (digest, size) = try await runBlocking {
            try writeAtomically(to: target, naming: key) { try Self.copyHashing(from: file, to: $0) }
        }
        return StoredObject(key: key, sha256: digest, bytes: size)
    }

    public func get(_ key: String) async throws -> Data {
        let source = try url(key)
        return try await runBlocking {
            guard FileManager.default.fileExists(atPath: source.path) else { throw TrainyardError.notFound("artifact \(key)") }
            return try Data(contentsOf: source)
        }
    }

    public func download(_ key: String, to file: URL) async throws {
        let source = try url(key)
        _ = try await runBlocking {
            guard FileManager.default.fileExists(atPath: source.path) else { throw TrainyardError.notFound("artifact \(key)") }
            return try writeAtomically(to: file, naming: file.path) { try Self.copyHashing(from: source, to: $0) }
        }
    }

    public func exists(_ key: String) async throws -> Bool {
        FileManager.default.fileExists(atPath: try url(key).path)
    }

    public func list(prefix: String) async throws -> [String] {
        try await runBlocking { listBlocking(prefix: prefix) }
    }

    func listBlocking(prefix: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        let rootPath = root.standardizedFileURL.path
        var keys: [String] = []
        for case let file as URL in enumerator {
            guard (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            var key = String(file.standardizedFileURL.path.dropFirst(rootPath.count))
            if key.hasPrefix("/") { key.removeFirst() }
            if key.hasPrefix(prefix), !Self.isTemporary(file.lastPathComponent) { keys.append(key) }
        }
        return keys.sorted()
    }

    public func delete(_ key: String) async throws {
        let target = try url(key)
        try await runBlocking {
            if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
            pruneEmptyFolders(from: target.deletingLastPathComponent())
        }
    }

    /// Removes `folder` and its parents while they are empty, up to (not including) the root:
    /// a deleted or published prefix leaves no empty folders behind. rmdir(2) refuses a folder
    /// that is not empty, so a concurrent writer's folder is never taken from under it.
    func pruneEmptyFolders(from folder: URL) {
        let rootPath = root.standardizedFileURL.path
        var current = folder.standardizedFileURL
        while current.path.hasPrefix(rootPath + "/"), rmdir(current.path) == 0 {
            current = current.deletingLastPathComponent()
        }
    }

    /// One rename(2) of the source folder onto the destination folder. rename(2) replaces only
    /// an empty folder: when the destination holds anything it fails (ENOTEMPTY or EEXIST), so
    /// the whole version appears at once or not at all, and a published one is never replaced.
    public func publish(_ source: String, to destination: String) async throws -> PublicationOutcome {
        let from = try folder(source), to = try folder(destination)
        return try await runBlocking {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: from.path, isDirectory: &isFolder), isFolder.boolValue else {
                throw TrainyardError.notFound("nothing to publish under \(source)")
            }
            try PrivateFiles.makeDirectory(to.deletingLastPathComponent())
            if rename(from.path, to.path) == 0 {
                pruneEmptyFolders(from: from.deletingLastPathComponent())
                return .published
            }
            let code = errno
            if code == ENOTEMPTY || code == EEXIST { return .occupied }
            throw PrivateFiles.ioError(code, "publishing", destination)
        }
    }

    /// The folder of a key prefix (`models/iris/3/`).
    func folder(_ prefix: String) throws -> URL {
        guard prefix.hasSuffix("/") else { throw TrainyardError(.invalidArgument, "invalid artifact prefix \"\(prefix)\" (must end in /)") }
        return try url(String(prefix.dropLast()))
    }

    /// Whether a file name is one of the store's in-flight writes (never a key).
    static func isTemporary(_ name: String) -> Bool { name.hasPrefix(".tmp-") || name.hasPrefix(".download-") }

    /// Removes temporary files last modified more than `age` ago: the leftovers of writers that
    /// were killed mid-write. A live writer touches its file with every chunk, so `age` only has
    /// to exceed the longest pause between two chunks (the worker uses twice the lease).
    /// Returns how many files and bytes were freed.
    @discardableResult
    public func removeStaleTemporaryFiles(olderThan age: TimeInterval, now: Date = Date()) -> (files: Int, bytes: Int64) {
        let keys: [URLResourceKey] = [.isRegularFileKey, .contentModificationDateKey, .fileSizeKey]
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys) else { return (0, 0) }
        var freed = (files: 0, bytes: Int64(0))
        for case let file as URL in walker where Self.isTemporary(file.lastPathComponent) {
            guard let values = try? file.resourceValues(forKeys: Set(keys)), values.isRegularFile == true,
                  let modified = values.contentModificationDate, now.timeIntervalSince(modified) > age else { continue }
            if (try? FileManager.default.removeItem(at: file)) != nil {
                freed.files += 1
                freed.bytes += Int64(values.fileSize ?? 0)
            }
        }
        return freed
    }

    /// An open temporary file being filled.
    struct TemporaryFile {
        let descriptor: Int32
        let path: String
        /// What the error messages call it (the key, or the local file downloaded to).
        let name: String
        let writeChunk: WriteChunk

        func write(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
                let n = writeChunk(descriptor, rest, path)
                if n < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    throw PrivateFiles.ioError(code, "writing", name)
                }
                offset += n
            }
        }
    }

    /// Fills a new temporary file beside `destination` and renames it into place. On any
    /// failure (a full disk, a read error, a failed rename) the temporary file is removed.
    @discardableResult
    func writeAtomically<T>(to destination: URL, naming name: String, _ fill: (TemporaryFile) throws -> T) throws -> T {
        let folder = destination.deletingLastPathComponent()
        try PrivateFiles.makeDirectory(folder)
        let temporary = folder.appendingPathComponent(".tmp-\(UUID().uuidString)")
        let descriptor: Int32
        do { descriptor = try PrivateFiles.createFile(temporary) } catch let error as TrainyardError {
            throw TrainyardError(error.code, error.message.replacingOccurrences(of: temporary.path, with: name))
        }
        var isOpen = true
        do {
            let result = try fill(TemporaryFile(descriptor: descriptor, path: temporary.path, name: name, writeChunk: writeChunk))
            isOpen = false
            // close(2) is where some file systems (NFS, quotas) report that the data did not fit.
            guard close(descriptor) == 0 else { throw PrivateFiles.ioError(errno, "writing", name) }
            try Self.moveReplacing(temporary, to: destination)
            return result
        } catch {
            if isOpen { close(descriptor) }
            unlink(temporary.path)
            throw error
        }
    }

    static func moveReplacing(_ source: URL, to destination: URL) throws {
        // rename(2) replaces atomically on POSIX file systems.
        guard rename(source.path, destination.path) == 0 else {
            let code = errno
            unlink(source.path)
            throw TrainyardError(.internal, "could not move artifact into place at \(destination.path): \(String(cString: strerror(code)))")
        }
    }

    /// Streams `source` into `destination` in 1 MiB chunks, hashing as it goes.
    static func copyHashing(from source: URL, to destination: TemporaryFile) throws -> (String, Int64) {
        let input = open(source.path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            let code = errno
            if code == ENOENT { throw TrainyardError.notFound("file \(source.path)") }
            throw PrivateFiles.ioError(code, "reading", source.path)
        }
        defer { close(input) }
        var hasher = SHA256()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PrivateFiles.ioError(errno, "reading", source.path)
            }
            if n == 0 { break }
            try buffer.withUnsafeBytes { bytes in
                let chunk = UnsafeRawBufferPointer(rebasing: bytes[0..<n])
                hasher.update(bufferPointer: chunk)
                try destination.write(chunk)
            }
            size += Int64(n)
        }
        return (hasher.finalize().hex, size)
    }
}
