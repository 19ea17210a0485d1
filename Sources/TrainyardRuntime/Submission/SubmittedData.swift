import Foundation
import TrainyardCore

/// The data locations of a submitted spec, read and checked one way for `JobSubmitter.check` and
/// the `Stager`, so a check passes exactly when staging would.
enum SubmittedData {
    /// What `text` (the value of spec key `key`) names, if the policy lets the spec name it.
    /// Nothing is opened here.
    static func location(_ text: String, key: String, parsed: ParsedSpec, base: URL?, access: DataAccessPolicy) throws -> DataLocation {
        let location: DataLocation
        switch DataLocation.parse(text, base: base.map { URL(fileURLWithPath: $0.path).standardizedFileURL.path }) {
        case .success(let l): location = l
        case .failure(.invalidBlobReference):
            throw parsed.error(at: key, "\"\(clientEcho(text))\" is not a blob reference: expected artifact:sha256: and 64 lowercase hex digits")
        case .failure(.invalidFileURI):
            throw parsed.error(at: key, "invalid file URI \"\(clientEcho(text))\": expected file:///absolute/path")
        case .failure(.unsupportedScheme):
            throw parsed.error(at: key, "unsupported URI scheme in \"\(clientEcho(text))\"; use a path, file:// or s3://")
        case .failure(.relativePathWithoutBase):
            throw parsed.error(at: key, "relative path \"\(clientEcho(text))\" needs the spec's folder: submit with the CLI (`trainyard train`), which uploads local files"
                                   + (access.restrictsLocalPaths ? "" : ", or use an absolute path"))
        case .failure(.nulCharacter):
            throw parsed.error(at: key, "the location contains a NUL character")
        }
        guard access.permits(location) else { throw refusal(key: key, parsed: parsed, access: access) }
        return location
    }

    /// Opens the local file at `path` with every check (`LocalDataFile.open`) and runs `body` on
    /// it, all off the cooperative pool, within `limits.stage_seconds` and honouring cancellation.
    static func withFile<T: Sendable>(_ path: String, key: String, written text: String, parsed: ParsedSpec, access: DataAccessPolicy,
                                      limits: ResourceLimits, _ body: @escaping @Sendable (LocalDataFile, StopSignal) throws -> T) async throws -> T {
        do {
            return try await runBlocking(deadline: .seconds(limits.stageSeconds), onDeadline: {
                let message = "reading \"\(clientEcho(text))\" took longer than limits.stage_seconds (\(limits.stageSeconds) s); raise limits.stage_seconds or upload the file with `trainyard train`"
                let location = parsed.locations[key]
                return TrainyardError(.timeout, "\(key): \(message)", details: [.init(path: key, line: location?.line, column: location?.column, message: message)])
            }) { stop in
                let file = try LocalDataFile.open(path, policy: access, limits: limits)
                return try body(file, stop)
            }
        } catch let problem as LocalDataFile.Problem {
            throw error(problem, key: key, written: text, parsed: parsed, access: access)
        }
    }

    /// The spec error for a file that is not read.
    static func error(_ problem: LocalDataFile.Problem, key: String, written text: String, parsed: ParsedSpec, access: DataAccessPolicy) -> TrainyardError {
        let shown = "\"\(clientEcho(text))\""
        switch problem {
        case .refused: return refusal(key: key, parsed: parsed, access: access)
        case .doesNotExist: return parsed.error(at: key, "file \(shown) does not exist")
        case .folder: return parsed.error(at: key, "\(shown) is a folder; expected a data file")
        case .notRegularFile: return parsed.error(at: key, "\(shown) is not a regular file (a device, FIFO or socket); only regular files are read as data")
        case .pseudoFile: return parsed.error(at: key, "\(shown) is a kernel pseudo-file (/proc, /sys); only regular files are read as data")
        case .empty: return parsed.error(at: key, "file \(shown) is empty")
        case .tooLarge(let bytes, let limit):
            return parsed.error(at: key, "file \(shown) holds \(bytes) bytes or more, over limits.stage_bytes (\(limit)); raise limits.stage_bytes or use a smaller file")
        case .unreadable(let reason): return parsed.error(at: key, "file \(shown) cannot be read: \(reason)")
        }
    }

    /// 403 naming the key, the rule and `server.data_roots`; the same whatever the location, so
    /// it tells nothing about the file.
    static func refusal(key: String, parsed: ParsedSpec, access: DataAccessPolicy) -> TrainyardError {
        let message = access.refusal(for: key)
        let location = parsed.locations[key]
        return TrainyardError(.forbidden, message, details: [.init(path: key, line: location?.line, column: location?.column, message: message)])
    }
}
