import Foundation
import TrainyardCore

/// How a submission treats spec data named by URI (`data.train: s3://bucket/key`).
public enum DataObjectAccess: Sendable {
    /// This process has no S3: such data is refused, saying so.
    case unavailable
    /// Checked and pinned through this store: the object exists, is within
    /// `limits.stage_bytes`, and its ETag is written into the job's spec, so the worker trains
    /// on exactly the object that was checked (or fails saying it changed).
    case pinned(any DataObjectStore)
    /// Left as written for the server the spec is sent to, which checks and pins it (the CLI
    /// submitting to `--server`: the server, not this machine, reads the bucket).
    case forwarded

    /// `.pinned` on `store` when there is one, else `.unavailable`.
    public static func from(_ store: (any DataObjectStore)?) -> DataObjectAccess {
        store.map { .pinned($0) } ?? .unavailable
    }
}

/// Spec data that is an object named by URI: pinned at submit (HEAD: it exists, its size is
/// within `limits.stage_bytes`, its ETag), and the first bytes fetched for the task's own data
/// checks (a CSV header naming the target), exactly as a local file is checked. The object is
/// never copied into the artifact store: the worker downloads it, checked against the pin.
enum SubmittedObjects {
    /// Bytes fetched for the task's header checks: the first 64 KiB, and up to 8 MiB (the
    /// longest header the learners accept) only when those hold no line break.
    static let firstBytes: Int64 = 64 << 10
    static let headerBytes: Int64 = 8 << 20

    /// The object's identity, after the checks a local data file gets (exists, not empty,
    /// within `limits.stage_bytes`), each refusal naming the spec key and the URI.
    static func pin(_ uri: String, key: String, parsed: ParsedSpec, store: any DataObjectStore, limits: ResourceLimits) async throws -> DataObjectIdentity {
        let shown = "\"\(clientEcho(uri))\""
        let identity: DataObjectIdentity?
        do {
            identity = try await store.head(uri)
        } catch let error as TrainyardError {
            throw specError(error, key: key, parsed: parsed)
        }
        guard let identity else { throw parsed.error(at: key, "\(shown): no such object") }
        if identity.bytes == 0 { throw parsed.error(at: key, "object \(shown) is empty") }
        if identity.bytes > limits.stageBytes {
            throw parsed.error(at: key, "object \(shown) holds \(identity.bytes) bytes, over limits.stage_bytes (\(limits.stageBytes)); raise limits.stage_bytes or use a smaller object")
        }
        return identity
    }

    /// The object's first bytes in `folder`, under the object's own name (so the task's
    /// messages name it), read only if it is still the pinned object.
    static func header(of identity: DataObjectIdentity, key: String, parsed: ParsedSpec, store: any DataObjectStore, into folder: URL) async throws -> URL {
        let name = identity.uri.split(separator: "/").last.map(String.init) ?? "data"
        let file = folder.appendingPathComponent(key, isDirectory: true).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        do {
            var bytes = try await read(identity, upTo: firstBytes, store: store)
            if Int64(bytes.count) < identity.bytes, !bytes.contains(0x0A), !bytes.contains(0x0D) {
                bytes = try await read(identity, upTo: headerBytes, store: store)
            }
            try bytes.write(to: file)
        } catch let error as TrainyardError {
            throw specError(error, key: key, parsed: parsed)
        }
        return file
    }

    static func read(_ identity: DataObjectIdentity, upTo count: Int64, store: any DataObjectStore) async throws -> Data {
        var bytes = Data()
        try await store.read(identity.uri, range: 0..<min(identity.bytes, count), expecting: identity) { bytes.append($0) }
        return bytes
    }

    /// A store's refusal as a spec error at `key` (400 / exit 2, with the key's line), except
    /// an unreachable store, which stays a 503: the spec is not at fault.
    static func specError(_ error: TrainyardError, key: String, parsed: ParsedSpec) -> TrainyardError {
        var said = parsed.error(at: key, error.message)
        if error.code == .unavailable || error.code == .timeout { said.code = error.code }
        return said
    }

    /// This process has no S3: `s3://` data cannot be read here.
    static func unavailable(key: String, parsed: ParsedSpec) -> TrainyardError {
        parsed.error(at: key, "s3:// data needs S3, which this process is not configured for (TRAINYARD_S3_ENDPOINT or AWS's endpoint settings, and AWS credentials); upload the file with `trainyard train` instead")
    }
}
