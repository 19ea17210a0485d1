#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import TrainyardCore

/// The output folder of a transform: written only through temporary files named after the job
/// and attempt (`.<name>.trainyard-<job>-<attempt>.tmp`, hidden, so nothing reads them as
/// results), each moved to its final name with one `rename` at commit. A retried attempt
/// removes what an earlier attempt of the same job left, so a killed worker leaves neither a
/// partial nor a duplicate file once the job has ended.
enum TransformOutput {
    /// Creates the folder if needed and proves it can be written (a probe file), within the
    /// access policy once links are resolved.
    static func prepareFolder(_ path: String, access: DataAccessPolicy) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw TrainyardError(.invalidArgument, "output: the folder \"\(clientEcho(path))\" cannot be created: \(error.localizedDescription)")
        }
        guard let resolved = LocalDataFile.realPath(path) else { throw TrainyardError(.invalidArgument, "output: \"\(clientEcho(path))\" cannot be resolved") }
        let resolvedRoots = (access.roots ?? []).compactMap(LocalDataFile.realPath)
        guard access.permits(resolvedPath: resolved, resolvedRoots: resolvedRoots) else { throw TrainyardError(.forbidden, access.refusal(for: "output")) }
        var status = stat()
        guard stat(resolved, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
            throw TrainyardError(.invalidArgument, "output: \"\(clientEcho(path))\" is not a folder")
        }
        let probe = resolved + "/.trainyard-probe-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: probe, contents: nil) else {
            throw TrainyardError(.invalidArgument, "output: the folder \"\(clientEcho(path))\" cannot be written")
        }
        try? FileManager.default.removeItem(atPath: probe)
    }

    /// The temporary name of `relative` (a path inside `folder`) for one attempt.
    static func temporary(_ relative: String, in folder: String, job: JobID, attempt: Int) -> String {
        let url = URL(fileURLWithPath: folder).appendingPathComponent(relative)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).trainyard-\(job)-\(attempt).tmp").path
    }

    /// Removes the temporary files of earlier attempts of `job` for these outputs.
    static func removeLeftovers(of job: JobID, outputs: [String], in folder: String) {
        let fm = FileManager.default
        for relative in outputs {
            let url = URL(fileURLWithPath: folder).appendingPathComponent(relative)
            let prefix = ".\(url.lastPathComponent).trainyard-\(job)-"
            let dir = url.deletingLastPathComponent().path
            for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
                try? fm.removeItem(atPath: dir + "/" + name)
            }
        }
    }

    /// Moves a finished temporary file to its final name (replacing an older result atomically).
    static func commit(_ temporary: String, to relative: String, in folder: String) throws {
        let final = URL(fileURLWithPath: folder).appendingPathComponent(relative).path
        guard rename(temporary, final) == 0 else {
            throw TrainingFailure("cannot move \(temporary) to \(final): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes `data` to `relative` in `folder` through a temporary file and a rename.
    static func writeAtomically(_ data: Data, to relative: String, in folder: String, job: JobID, attempt: Int) throws {
        let temp = temporary(relative, in: folder, job: job, attempt: attempt)
        do { try data.write(to: URL(fileURLWithPath: temp)) } catch {
            throw TrainingFailure("cannot write \(temp): \(error.localizedDescription)")
        }
        try commit(temp, to: relative, in: folder)
    }
}

/// A file being written in order, hashed as it goes.
final class HashingFileWriter {
    let path: String
    private let handle: FileHandle
    private var hasher = SHA256()
    private(set) var bytes: Int64 = 0

    init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw TrainingFailure("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        handle = try FileHandle(forWritingTo: url)
        self.path = path
    }

    func write(_ data: some Collection<UInt8>) throws {
        guard !data.isEmpty else { return }
        let d = Data(data)
        hasher.update(data: d)
        try handle.write(contentsOf: d)
        bytes += Int64(d.count)
    }

    /// Flushes to disk (a committed output survives a crash) and returns the sha256.
    func finish() throws -> String {
        try handle.synchronize()
        try handle.close()
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func abandon() {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}
