/// Which data a spec (and later a transform or watch) may name, decided by where it comes from.
///
/// A server that others can reach (it has `auth.tokens`, or binds beyond loopback) runs specs
/// written by whoever holds a `train` token, with the server's own rights on its file system. It
/// must not become a way to read the server's files (`/proc/self/environ`, `/etc/shadow`, the
/// store), nor to learn which files exist. So a spec submitted over HTTP to such a server may only
/// name:
/// - data uploaded as a blob (`artifact:sha256:…`, which `trainyard train` sends for local files),
/// - `s3://` URIs,
/// - files under `server.data_roots`, after symbolic links are resolved.
/// The same rule applies to outputs a spec writes.
///
/// A loopback server without tokens is one person on their own machine, and the CLI reads files
/// as the user who runs it: neither restricts local paths (`unrestricted`). Whatever the policy,
/// only regular files are read, within `limits.stage_bytes` and `limits.stage_seconds`.
///
/// This type only decides; it never touches the file system. Opening, resolving and the checks on
/// the opened file are the runtime's (`LocalDataFile`).
public struct DataAccessPolicy: Sendable, Equatable {
    /// The folders local files must lie under (absolute, standardized); nil when local paths are
    /// not restricted.
    public let roots: [String]?

    /// Local paths allowed anywhere: the CLI, a loopback server without tokens.
    public static let unrestricted = DataAccessPolicy(roots: nil)

    /// Local files only under `roots`. Roots that are not absolute paths are ignored: they could
    /// only be resolved against the server's working folder, which nobody means.
    public static func restricted(to roots: [String]) -> DataAccessPolicy {
        var seen: Set<String> = []
        return DataAccessPolicy(roots: roots.compactMap(LexicalPath.standardized).filter { seen.insert($0).inserted })
    }

    private init(roots: [String]?) { self.roots = roots }

    /// The policy for specs submitted over HTTP: restricted when the server has tokens or binds
    /// beyond loopback (anyone else may be sending them), unrestricted otherwise.
    public static func forHTTPSubmissions(tokensConfigured: Bool, serverHost: String, dataRoots: [String]) -> DataAccessPolicy {
        tokensConfigured || !isLoopback(serverHost) ? .restricted(to: dataRoots) : .unrestricted
    }

    /// `forHTTPSubmissions` for a server with this configuration.
    public static func forHTTPSubmissions(_ configuration: TrainyardConfiguration) -> DataAccessPolicy {
        forHTTPSubmissions(tokensConfigured: !configuration.tokens.isEmpty, serverHost: configuration.serverHost,
                           dataRoots: configuration.dataRoots)
    }

    public var restrictsLocalPaths: Bool { roots != nil }

    /// Whether a spec may name `location`, judged on its text before anything is opened: a refused
    /// location is never looked at, so a refusal says nothing about whether the file exists.
    public func permits(_ location: DataLocation) -> Bool {
        switch location {
        case .blob, .s3: return true
        case .file(let path): return permits(path: path, roots: roots)
        }
    }

    /// Whether an opened file may be read, given where it really is: `resolvedPath` with every
    /// symbolic link resolved, checked against the roots resolved the same way (`resolvedRoots`,
    /// one entry per root that exists). Catches a symlink inside a root that points out of it.
    public func permits(resolvedPath: String, resolvedRoots: [String]) -> Bool {
        guard roots != nil else { return true }
        return permits(path: resolvedPath, roots: resolvedRoots.compactMap(LexicalPath.standardized))
    }

    private func permits(path: String, roots: [String]?) -> Bool {
        guard let roots else { return true }
        guard let path = LexicalPath.standardized(path) else { return false }
        return roots.contains { LexicalPath.isWithin(path, root: $0) }
    }

    /// The refusal for spec key `key` (`data.train`): the rule and the configuration key that
    /// widens it. The same text whatever the location, so it cannot tell one file from another.
    public func refusal(for key: String) -> String {
        let configured = (roots ?? []).isEmpty ? "none are configured" : "configured: " + (roots ?? []).joined(separator: ", ")
        return "\(key): this server only reads data uploaded as a blob (artifact:sha256:…, as `trainyard train` uploads local files), "
            + "an s3:// URI, or a file under server.data_roots (\(configured)); the location given is not one of these"
    }
}
