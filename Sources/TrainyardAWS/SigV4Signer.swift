import Crypto
import Foundation

/// Signs HTTP requests for one AWS service in one region with AWS Signature Version 4, either in
/// the `Authorization` header (``sign(_:payloadHash:date:)``) or in the query string of a URL that
/// anyone holding it may use until it expires (``presign(_:expiresIn:date:payloadHash:)``).
///
/// ```swift
/// let signer = try SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
/// let request = try SigV4Request(method: "GET", url: URL(string: "https://bucket.s3.amazonaws.com/key")!)
/// let signed = try signer.sign(request, payloadHash: .emptyBody, date: .now)
/// // send request with signed.headers
/// ```
///
/// Canonicalisation follows AWS's specification: path per ``SigV4PathStyle``; query parameters
/// decoded, re-encoded with the RFC 3986 unreserved set and sorted by name then value; header
/// names lower-cased, values trimmed with inner runs of spaces collapsed, repeated headers joined
/// with commas, signed headers sorted. The signer is a value and safe to share between tasks;
/// derived keys are kept in a ``SigV4SigningKeyCache``, which several signers may share.
public struct SigV4Signer: Sendable {
    /// Per-service behaviour; ``defaults(forService:)`` gives what the service expects.
    public struct Options: Sendable {
        public var pathStyle: SigV4PathStyle
        /// Send (and sign) the payload hash as `x-amz-content-sha256`, which S3 requires.
        public var sendsContentSHA256Header: Bool
        /// Put the session token in the canonical request. A few services want it added only
        /// after signing; then it is still sent, just not signed.
        public var signsSessionToken: Bool

        public init(pathStyle: SigV4PathStyle, sendsContentSHA256Header: Bool, signsSessionToken: Bool = true) {
            self.pathStyle = pathStyle
            self.sendsContentSHA256Header = sendsContentSHA256Header
            self.signsSessionToken = signsSessionToken
        }

        /// S3 (`s3`): object-key paths and the content hash header; every other service: normalised
        /// paths, no content hash header.
        public static func defaults(forService service: String) -> Options {
            service == "s3"
                ? Options(pathStyle: .s3, sendsContentSHA256Header: true)
                : Options(pathStyle: .normalized, sendsContentSHA256Header: false)
        }
    }

    /// The longest lifetime S3 accepts for a presigned URL: 7 days.
    public static let maximumPresignedLifetime = 604_800

    public static let algorithm = "AWS4-HMAC-SHA256"

    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    public let options: Options
    private let keyCache: SigV4SigningKeyCache

    /// Headers never signed: the signature itself, and headers that proxies and HTTP clients add,
    /// change or drop on the way (a signed one would then fail verification).
    private static let unsignedHeaders: Set<String> = [
        "authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding",
        "connection", "keep-alive", "proxy-authorization", "te", "upgrade",
    ]

    /// `X-Amz-*` query parameters that presigning writes itself.
    private static let presigningParameters: Set<String> = [
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
    ]

    /// - Parameters:
    ///   - region: e.g. `us-east-1`; an S3-compatible store usually accepts `us-east-1`.
    ///   - service: the signing name, e.g. `s3`, `sqs`.
    ///   - options: defaults to ``Options/defaults(forService:)``.
    public init(credentials: AWSCredentials, region: String, service: String, options: Options? = nil,
                keyCache: SigV4SigningKeyCache = SigV4SigningKeyCache()) throws(SigV4Error) {
        for (label, value) in [("region", region), ("service", service)] {
            guard !value.isEmpty, value.unicodeScalars.allSatisfy({ $0.isVisibleASCII && $0 != "/" }) else {
                throw SigV4Error(.invalidScope, "the \(label) \(quotedForError(value)) is empty or holds '/', spaces or non-ASCII")
            }
        }
        self.credentials = credentials
        self.region = region
        self.service = service
        self.options = options ?? .defaults(forService: service)
        self.keyCache = keyCache
    }

    /// `20150830/us-east-1/service/aws4_request`.
    public func credentialScope(_ timestamp: SigV4Timestamp) -> String {
        "\(timestamp.dateStamp)/\(region)/\(service)/aws4_request"
    }

    // MARK: - Authorization header

    /// Signs `request` as of `date`. The result's ``SigV4SignedRequest/headers`` are the request's
    /// headers with `X-Amz-Date`, `X-Amz-Content-Sha256` (S3), `X-Amz-Security-Token` (temporary
    /// credentials) and `Authorization` set; values the caller gave for those are replaced.
    public func sign(_ request: SigV4Request, payloadHash: SigV4PayloadHash, date: Date) throws(SigV4Error) -> SigV4SignedRequest {
        let timestamp = SigV4Timestamp(date)
        var owned: Set<String> = ["x-amz-date", "x-amz-security-token"]
        if options.sendsContentSHA256Header { owned.insert("x-amz-content-sha256") }

        var headers = try SigV4CanonicalHeaders(request.headers, excluding: Self.unsignedHeaders.union(owned))
        guard headers.contains("host") else {
            throw SigV4Error(.missingHost, "the request to \(quotedForError(request.path)) has no Host header")
        }
        headers.set("x-amz-date", timestamp.amzDate)
        if options.sendsContentSHA256Header { headers.set("x-amz-content-sha256", payloadHash.value) }
        if let token = credentials.sessionToken, options.signsSessionToken { headers.set("x-amz-security-token", token) }

        let query = try SigV4CanonicalQuery(wireQuery: request.query)
        let signature = try signature(method: request.method, path: request.path, canonicalQuery: query.canonicalString,
                                      headers: headers, payloadHash: payloadHash, timestamp: timestamp)
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(credentialScope(timestamp)), "
            + "SignedHeaders=\(headers.signedHeaderNames), Signature=\(signature.value)"

        var sent = request.headers.filter { field in
            let name = field.name.lowercased()
            return name != "authorization" && !owned.contains(name)
        }
        sent.append(HTTPField("X-Amz-Date", timestamp.amzDate))
        if options.sendsContentSHA256Header { sent.append(HTTPField("X-Amz-Content-Sha256", payloadHash.value)) }
        if let token = credentials.sessionToken { sent.append(HTTPField("X-Amz-Security-Token", token)) }
        sent.append(HTTPField("Authorization", authorization))

        return SigV4SignedRequest(canonicalRequest: signature.canonicalRequest, stringToSign: signature.stringToSign,
                                  signature: signature.value, signedHeaders: headers.signedHeaderNames,
                                  authorization: authorization, headers: sent)
    }

    // MARK: - Presigned URLs

    /// Signs `request` into its query string. The headers of `request` (at least `Host`) are signed
    /// and must be sent unchanged by whoever uses the URL; `X-Amz-Date` travels in the query.
    ///
    /// - Parameters:
    ///   - expiresIn: seconds the URL stays valid, 1 … ``maximumPresignedLifetime``. S3 requires
    ///     it; `nil` leaves `X-Amz-Expires` out, which only some other services accept.
    ///   - payloadHash: S3 presigned URLs leave the body unsigned (the default).
    public func presign(_ request: SigV4Request, expiresIn: Int?, date: Date,
                        payloadHash: SigV4PayloadHash = .unsigned) throws(SigV4Error) -> SigV4PresignedRequest {
        if let expiresIn, !(1...Self.maximumPresignedLifetime).contains(expiresIn) {
            throw SigV4Error(.expiryOutOfRange, "a presigned URL must expire in 1 to \(Self.maximumPresignedLifetime) seconds, not \(expiresIn)")
        }
        let timestamp = SigV4Timestamp(date)
        let owned: Set<String> = ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]
        let headers = try SigV4CanonicalHeaders(request.headers, excluding: Self.unsignedHeaders.union(owned))
        guard headers.contains("host") else {
            throw SigV4Error(.missingHost, "the request to \(quotedForError(request.path)) has no Host header")
        }

        var query = try SigV4CanonicalQuery(wireQuery: request.query)
        for name in Self.presigningParameters where query.contains(name: name) {
            throw SigV4Error(.reservedQueryParameter, "the query already has '\(name)', which presigning sets itself")
        }
        query.append(name: "X-Amz-Algorithm", value: Self.algorithm)
        query.append(name: "X-Amz-Credential", value: "\(credentials.accessKeyID)/\(credentialScope(timestamp))")
        query.append(name: "X-Amz-Date", value: timestamp.amzDate)
        if let expiresIn { query.append(name: "X-Amz-Expires", value: String(expiresIn)) }
        if let token = credentials.sessionToken, options.signsSessionToken { query.append(name: "X-Amz-Security-Token", value: token) }
        query.append(name: "X-Amz-SignedHeaders", value: headers.signedHeaderNames)

        let canonicalQuery = query.canonicalString
        let signature = try signature(method: request.method, path: request.path, canonicalQuery: canonicalQuery,
                                      headers: headers, payloadHash: payloadHash, timestamp: timestamp)
        var finalQuery = canonicalQuery + "&X-Amz-Signature=" + signature.value
        if let token = credentials.sessionToken, !options.signsSessionToken {
            finalQuery += "&X-Amz-Security-Token=" + SigV4URIEncoding.encode(token)
        }
        let sent = request.headers.filter { field in
            let name = field.name.lowercased()
            return name != "authorization" && !owned.contains(name)
        }
        return SigV4PresignedRequest(canonicalRequest: signature.canonicalRequest, stringToSign: signature.stringToSign,
                                     signature: signature.value, path: request.path, query: finalQuery, headers: sent)
    }

    /// Presigns `url` for `method` (the URL's host is signed; nothing else needs to be sent).
    public func presignedURL(method: String, url: URL, expiresIn: Int, date: Date,
                             payloadHash: SigV4PayloadHash = .unsigned) throws(SigV4Error) -> URL {
        let presigned = try presign(SigV4Request(method: method, url: url), expiresIn: expiresIn, date: date, payloadHash: payloadHash)
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
            throw SigV4Error(.invalidURL, "the URL \(quotedForError(url.absoluteString)) cannot be split into components")
        }
        components.percentEncodedQuery = presigned.query
        guard let signedURL = components.url else {
            throw SigV4Error(.invalidURL, "the presigned query does not form a URL with \(quotedForError(url.absoluteString))")
        }
        return signedURL
    }

    // MARK: - The shared core

    private struct Signature {
        let canonicalRequest: String
        let stringToSign: String
        let value: String
    }

    private func signature(method: String, path: String, canonicalQuery: String, headers: SigV4CanonicalHeaders,
                           payloadHash: SigV4PayloadHash, timestamp: SigV4Timestamp) throws(SigV4Error) -> Signature {
        guard (try? SigV4CanonicalHeaders.checkedName(method)) != nil else {
            throw SigV4Error(.invalidMethod, "the method \(quotedForError(method)) is not an HTTP token")
        }
        let canonicalRequest = [
            method,
            try options.pathStyle.canonicalURI(forWirePath: path),
            canonicalQuery,
            headers.canonicalBlock,
            headers.signedHeaderNames,
            payloadHash.value,
        ].joined(separator: "\n")
        let stringToSign = [
            Self.algorithm,
            timestamp.amzDate,
            credentialScope(timestamp),
            Hex.lowercase(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let key = keyCache.key(for: credentials, dateStamp: timestamp.dateStamp, region: region, service: service)
        let value = Hex.lowercase(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, value: value)
    }
}
