/// How the request path becomes the canonical URI. The two styles differ only for paths with
/// dot segments, repeated slashes or percent-escapes, which is exactly where S3 object keys and
/// other services' paths need different treatment.
public enum SigV4PathStyle: Sendable {
    /// S3: the path names an object key, so nothing is normalised (`a//b/../c` is a key of its
    /// own) and nothing is encoded twice: the wire path is decoded and re-encoded, which leaves a
    /// correctly encoded path unchanged.
    case s3
    /// Every other service: dot segments are removed and repeated slashes collapsed (RFC 3986
    /// section 5.2.4), then each segment of the wire path is encoded again, so an escape on the wire
    /// (`%20`) appears as `%2520`, as the services compute it.
    case normalized
}

extension SigV4PathStyle {
    func canonicalURI(forWirePath path: String) throws(SigV4Error) -> String {
        guard path.hasPrefix("/") else {
            throw SigV4Error(.invalidPath, "the path \(quotedForError(path)) does not start with '/'")
        }
        switch self {
        case .s3:
            var segments: [String] = []
            for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
                try segments.append(SigV4URIEncoding.encode(bytes: SigV4URIEncoding.decode(segment, in: "path")))
            }
            return segments.joined(separator: "/")
        case .normalized:
            return SigV4URIEncoding.encodePath(Self.removingDotSegments(path))
        }
    }

    /// `/a/./b/../c//d/` → `/a/c/d/`. A trailing slash survives, and a path ending in `.` or `..`
    /// names a directory, so it ends with a slash too (`/a/b/..` → `/a/`).
    static func removingDotSegments(_ path: String) -> String {
        var kept: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for segment in segments {
            switch segment {
            case "", ".": continue
            case "..": _ = kept.popLast()
            default: kept.append(segment)
            }
        }
        let last = segments.last ?? ""
        let endsAsDirectory = last.isEmpty || last == "." || last == ".."
        guard !kept.isEmpty else { return "/" }
        return "/" + kept.joined(separator: "/") + (endsAsDirectory ? "/" : "")
    }
}
