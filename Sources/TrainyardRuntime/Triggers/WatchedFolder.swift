#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TrainyardCore

/// Looking into a watched folder: the names matching the glob, and for a slice of them (in
/// name order, continuing where the last look stopped) their size and modification time.
///
/// Bounded whatever the folder holds: at most `maxEntries` directory entries are read per look
/// (a folder holding more is an error saying so: move processed files away), and at most
/// `limit` files are examined, so a huge backlog is worked through a slice per pass. Only
/// regular files count (a link to one is followed); folders, devices, FIFOs and sockets are
/// skipped. Blocking calls: run it off the cooperative pool (`runBlocking`).
struct WatchedFolder {
    let path: String
    let glob: GlobPattern

    struct Look {
        /// Every matching name in the folder (for forgetting files that went away).
        var names: Set<String>
        /// The examined slice.
        var files: [WatchedFile]
        /// Where the next look continues; nil when this one covered every name.
        var cursor: String?
        /// The folder holds more than `maxEntries` entries; only that many were read.
        var truncated: Bool
    }

    /// Why a folder cannot be looked into.
    static func problem(_ path: String, _ code: Int32) -> TrainyardError {
        switch code {
        case ENOENT: TrainyardError(.invalidArgument, "watch folder \(path) does not exist")
        case ENOTDIR: TrainyardError(.invalidArgument, "watch path \(path) is not a folder")
        case EACCES, EPERM: TrainyardError(.forbidden, "watch folder \(path) cannot be read: permission denied")
        default: TrainyardError(.unavailable, "watch folder \(path) cannot be read: \(String(cString: strerror(code)))")
        }
    }

    /// Refuses a path that is not an existing folder (the check made when a watch is created).
    static func checkFolder(_ path: String) throws(TrainyardError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw problem(path, errno) }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw problem(path, ENOTDIR) }
    }

    /// The real path of `path` (links resolved), nil when it does not resolve.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    func look(after cursor: String?, limit: Int, maxEntries: Int) throws(TrainyardError) -> Look {
        guard let directory = opendir(path) else { throw Self.problem(path, errno) }
        defer { closedir(directory) }
        var names: [String] = []
        var entries = 0
        var truncated = false
        while let entry = readdir(directory) {
            entries += 1
            if entries > maxEntries {
                truncated = true
                break
            }
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            if glob.matches(name) { names.append(name) }
        }
        names.sort()
        // The slice: names after the cursor, then from the start again, `limit` in all.
        var slice: [String]
        var next: String?
        if names.count <= limit {
            slice = names
        } else {
            let start = cursor.map { c in names.firstIndex { $0 > c } ?? 0 } ?? 0
            slice = Array(names[start...].prefix(limit))
            if slice.count < limit { slice += names.prefix(limit - slice.count) }
            next = slice.last
        }
        var files: [WatchedFile] = []
        for name in slice {
            let full = path == "/" ? "/" + name : path + "/" + name
            var status = stat()
            guard stat(full, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            files.append(WatchedFile(path: full, bytes: Int64(status.st_size), modified: Self.modified(status)))
        }
        return Look(names: Set(names), files: files, cursor: next, truncated: truncated)
    }

    static func modified(_ status: stat) -> Double {
        #if canImport(Darwin)
        Double(status.st_mtimespec.tv_sec) + Double(status.st_mtimespec.tv_nsec) / 1e9
        #else
        Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
        #endif
    }
}
