import Foundation

/// One request to an AWS service, relative to an ``AWSEndpoint``: the transport adds the host,
/// signs it and sends it (again, on a retryable failure).
///
/// The body is held in memory (`Data`): an SQS call, an S3 object of modest size, one part of a
/// multipart upload. Larger uploads go as several parts; downloads are streamed (see
/// ``AWSClient/send(_:streamingResponse:)``).
public struct AWSRequest: Sendable {
    public var method: String
    /// The path below the endpoint's own path, as decoded text (`/bucket/photos/a b.jpg`);
    /// the transport percent-encodes each segment. Starts with `/`.
    public var path: String
    /// Query parameters in plain (decoded) form, in any order; a `nil` value is a bare name
    /// (`?uploads`), sent as `uploads=` and signed as such.
    public var query: [(name: String, value: String?)]
    /// Headers to send and sign (besides `Host`, `X-Amz-Date` and the others the signer sets).
    public var headers: [HTTPField]
    public var body: Data
    /// The body's SHA-256 when the caller computed it already (while reading a part); the
    /// transport computes it otherwise.
    public var payloadHash: SigV4PayloadHash?
    /// A label put in front of the endpoint's host: `my-bucket.` for S3's virtual-hosted
    /// addressing (`my-bucket.s3.us-east-1.amazonaws.com`). Empty for none.
    public var hostPrefix: String
    /// The operation's name for logs and errors (`PutObject`, `SendMessage`).
    public var operation: String

    public init(operation: String, method: String, path: String = "/", query: [(name: String, value: String?)] = [],
                headers: [HTTPField] = [], body: Data = Data(), payloadHash: SigV4PayloadHash? = nil, hostPrefix: String = "") {
        self.operation = operation
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.payloadHash = payloadHash
        self.hostPrefix = hostPrefix
    }

    /// The first value of header `name` (any case).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// The status line and headers of an answer.
public struct AWSResponseHead: Sendable {
    public let status: Int
    /// Header names lower-cased; a repeated header's values joined with `,`.
    public let headers: [String: String]

    public init(status: Int, headers: [String: String]) {
        self.status = status
        self.headers = headers
    }

    /// The value of header `name` (any case).
    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// `x-amz-request-id` (S3) or `x-amzn-RequestId` (JSON services).
    public var requestID: String? { headers["x-amz-request-id"] ?? headers["x-amzn-requestid"] }
}

/// A whole answer read into memory (bounded by ``AWSClient/Configuration/maximumBufferedResponseBytes``).
public struct AWSResponse: Sendable {
    public let head: AWSResponseHead
    public let body: Data

    public var status: Int { head.status }
    public func header(_ name: String) -> String? { head.header(name) }
}
