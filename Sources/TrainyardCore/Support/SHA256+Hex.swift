import Crypto
import Foundation

extension SHA256 {
    /// Lowercase hex digest of `data`: the form used in manifests, blob keys and references.
    public static func hex(of data: Data) -> String {
        hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
