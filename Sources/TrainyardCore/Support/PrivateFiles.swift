import Foundation

/// Creating the store's folders and files so that only their owner can read them (0700 / 0600):
/// models, job logs, specs and staged data are nobody else's business on a shared machine.
/// In Core because both the stores and the runtime (attempt folders) create them.
///
/// POSIX calls rather than `FileManager`, whose defaults (0755 / 0644) are the problem, and
/// whose intermediate folders would not get the mode asked for.
public enum PrivateFiles {
    public static let directoryMode: mode_t = 0o700
    public static let fileMode: mode_t = 0o600
    /// The data folder: others may pass through it (to a job's working folder handed to
    /// `runner.user`) but not list it; what it holds is 0700 / 0600.
    public static let traversableDirectoryMode: mode_t = 0o711

    /// Creates `url` and every missing folder above it with `mode` (0700 unless said). Existing
    /// folders are left as they are (a folder the user made is theirs to set).
    public static func makeDirectory(_ url: URL, mode: mode_t = directoryMode) throws {
        let path = url.standardizedFileURL.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw TrainyardError(.internal, "\(path) is a file, not a folder") }
            return
        }
        let parent = url.standardizedFileURL.deletingLastPathComponent()
        if parent.path != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode) == 0 {
            // mkdir(2) applies the umask; chmod gives exactly `mode` (a 077 umask would drop 0711's x bits).
            guard chmod(path, mode) == 0 else { throw ioError(errno, "creating the folder", path) }
        } else if errno != EEXIST {
            throw ioError(errno, "creating the folder", path)
        }
    }

    /// Creates a new file (it must not exist) with mode 0600, open for writing.
    public static func createFile(_ url: URL) throws -> Int32 {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
        guard fd >= 0 else { throw ioError(errno, "creating", url.path) }
        return fd
    }

    /// An I/O failure with the system's own words first: "no space left on device while
    /// writing models/x/3/model.bin". Full, over-quota and read-only disks are `unavailable`
    /// (the system's condition, worth retrying once it is fixed), never a client mistake.
    public static func ioError(_ code: Int32, _ action: String, _ what: String) -> TrainyardError {
        var text = String(cString: strerror(code))
        if let first = text.first { text = first.lowercased() + text.dropFirst() }
        return TrainyardError(.unavailable, "\(text) while \(action) \(what)")
    }
}
