/// The percent-encoding SigV4 prescribes (AWS calls it `UriEncode`): every byte of the UTF-8 form
/// except RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`) becomes `%XX` with uppercase hex. A
/// space is `%20`, never `+`, and `+` itself is `%2B`.
public enum SigV4URIEncoding {
    /// Encodes one path segment, query name or query value.
    public static func encode(_ text: some StringProtocol) -> String {
        encode(bytes: text.utf8)
    }

    /// Encodes an object key or any `/`-separated path as a request path: each segment is encoded
    /// and the slashes are kept, so `photos/a b.jpg` becomes `photos/a%20b.jpg`. This is the path
    /// to send for S3, where the wire path and the canonical path are the same string.
    public static func encodePath(_ path: some StringProtocol) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { encode($0) }.joined(separator: "/")
    }

    static func encode(bytes: some Sequence<UInt8>) -> String {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(bytes.underestimatedCount)
        for byte in bytes {
            if isUnreserved(byte) {
                encoded.append(byte)
            } else {
                encoded.append(UInt8(ascii: "%"))
                encoded.append(hexDigits[Int(byte >> 4)])
                encoded.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// Decodes `%XX` sequences into bytes; `+` stays `+` (a query is not a form body). A `%` not
    /// followed by two hex digits is refused: guessing would sign something the server reads
    /// differently.
    static func decode(_ text: some StringProtocol, in part: String) throws(SigV4Error) -> [UInt8] {
        let input = Array(text.utf8)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < input.count,
                      let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2])
                else {
                    throw SigV4Error(.malformedPercentEncoding,
                                     "the \(part) \(quotedForError(text)) has a '%' at byte \(index) not followed by two hex digits")
                }
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(byte)
                index += 1
            }
        }
        return decoded
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
