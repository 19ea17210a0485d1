import Crypto
import Foundation
import TrainyardCore

/// An `ArtifactStore` in a local folder: `{root}/{project}/{env}/{key}`.
///
/// Writes go to a temporary file in the destination folder and are renamed into place, so a
/// reader (or a crash) never sees half an object. The sha256 of every object is computed
/// while writing and returned, for manifests and content addressing.
public struct FileArtifactStore: ArtifactStore {
    public let root: URL

    public init(root: URL, namespace: Namespace = Namespace()) throws {
        self.root = root.appendingPathComponent(namespace.keyPrefix, isDirectory: true)
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
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
        let destination = try url(key)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = destination.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        try data.write(to: temporary)
        try Self.moveReplacing(temporary, to: destination)
        return StoredObject(key: key, sha256: SHA256.hex(of: data), bytes: Int64(data.count))
    }

    @discardableResult
    public func put(_ key: String, file: URL) async throws -> StoredObject {
        let destination = try url(key)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = destination.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        let (digest, size) = try Self.copyHashing(from: file, to: temporary)
        try Self.moveReplacing(temporary, to: destination)
        return StoredObject(key: key, sha256: digest, bytes: size)
    }

    public func get(_ key: String) async throws -> Data {
        let source = try url(key)
        guard FileManager.default.fileExists(atPath: source.path) else { throw TrainyardError.notFound("artifact \(key)") }
        return try Data(contentsOf: source)
    }

    public func download(_ key: String, to file: URL) async throws {
        let source = try url(key)
        guard FileManager.default.fileExists(atPath: source.path) else { throw TrainyardError.notFound("artifact \(key)") }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        _ = try Self.copyHashing(from: source, to: temporary)
        try Self.moveReplacing(temporary, to: file)
    }

    public func exists(_ key: String) async throws -> Bool {
        FileManager.default.fileExists(atPath: try url(key).path)
    }

    public func list(prefix: String) async throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        let rootPath = root.standardizedFileURL.path
        var keys: [String] = []
        for case let file as URL in enumerator {
            guard (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            var key = String(file.standardizedFileURL.path.dropFirst(rootPath.count))
            if key.hasPrefix("/") { key.removeFirst() }
            if key.hasPrefix(prefix), !(key.split(separator: "/").last?.hasPrefix(".tmp-") ?? false) { keys.append(key) }
        }
        return keys.sorted()
    }

    public func delete(_ key: String) async throws {
        let target = try url(key)
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
    }

    static func moveReplacing(_ source: URL, to destination: URL) throws {
        // rename(2) replaces atomically on POSIX file systems.
        guard rename(source.path, destination.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: source)
            throw TrainyardError(.internal, "could not move artifact into place at \(destination.path): \(String(cString: strerror(code)))")
        }
    }

    /// Streams `source` into `destination` in 1 MiB chunks, hashing as it goes.
    static func copyHashing(from source: URL, to destination: URL) throws -> (String, Int64) {
        guard let input = InputStream(url: source) else { throw TrainyardError.notFound("file \(source.path)") }
        guard FileManager.default.createFile(atPath: destination.path, contents: nil) else {
            throw TrainyardError(.internal, "could not create \(destination.path)")
        }
        let output = try FileHandle(forWritingTo: destination)
        defer { try? output.close() }
        input.open()
        defer { input.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = input.read(&buffer, maxLength: buffer.count)
            if n < 0 { throw TrainyardError(.internal, "could not read \(source.path): \(input.streamError.map { "\($0)" } ?? "error")") }
            if n == 0 { break }
            let chunk = Data(buffer[0..<n])
            hasher.update(data: chunk)
            try output.write(contentsOf: chunk)
            size += Int64(n)
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), size)
    }
}
