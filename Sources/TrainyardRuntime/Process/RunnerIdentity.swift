#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TrainyardCore

/// The user a bring-your-own program runs as (`runner.user`), resolved once in the parent: the
/// child cannot look users up (no allocation, no NSS between fork and exec).
public struct RunnerIdentity: Sendable, Equatable {
    public var name: String
    public var uid: uid_t
    public var gid: gid_t
    public var groups: [gid_t]
    public var home: String

    /// The identity children switch to: nil unless `runner.user` is set and the server runs as
    /// root (only root can switch; a non-root server's children run as the server's user).
    public static func forChildren(_ options: RunnerOptions) throws(TrainyardError) -> RunnerIdentity? {
        guard let user = options.user, geteuid() == 0 else { return nil }
        return try resolve(user)
    }

    /// Looks up a user by name or numeric uid, with its primary and supplementary groups.
    public static func resolve(_ user: String) throws(TrainyardError) -> RunnerIdentity {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        let status: Int32 = if let uid = uid_t(user) {
            getpwuid_r(uid, &entry, &buffer, buffer.count, &found)
        } else {
            getpwnam_r(user, &entry, &buffer, buffer.count, &found)
        }
        guard status == 0, found != nil else {
            throw TrainyardError(.invalidArgument, "runner.user: no user \"\(user)\" on this machine")
        }
        let name = String(cString: entry.pw_name)
        let home = entry.pw_dir.map { String(cString: $0) } ?? "/"
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        #if canImport(Darwin)
        var signedGroups = [Int32](repeating: 0, count: Int(count))
        if getgrouplist(entry.pw_name, Int32(bitPattern: entry.pw_gid), &signedGroups, &count) < 0 { count = 0 }
        groups = signedGroups.prefix(Int(count)).map { gid_t(bitPattern: $0) }
        #else
        if getgrouplist(entry.pw_name, entry.pw_gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            if getgrouplist(entry.pw_name, entry.pw_gid, &groups, &count) < 0 { count = 0 }
        }
        groups = Array(groups.prefix(Int(count)))
        #endif
        if groups.isEmpty { groups = [entry.pw_gid] }
        return RunnerIdentity(name: name, uid: entry.pw_uid, gid: entry.pw_gid, groups: groups, home: home)
    }

    /// Makes `folders` (and everything in them) belong to this user: the program runs as it and
    /// must be able to write its model and checkpoint.
    public func takeOwnership(of folders: [URL]) throws(TrainyardError) {
        for folder in folders {
            var failure: String?
            func own(_ path: String) {
                if lchown(path, uid, gid) != 0, failure == nil { failure = "\(path): \(String(cString: strerror(errno)))" }
            }
            own(folder.path)
            if let walker = FileManager.default.enumerator(atPath: folder.path) {
                while let relative = walker.nextObject() as? String { own(folder.appendingPathComponent(relative).path) }
            }
            if let failure {
                throw TrainyardError(.internal, "could not hand the job's folder to runner.user \(name): \(failure)")
            }
        }
    }
}
