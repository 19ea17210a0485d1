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
        try ArtifactKeys.validate(key)
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

    /// Appends each chunk to a temporary file as it arrives (off the cooperative pool) and
    /// renames it into place after the last one; on any error, the temporary file is removed.
    @discardableResult
    public func put<Chunks: AsyncSequence>(_ key: String, from chunks: Chunks) async throws -> StoredObject where Chunks.Element == Data {
        let target = try url(key)
        let file = try await runBlocking { try openTemporary(beside: target, naming: key) }
        do {
            var hasher = SHA256()
            var size: Int64 = 0
            for try await chunk in chunks where !chunk.isEmpty {
                hasher.update(data: chunk)
                size += Int64(chunk.count)
                try await runBlocking { try chunk.withUnsafeBytes { try file.write($0) } }
            }
            // An AsyncStream ends (rather than throws) when its task is cancelled: never
            // publish what a cancelled writer had sent so far as the whole object.
            try Task.checkCancellation()
            try await runBlocking { try file.commit(to: target) }
            return StoredObject(key: key, sha256: hasher.finalize().hex, bytes: size)
        } catch {
            file.discard()
            throw error
        }
    }

    public func get(_ key: String) async throws -> Data {
        let source = try url(key)
        return try await runBlocking {
            guard Self.isObject(source) else { throw TrainyardError.notFound("artifact \(key)") }
            return try Data(contentsOf: source)
        }
    }

    /// Reads `ArtifactKeys.chunkBytes` at a time off the cooperative pool, hashing as it goes;
    /// the file stays open only for the duration of the call.
    @discardableResult
    public func read(_ key: String, chunks consume: (Data) async throws -> Void) async throws -> StoredObject {
        let source = try url(key)
        let descriptor = try await runBlocking {
            guard Self.isObject(source) else { throw TrainyardError.notFound("artifact \(key)") }
            let descriptor = open(source.path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                if errno == ENOENT { throw TrainyardError.notFound("artifact \(key)") }
                throw PrivateFiles.ioError(errno, "reading", key)
            }
            return descriptor
        }
        defer { close(descriptor) }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let chunk = try await runBlocking { try Self.readChunk(descriptor, naming: key) }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            size += Int64(chunk.count)
            try await consume(chunk)
        }
        return StoredObject(key: key, sha256: hasher.finalize().hex, bytes: size)
    }

    @discardableResult
    public func download(_ key: String, to file: URL) async throws -> StoredObject {
        let source = try url(key)
        let (digest, size) = try await runBlocking {
            guard Self.isObject(source) else { throw TrainyardError.notFound("artifact \(key)") }
            return try writeAtomically(to: file, naming: file.path) { try Self.copyHashing(from: source, to: $0) }
        }
        return StoredObject(key: key, sha256: digest, bytes: size)
    }

    public func exists(_ key: String) async throws -> Bool {
        Self.isObject(try url(key))
    }

    /// Objects are regular files; a folder is only a prefix of other keys.
    static func isObject(_ file: URL) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: file.path, isDirectory: &isFolder) && !isFolder.boolValue
    }

    /// Up to `ArtifactKeys.chunkBytes` from an open file; empty at its end.
    static func readChunk(_ descriptor: Int32, naming name: String) throws -> Data {
        var chunk = Data(count: ArtifactKeys.chunkBytes)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if n >= 0 { return chunk.prefix(n) }
            if errno != EINTR { throw PrivateFiles.ioError(errno, "reading", name) }
        }
    }

    /// Moves a file already on this store's file system into place at `key` (one rename, no
    /// copy): for a cache that downloaded it beside the store and already knows its digest.
    func moveIn(_ file: URL, as key: String) async throws {
        let target = try url(key)
        try await runBlocking {
            try PrivateFiles.makeDirectory(target.deletingLastPathComponent())
            try Self.moveReplacing(file, to: target)
        }
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
            // Only an object: removing a folder would take every key under that prefix with it.
            guard Self.isObject(target) else { return }
            try FileManager.default.removeItem(at: target)
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
        root.appendingPathComponent(try ArtifactKeys.validatePrefix(prefix))
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
    struct TemporaryFile: Sendable {
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

        /// Closes the file and renames it to `destination`; removes it if either fails.
        func commit(to destination: URL) throws {
            // close(2) is where some file systems (NFS, quotas) report that the data did not fit.
            guard close(descriptor) == 0 else {
                let code = errno
                unlink(path)
                throw PrivateFiles.ioError(code, "writing", name)
            }
            try FileArtifactStore.moveReplacing(URL(fileURLWithPath: path), to: destination)
        }

        /// Closes and removes the file: the write it was for failed.
        func discard() {
            close(descriptor)
            unlink(path)
        }
    }

    /// Creates a new temporary file beside `destination` (and its folder if missing).
    func openTemporary(beside destination: URL, naming name: String) throws -> TemporaryFile {
        let folder = destination.deletingLastPathComponent()
        try PrivateFiles.makeDirectory(folder)
        let temporary = folder.appendingPathComponent(".tmp-\(UUID().uuidString)")
        do {
            return TemporaryFile(descriptor: try PrivateFiles.createFile(temporary), path: temporary.path, name: name, writeChunk: writeChunk)
        } catch let error as TrainyardError {
            throw TrainyardError(error.code, error.message.replacingOccurrences(of: temporary.path, with: name))
        }
    }

    /// Fills a new temporary file beside `destination` and renames it into place. On any
    /// failure (a full disk, a read error, a failed rename) the temporary file is removed.
    @discardableResult
    func writeAtomically<T>(to destination: URL, naming name: String, _ fill: (TemporaryFile) throws -> T) throws -> T {
        let file = try openTemporary(beside: destination, naming: name)
        let result: T
        do { result = try fill(file) } catch {
            file.discard()
            throw error
        }
        try file.commit(to: destination)
        return result
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
            let n = buffer.withUnsafeMutableBytes { systemRead(input, $0.baseAddress, $0.count) }
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

/// read(2), named apart from the store's own `read(_:chunks:)`, which hides it inside the type.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
