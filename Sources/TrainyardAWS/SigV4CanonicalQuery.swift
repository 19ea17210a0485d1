/// The canonical query string: each parameter's name and value decoded from the wire form, then
/// encoded with ``SigV4URIEncoding``, sorted by encoded name and then encoded value (byte order),
/// joined as `name=value` with `&`. A parameter without `=` has an empty value (`?acl` → `acl=`).
struct SigV4CanonicalQuery {
    struct Parameter: Hashable {
        let name: String
        let value: String
    }

    private(set) var parameters: [Parameter]

    init(wireQuery: String) throws(SigV4Error) {
        var parameters: [Parameter] = []
        for piece in wireQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let equals = piece.firstIndex(of: "=") {
                name = piece[..<equals]
                value = piece[piece.index(after: equals)...]
            } else {
                name = piece
                value = ""
            }
            parameters.append(Parameter(name: try SigV4URIEncoding.encode(bytes: SigV4URIEncoding.decode(name, in: "query")),
                                        value: try SigV4URIEncoding.encode(bytes: SigV4URIEncoding.decode(value, in: "query"))))
        }
        self.parameters = parameters
    }

    /// Adds a parameter given in plain (decoded) form.
    mutating func append(name: String, value: String) {
        parameters.append(Parameter(name: SigV4URIEncoding.encode(name), value: SigV4URIEncoding.encode(value)))
    }

    func contains(name: String) -> Bool {
        let encoded = SigV4URIEncoding.encode(name)
        return parameters.contains { $0.name == encoded }
    }

    var canonicalString: String {
        parameters.sorted { lhs, rhs in
            lhs.name == rhs.name ? lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8) : lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
        }
        .map { "\($0.name)=\($0.value)" }
        .joined(separator: "&")
    }
}
