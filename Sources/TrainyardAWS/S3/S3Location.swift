/// An `s3://bucket/key` URI: a bucket and a key (or key prefix), as specs, transform inputs and
/// outputs and watch prefixes name them.
public struct S3Location: Sendable, Hashable, CustomStringConvertible {
    public let bucket: String
    /// The key or prefix, without a leading `/`; empty for the whole bucket.
    public let key: String

    public init(bucket: String, key: String) throws(AWSError) {
        guard Self.isBucketName(bucket) else {
            throw AWSError(.configuration, "\(quotedForError(bucket)) is not an S3 bucket name (3–63 characters of a-z, 0-9, '.', '-')")
        }
        self.bucket = bucket
        self.key = key
    }

    /// Parses `s3://bucket/key/parts` (the key kept exactly as written after the bucket's `/`,
    /// not percent-decoded: S3 URIs carry keys verbatim).
    public init(parsing text: String) throws(AWSError) {
        guard text.hasPrefix("s3://") else {
            throw AWSError(.configuration, "\(quotedForError(text)) is not an s3://bucket/key URI")
        }
        let rest = text.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        let key = rest.dropFirst(bucket.count).drop { $0 == "/" }
        try self.init(bucket: String(bucket), key: String(key))
    }

    public static func isURI(_ text: String) -> Bool { text.hasPrefix("s3://") }

    /// The location of `relative` under this one as a prefix (`s3://b/p/` + `x` → `s3://b/p/x`).
    public func appending(_ relative: String) -> S3Location {
        // The bucket was checked already.
        try! S3Location(bucket: bucket, key: key + relative)
    }

    public var description: String { "s3://\(bucket)/\(key)" }

    /// S3's bucket naming rules (general purpose buckets), checked loosely enough for the older
    /// names some regions still hold (upper case and `_` are refused; AWS has refused them since 2018).
    static func isBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        let edgesOK = [bytes.first!, bytes.last!].allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return edgesOK && !name.contains("..") && bytes.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
    }
}
