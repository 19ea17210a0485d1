import Foundation

/// What every artifact store accepts as a key, checked in one place so that the folder, the
/// in-memory store and S3 refuse the same keys with the same words.
extension ArtifactKeys {
    /// The largest chunk `ArtifactStore.read` hands over, and the size the stores copy in.
    public static let chunkBytes = 1 << 20

    /// Checks that `key` is a relative path with no empty, `.` or `..` segment: nothing that
    /// could escape the store's folder or name the same object two ways.
    public static func validate(_ key: String) throws {
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.isEmpty, !key.hasPrefix("/"), !segments.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            throw TrainyardError(.invalidArgument, "invalid artifact key \"\(clientEcho(key))\": a key is a relative path (a/b/c) with no empty, \".\" or \"..\" part")
        }
    }

    /// Checks a prefix that stands for a folder of objects (`models/iris/3/`): it ends in `/`
    /// and is a valid key without it. Returns it without the `/`.
    @discardableResult
    public static func validatePrefix(_ prefix: String) throws -> String {
        guard prefix.hasSuffix("/") else {
            throw TrainyardError(.invalidArgument, "invalid artifact prefix \"\(clientEcho(prefix))\": it must end in /")
        }
        let folder = String(prefix.dropLast())
        do { try validate(folder) } catch {
            throw TrainyardError(.invalidArgument, "invalid artifact prefix \"\(clientEcho(prefix))\": a prefix is a relative path ending in / (a/b/) with no empty, \".\" or \"..\" part")
        }
        return folder
    }
}
