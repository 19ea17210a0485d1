#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import TrainyardCore

/// A local data file a spec names, opened for reading only after every check, and read only
/// through its descriptor, never through its path again: the file checked is the file read,
/// whatever happens to the path meanwhile.
///
/// Checks, in order (`open`):
/// 1. the policy allows the path as written (else nothing is looked at: `refused`);
/// 2. the path resolves (`realpath`) to somewhere the policy allows: a symbolic link inside a
///    data root that points out of it is `refused`, whether or not its target exists;
/// 3. it is a regular file before it is opened (opening a device can have effects, opening a FIFO
///    can block), and again after, on the descriptor (`fstat`); never a kernel pseudo-file
///    (`/proc`, `/sys`: they claim to be regular files but are views of process state);
/// 4. where the descriptor really points is still allowed (Linux `/proc/self/fd`, Darwin
///    `F_GETPATH`), in case a folder on the way was swapped for a link;
/// 5. its size is within `limits.stage_bytes`, and it is not empty.
public final class LocalDataFile {
    let descriptor: Int32
    /// The resolved path that was opened.
    public let path: String
    /// The size when opened.
    public let size: Int64

    private init(descriptor: Int32, path: String, size: Int64) {
        self.descriptor = descriptor
        self.path = path
        self.size = size
    }

    deinit { _ = close(descriptor) }

    /// Why a local data file is not read.
    public enum Problem: Error, Sendable, Equatable {
        /// The data-access policy does not allow it. Said the same way whether the file exists or not.
        case refused
        case doesNotExist
        case folder
        /// A device, FIFO or socket.
        case notRegularFile
        /// A file of a kernel pseudo file system (`/proc`, `/sys`, …).
        case pseudoFile
        case empty
        /// Larger than `limits.stage_bytes` (or grew past it while being read).
        case tooLarge(bytes: Int64, limit: Int64)
        /// The operating system's reason (permission denied, I/O error).
        case unreadable(String)
    }

    /// Opens `path` (absolute, as `DataLocation.file` gives it) after the checks above.
    public static func open(_ path: String, policy: DataAccessPolicy, limits: ResourceLimits) throws(Problem) -> LocalDataFile {
        guard policy.permits(.file(path: path)) else { throw .refused }
        let resolvedRoots = (policy.roots ?? []).compactMap(realPath)
        guard let real = realPath(path) else {
            let error = errno
            // Judge where the path leads as far as it exists, following links: when that is out
            // of the roots (a dangling link out of one), the answer must be the refusal, or it
            // would tell which files exist out there.
            guard !policy.restrictsLocalPaths || policy.permits(resolvedPath: whereItLeads(path) ?? "", resolvedRoots: resolvedRoots) else {
                throw .refused
            }
            throw error == ENOENT || error == ENOTDIR ? .doesNotExist : .unreadable(describe(error))
        }
        guard policy.permits(resolvedPath: real, resolvedRoots: resolvedRoots) else { throw .refused }
        if isPseudoFile(real) { throw .pseudoFile }
        var status = stat()
        guard stat(real, &status) == 0 else { throw .unreadable(describe(errno)) }
        try checkKind(status)
        let descriptor = systemOpen(real, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            let error = errno
            // ELOOP: the last component became a link after it was resolved. Something is
            // rewriting the path right now; read nothing.
            throw error == ELOOP ? .refused : .unreadable(describe(error))
        }
        guard fstat(descriptor, &status) == 0 else {
            let error = errno
            _ = close(descriptor)
            throw .unreadable(describe(error))
        }
        // From here on the descriptor is closed with `file`, whatever is thrown.
        let file = LocalDataFile(descriptor: descriptor, path: real, size: Int64(status.st_size))
        try checkKind(status)
        if let opened = openedPath(descriptor) {
            if policy.restrictsLocalPaths && !policy.permits(resolvedPath: opened, resolvedRoots: resolvedRoots) { throw .refused }
            if isPseudoFile(opened) { throw .pseudoFile }
        }
        guard file.size > 0 else { throw .empty }
        guard file.size <= limits.stageBytes else { throw .tooLarge(bytes: file.size, limit: limits.stageBytes) }
        return file
    }

    /// Up to `count` bytes from the start of the file.
    public func prefix(_ count: Int) throws(Problem) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + filled, count - filled, off_t(filled)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(Self.describe(errno))
            }
            if n == 0 { break }
            filled += n
        }
        return Array(bytes.prefix(filled))
    }

    /// Copies the whole file to `destination` (created with mode 0600), hashing what it copies.
    /// Refuses a file that grows past `limit` while it is read; stops (`CancellationError`)
    /// when `stop` is set, between chunks.
    public func copyHashing(to destination: URL, limit: Int64, stop: StopSignal) throws -> (sha256: String, bytes: Int64) {
        let output = systemOpen(destination.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw TrainyardError(.internal, "cannot create the staging copy \(destination.path): \(Self.describe(errno))") }
        defer { _ = close(output) }
        return try Self.copyHashing(from: descriptor, to: output, limit: limit, stop: stop)
    }

    /// The copy loop on raw descriptors: any readable descriptor, so tests can hand it a pipe
    /// whose writer never closes.
    static func copyHashing(from input: Int32, to output: Int32, limit: Int64, stop: StopSignal) throws -> (sha256: String, bytes: Int64) {
        var hasher = SHA256()
        var total: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            if stop.isSet { throw CancellationError() }
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Problem.unreadable(describe(errno))
            }
            if n == 0 { break }
            total += Int64(n)
            guard total <= limit else { throw Problem.tooLarge(bytes: total, limit: limit) }
            hasher.update(data: buffer[0..<n])
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { pwrite(output, $0.baseAddress! + written, n - written, offset) }
                if w < 0 {
                    if errno == EINTR { continue }
                    throw TrainyardError(.internal, "cannot write the staging copy: \(describe(errno))")
                }
                written += w
                offset += off_t(w)
            }
        }
        return (hasher.finalize().hex, total)
    }

    /// The first `count` bytes of a data file handed to a trainer's `validateData`, read with the
    /// same file-type checks (regular file, no pseudo-file) and without following a swap of the
    /// path for something else. The submitter has already applied the policy and size limit.
    public static func prefix(of file: URL, upTo count: Int) throws(Problem) -> [UInt8] {
        let opened = try open(file.path, policy: .unrestricted, limits: ResourceLimits(stageBytes: .max))
        return try opened.prefix(count)
    }

    // MARK: - System calls

    private static func checkKind(_ status: stat) throws(Problem) {
        switch status.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw .folder
        default: throw .notRegularFile
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Where `path` leads when it does not fully exist: each existing component resolved as the
    /// kernel would (links followed, `..` taken after them), the missing rest appended as
    /// written. Nil for a loop of links.
    static func whereItLeads(_ path: String) -> String? {
        var resolved = ""
        var pending = path.split(separator: "/").map(String.init)
        var links = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            if component == "." { continue }
            if component == ".." {
                resolved = (resolved as NSString).deletingLastPathComponent
                if resolved == "/" { resolved = "" }
                continue
            }
            let candidate = resolved + "/" + component
            var status = stat()
            guard lstat(candidate, &status) == 0 else {
                return LexicalPath.standardized(([candidate] + pending).joined(separator: "/"))
            }
            guard status.st_mode & S_IFMT == S_IFLNK else {
                resolved = candidate
                continue
            }
            links += 1
            guard links <= 40, let target = readLink(candidate) else { return nil }
            if target.hasPrefix("/") { resolved = "" }
            pending = target.split(separator: "/").map(String.init) + pending
        }
        return resolved.isEmpty ? "/" : resolved
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Where an open descriptor points, as the kernel sees it; nil where that cannot be asked
    /// (no `/proc` mounted), in which case the `realpath` check before opening stands.
    private static func openedPath(_ descriptor: Int32) -> String? {
        #if os(Linux)
        return readLink("/proc/self/fd/\(descriptor)")
        #elseif canImport(Darwin)
        var buffer = [CChar](repeating: 0, count: Int(MAXPATHLEN))
        guard buffer.withUnsafeMutableBytes({ fcntl(descriptor, F_GETPATH, $0.baseAddress!) }) != -1 else { return nil }
        return String(cString: buffer)
        #else
        return nil
        #endif
    }

    /// Where the kernel's pseudo file systems live. Their "regular" files are views of process
    /// or kernel state (`/proc/self/environ`), claim sizes that are not their content's, and must
    /// never be data, whatever the policy.
    static let pseudoFileSystemRoots = ["/proc", "/sys", "/dev"]

    static func isPseudoFile(_ resolvedPath: String) -> Bool {
        pseudoFileSystemRoots.contains { LexicalPath.isWithin(resolvedPath, root: $0) }
    }

    static func describe(_ error: Int32) -> String { String(cString: strerror(error)) }
}

/// `open(2)`, named apart from `LocalDataFile.open`.
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
    #if canImport(Glibc)
    return Glibc.open(path, flags, mode)
    #else
    return Darwin.open(path, flags, mode)
    #endif
}
