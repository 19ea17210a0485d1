import Crypto
import Foundation

extension SHA256 {
    /// Lowercase hex digest of `data`: the form used in manifests, blob keys and references.
    public static func hex(of data: Data) -> String { hash(data: data).hex }
}

extension SHA256.Digest {
    /// Lowercase hex, as `SHA256.hex(of:)` writes it (for digests computed while streaming).
    public var hex: String { map { String(format: "%02x", $0) }.joined() }
}
