import Foundation

/// Where the metadata store (registry + queue) lives: the `metadata` URL
/// (`TRAINYARD_METADATA_URL`, `--metadata`), parsed and checked but not opened.
///
/// Opening one is the application builder's job (`TrainyardApp`), the only place that knows
/// the concrete store types; this value only says which kind and where.
public enum MetadataBackend: Sendable, Equatable, CustomStringConvertible {
    /// An SQLite file: `sqlite:///abs/path/trainyard.sqlite`.
    case sqlite(file: URL)
    /// A PostgreSQL database: `postgres://user@host:5432/database` (or `postgresql://`). The URL
    /// may carry a password; `description` never shows it.
    case postgres(url: URL)
    /// `memory:`: in this process only, gone when it exits (fast tests, trying things out).
    case memory

    /// Parses a `metadata` URL; `key` names the setting in errors.
    public init(parsing text: String, key: String = "metadata") throws(TrainyardError) {
        let url = try BackendURL(text, key: key, expected: "sqlite:///absolute/path/trainyard.sqlite or postgres://user@host:5432/database")
        switch url.scheme {
        case "memory":
            try url.requireNothingElse(example: "memory:")
            self = .memory
        case "sqlite":
            self = .sqlite(file: try url.absoluteFilePath(example: "sqlite:///absolute/path/trainyard.sqlite"))
        case "postgres", "postgresql":
            self = .postgres(url: try url.server(example: "postgres://user@host:5432/database", needsPath: "a database name"))
        default:
            throw url.unknownScheme(supported: "sqlite://, postgres:// or memory:")
        }
    }

    /// The URL with any password replaced by `***`, for logs and errors.
    public var description: String {
        switch self {
        case .sqlite(let file): "sqlite://\(file.path)"
        case .postgres(let url): BackendURL.redacted(url)
        case .memory: "memory:"
        }
    }
}

/// Where artifacts (models, logs, staged data) live: the `artifacts` URL
/// (`TRAINYARD_ARTIFACTS_URL`, `--artifacts`), parsed and checked but not opened.
public enum ArtifactBackend: Sendable, Equatable, CustomStringConvertible {
    /// A folder: `file:///abs/path`.
    case folder(URL)
    /// An S3 bucket and key prefix (empty for the whole bucket): `s3://bucket/prefix`.
    case s3(bucket: String, prefix: String)
    /// `memory:`: in this process only, gone when it exits (fast tests, trying things out).
    case memory

    /// Parses an `artifacts` URL; `key` names the setting in errors.
    public init(parsing text: String, key: String = "artifacts") throws(TrainyardError) {
        let url = try BackendURL(text, key: key, expected: "file:///absolute/path or s3://bucket/prefix")
        switch url.scheme {
        case "memory":
            try url.requireNothingElse(example: "memory:")
            self = .memory
        case "file":
            self = .folder(try url.absoluteFilePath(example: "file:///absolute/path"))
        case "s3":
            let server = try url.server(example: "s3://bucket/prefix", needsPath: nil)
            // URLComponents keeps a trailing slash (URL.path drops it).
            var prefix = url.components.path
            while prefix.hasPrefix("/") { prefix.removeFirst() }
            self = .s3(bucket: server.host ?? "", prefix: prefix)
        default:
            throw url.unknownScheme(supported: "file://, s3:// or memory:")
        }
    }

    public var description: String {
        switch self {
        case .folder(let folder): "file://\(folder.path)"
        case .s3(let bucket, let prefix): "s3://\(bucket)/\(prefix)"
        case .memory: "memory:"
        }
    }
}

/// A backend URL being checked: its scheme and parts, and the key it was given under (every
/// error names the key and shows the URL without its password).
struct BackendURL {
    let key: String
    let components: URLComponents
    let scheme: String
    private let shown: String

    init(_ text: String, key: String, expected: String) throws(TrainyardError) {
        self.key = key
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(), !scheme.isEmpty else {
            // Unparsable text is not quoted: it may hold a password the parser could not find.
            throw TrainyardError(.invalidArgument, "\(key): not a backend URL; expected \(expected)")
        }
        self.components = components
        self.scheme = scheme
        self.shown = clientEcho(Self.redacted(components))
    }

    /// `sqlite:///abs` / `file:///abs`: no host, an absolute path, nothing else.
    func absoluteFilePath(example: String) throws(TrainyardError) -> URL {
        let path = components.path
        guard components.host?.isEmpty ?? true, components.user == nil, components.port == nil else {
            throw invalid("the path must be absolute, written with three slashes: \(example)")
        }
        guard path.hasPrefix("/") else { throw invalid("the path must be absolute: \(example)") }
        guard path.count > 1 else { throw invalid("it names no path: \(example)") }
        guard components.query == nil, components.fragment == nil else {
            throw invalid("it has a query or fragment, which \(scheme):// does not take: \(example)")
        }
        return URL(fileURLWithPath: path)
    }

    /// `postgres://…` / `s3://…`: a host is required; `needsPath` names what the path must hold.
    func server(example: String, needsPath: String?) throws(TrainyardError) -> URL {
        guard let host = components.host, !host.isEmpty else { throw invalid("it names no host: \(example)") }
        if let needsPath {
            let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            guard !path.isEmpty else { throw invalid("it names no \(needsPath): \(example)") }
        }
        guard let url = components.url else { throw invalid("it is not a valid URL: \(example)") }
        return url
    }

    /// `memory:` (or `memory://`): nothing after the scheme.
    func requireNothingElse(example: String) throws(TrainyardError) {
        guard components.host?.isEmpty ?? true, components.path.isEmpty, components.query == nil, components.fragment == nil,
              components.user == nil, components.port == nil else {
            throw invalid("it takes nothing after the scheme: \(example)")
        }
    }

    func unknownScheme(supported: String) -> TrainyardError {
        TrainyardError(.invalidArgument, "\(key): unknown backend \"\(clientEcho(scheme))\" in \"\(shown)\"; supported: \(supported)")
    }

    private func invalid(_ why: String) -> TrainyardError {
        TrainyardError(.invalidArgument, "\(key): \"\(shown)\" is not a valid \(scheme):// URL: \(why)")
    }

    static func redacted(_ url: URL) -> String {
        URLComponents(url: url, resolvingAgainstBaseURL: false).map(redacted) ?? "\(url.scheme ?? "")://…"
    }

    static func redacted(_ components: URLComponents) -> String {
        var shown = components
        if shown.password != nil { shown.password = "***" }
        return shown.string ?? "\(components.scheme ?? "")://…"
    }
}
