import Foundation

/// One header line: a name and its value as the caller wrote them. A name may repeat; the
/// signer joins repeated values with commas in the order given, as AWS does.
public struct HTTPField: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What the signer needs of an HTTP request: method, the path and query exactly as they go on the
/// wire (percent-encoded, without scheme and host), and the headers. The body is represented by
/// its hash only (``SigV4PayloadHash``), so a large upload is never held in memory for signing.
public struct SigV4Request: Sendable {
    public var method: String
    /// The request path as sent, starting with `/` (e.g. `/my-bucket/photos/a%20b.jpg`).
    public var path: String
    /// The query as sent, without the `?`; empty for none.
    public var query: String
    public var headers: [HTTPField]

    public init(method: String, path: String, query: String = "", headers: [HTTPField] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// Takes path and query from the URL in their percent-encoded form and adds a `Host` header
    /// (with the port when it is not the scheme's default) unless `headers` has one.
    public init(method: String, url: URL, headers: [HTTPField] = []) throws(SigV4Error) {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false),
              let host = components.percentEncodedHost, !host.isEmpty
        else {
            throw SigV4Error(.invalidURL, "the URL \(quotedForError(url.absoluteString)) has no host")
        }
        var headers = headers
        if !headers.contains(where: { $0.name.lowercased() == "host" }) {
            let defaultPort = components.scheme?.lowercased() == "http" ? 80 : 443
            let port = components.port.flatMap { $0 == defaultPort ? nil : $0 }
            headers.append(HTTPField("Host", port.map { "\(host):\($0)" } ?? host))
        }
        let path = components.percentEncodedPath
        self.init(method: method, path: path.isEmpty ? "/" : path, query: components.percentEncodedQuery ?? "", headers: headers)
    }
}
