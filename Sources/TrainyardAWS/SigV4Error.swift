/// Why a request could not be signed. Every message names the part of the request at fault and
/// never quotes a secret: a secret access key or session token must not reach a log through an
/// error.
public struct SigV4Error: Error, Hashable, Sendable, CustomStringConvertible {
    /// A growable set of error kinds, compared in tests and by callers that react to one kind.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case invalidCredentials
            case invalidScope
            case missingHost
            case invalidMethod
            case invalidPath
            case invalidHeaderName
            case invalidHeaderValue
            case malformedPercentEncoding
            case reservedQueryParameter
            case invalidPayloadHash
            case expiryOutOfRange
            case invalidURL
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// An access key id, secret or session token that cannot be used (empty, or with characters
        /// that would break the `Credential=` field or a header).
        public static let invalidCredentials = Code(.invalidCredentials)
        /// A region or service name that cannot be part of a credential scope.
        public static let invalidScope = Code(.invalidScope)
        /// The request has no `Host` header; AWS requires it to be signed.
        public static let missingHost = Code(.missingHost)
        /// The HTTP method is empty or not an HTTP token.
        public static let invalidMethod = Code(.invalidMethod)
        /// The path does not start with `/`.
        public static let invalidPath = Code(.invalidPath)
        /// A header name is not an HTTP token.
        public static let invalidHeaderName = Code(.invalidHeaderName)
        /// A header value holds a line break or another control character (header injection).
        public static let invalidHeaderValue = Code(.invalidHeaderValue)
        /// A `%` in the path or query is not followed by two hexadecimal digits.
        public static let malformedPercentEncoding = Code(.malformedPercentEncoding)
        /// The query already carries one of the `X-Amz-*` parameters presigning adds.
        public static let reservedQueryParameter = Code(.reservedQueryParameter)
        /// A payload hash that is neither 64 lowercase hexadecimal digits nor a known marker.
        public static let invalidPayloadHash = Code(.invalidPayloadHash)
        /// A presigned URL's lifetime outside 1 s … 7 days.
        public static let expiryOutOfRange = Code(.expiryOutOfRange)
        /// A URL without a host, or one Foundation cannot split into path and query.
        public static let invalidURL = Code(.invalidURL)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "SigV4 \(code): \(message)" }
}

/// Cuts client-supplied text quoted in an error to a bounded, printable length.
func quotedForError(_ text: some StringProtocol, limit: Int = 80) -> String {
    var printable = ""
    for scalar in text.unicodeScalars {
        if printable.unicodeScalars.count >= limit {
            printable += "…"
            break
        }
        if scalar.properties.generalCategory == .control {
            printable += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        } else {
            printable.unicodeScalars.append(scalar)
        }
    }
    return "'\(printable)'"
}
