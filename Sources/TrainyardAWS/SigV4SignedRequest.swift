/// The outcome of ``SigV4Signer/sign(_:payloadHash:date:)``: the headers to send, and the
/// intermediate strings, which S3 echoes back in a `SignatureDoesNotMatch` error and which are
/// the first thing to compare when a signature is refused.
///
/// The canonical request holds the session token when one was signed: log neither it nor the
/// headers. `description` and `dump` show only the signed header names and the signature.
public struct SigV4SignedRequest: Sendable {
    public let canonicalRequest: String
    public let stringToSign: String
    /// 64 lowercase hex digits.
    public let signature: String
    /// `host;x-amz-date`.
    public let signedHeaders: String
    /// The `Authorization` header's value.
    public let authorization: String
    /// Every header to send: the request's own, then `X-Amz-Date`, `X-Amz-Content-Sha256`,
    /// `X-Amz-Security-Token` as applicable, and `Authorization`.
    public let headers: [HTTPField]
}

/// The outcome of ``SigV4Signer/presign(_:expiresIn:date:payloadHash:)``: the query that carries
/// the signature and the headers the user of the URL must send (those that were signed).
///
/// The query holds the session token of temporary credentials, like every presigned URL made
/// from them: whoever holds the URL holds the token until it expires.
public struct SigV4PresignedRequest: Sendable {
    public let canonicalRequest: String
    public let stringToSign: String
    public let signature: String
    /// The request path, unchanged.
    public let path: String
    /// The full query to send, without `?`: the canonical query followed by `X-Amz-Signature`.
    public let query: String
    public let headers: [HTTPField]
}

extension SigV4SignedRequest: CustomStringConvertible, CustomReflectable {
    public var description: String { "SigV4SignedRequest(signedHeaders: \(signedHeaders), signature: \(signature))" }
    public var customMirror: Mirror {
        Mirror(self, children: ["signedHeaders": signedHeaders, "signature": signature], displayStyle: .struct)
    }
}

extension SigV4PresignedRequest: CustomStringConvertible, CustomReflectable {
    public var description: String { "SigV4PresignedRequest(path: \(path), signature: \(signature))" }
    public var customMirror: Mirror {
        Mirror(self, children: ["path": path, "signature": signature], displayStyle: .struct)
    }
}
