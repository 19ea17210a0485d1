import Crypto
import Foundation

/// The last line of the canonical request: the lowercase hex SHA-256 of the body, or a marker
/// that tells the service the body is not signed. S3 also receives it as `x-amz-content-sha256`.
public struct SigV4PayloadHash: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    private init(unchecked value: String) { self.value = value }

    /// The body is not part of the signature (S3 only; presigned URLs use it by default, because
    /// whoever uses the URL chooses the body).
    public static let unsigned = SigV4PayloadHash(unchecked: "UNSIGNED-PAYLOAD")

    /// The hash of an empty body (GET, HEAD, DELETE).
    public static let emptyBody = sha256(of: [UInt8]())

    /// The hash of a body held in memory.
    public static func sha256(of body: some DataProtocol) -> SigV4PayloadHash {
        SigV4PayloadHash(unchecked: Hex.lowercase(SHA256.hash(data: body)))
    }

    /// A hash computed elsewhere (e.g. while streaming a file): 64 lowercase hex digits.
    public init(hexSHA256: String) throws(SigV4Error) {
        guard hexSHA256.utf8.count == 64,
              hexSHA256.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
        else {
            throw SigV4Error(.invalidPayloadHash, "the payload hash \(quotedForError(hexSHA256)) is not 64 lowercase hex digits")
        }
        self.value = hexSHA256
    }

    public var description: String { value }
}
