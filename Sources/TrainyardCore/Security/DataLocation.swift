import Foundation

/// What a data location written in a spec names, read from its text alone: no file is opened,
/// resolved or even looked at, so reading a location can never tell anything about the server's
/// file system.
public enum DataLocation: Sendable, Equatable {
    /// Bytes already in the artifact store (`artifact:sha256:<hex>`): uploaded or staged before.
    case blob(sha256: String)
    /// An object in S3 (`s3://bucket/key`).
    case s3(String)
    /// A local file: an absolute path with `.`, `..` and repeated `/` applied (see `LexicalPath`).
    /// Symbolic links are not resolved here; whoever opens the file must check where it really is.
    case file(path: String)

    /// Why a location's text cannot be read.
    public enum Problem: Error, Sendable, Equatable {
        /// `artifact:sha256:` not followed by 64 lowercase hex digits.
        case invalidBlobReference
        /// `file://` with a host other than `localhost`, a query or fragment, or bad percent-escapes.
        case invalidFileURI
        /// A scheme other than `file`, `s3` (or `artifact:sha256:`).
        case unsupportedScheme(String)
        /// A relative path where there is no spec folder to resolve it against (a spec sent over HTTP).
        case relativePathWithoutBase
        /// A NUL byte: the operating system would read the path only up to it.
        case nulCharacter
    }

    static let blobPrefix = "artifact:sha256:"

    /// Reads `text`. A relative path resolves against `base` (the spec's folder, absolute), if any.
    public static func parse(_ text: String, base: String?) -> Result<DataLocation, Problem> {
        guard !text.utf8.contains(0) else { return .failure(.nulCharacter) }
        if text.hasPrefix(blobPrefix) {
            let hex = text.dropFirst(blobPrefix.count)
            return isSHA256(hex) ? .success(.blob(sha256: String(hex))) : .failure(.invalidBlobReference)
        }
        if let separator = text.range(of: "://") {
            let scheme = text[..<separator.lowerBound].lowercased()
            switch scheme {
            case "s3": return .success(.s3(text))
            case "file": return fileURI(text[separator.upperBound...])
            default: return .failure(.unsupportedScheme(String(scheme)))
            }
        }
        if text.hasPrefix("/") {
            // `standardized` only fails for relative paths.
            return .success(.file(path: LexicalPath.standardized(text) ?? "/"))
        }
        guard let base, let path = LexicalPath.standardized(base + "/" + text) else { return .failure(.relativePathWithoutBase) }
        return .success(.file(path: path))
    }

    /// Whether `text` is a sha256 as the artifact store names blobs: 64 lowercase hex digits.
    public static func isSHA256(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// `file://[localhost]/path`, percent-decoded.
    private static func fileURI(_ rest: Substring) -> Result<DataLocation, Problem> {
        guard let slash = rest.firstIndex(of: "/"), !rest.contains("?"), !rest.contains("#") else { return .failure(.invalidFileURI) }
        let host = rest[..<slash].lowercased()
        guard host.isEmpty || host == "localhost" else { return .failure(.invalidFileURI) }
        guard let decoded = String(rest[slash...]).removingPercentEncoding else { return .failure(.invalidFileURI) }
        guard !decoded.utf8.contains(0) else { return .failure(.nulCharacter) }
        return .success(.file(path: LexicalPath.standardized(decoded) ?? "/"))
    }
}

/// Path arithmetic on text alone, the way the kernel would walk a path with no symbolic links.
public enum LexicalPath {
    /// `path` with empty and `.` components dropped and each `..` removing the component before
    /// it (`..` at the top stays at `/`, as the kernel does). Nil when `path` is not absolute.
    public static func standardized(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return nil }
        var components: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// Whether `path` is `root` itself or lies below it. Both must already be standardized:
    /// `/data2` is not within `/data`, and everything is within `/`.
    public static func isWithin(_ path: String, root: String) -> Bool {
        if root == "/" { return path.hasPrefix("/") }
        return path == root || path.hasPrefix(root + "/")
    }
}
