/// What a `watch` on `s3://bucket/prefix` watches: the objects directly under the prefix, as
/// the files directly in a watched folder (`s3://bucket/incoming` watches the keys
/// `incoming/NAME`; `s3://bucket` the keys at the top of the bucket). A key holding another `/`
/// after the prefix is in a "subfolder" and never fires, as a folder watch does not descend.
///
/// Read from text alone (no request is made): the bucket must be a valid S3 bucket name and
/// the prefix a key prefix S3 accepts.
public struct WatchedPrefix: Sendable, Hashable, CustomStringConvertible {
    public let bucket: String
    /// The key prefix: empty (the whole bucket) or ending with `/`.
    public let prefix: String

    /// S3's longest key, in UTF-8 bytes.
    public static let maxKeyBytes = 1024

    /// Parses `s3://bucket[/prefix]` (the scheme in any case); a prefix not ending with `/`
    /// gets one (it names a folder of keys).
    /// - Throws: `.invalidArgument` naming the problem: no bucket, a bucket name S3 refuses, a
    ///   prefix with control characters or longer than a key may be.
    public init(parsing text: String) throws(TrainyardError) {
        guard text.utf8.count >= 5, text.prefix(5).lowercased() == "s3://" else {
            throw TrainyardError(.invalidArgument, "watch path \"\(clientEcho(text))\" is not an s3://bucket/prefix URI")
        }
        let rest = text.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        guard !bucket.isEmpty else {
            throw TrainyardError(.invalidArgument, "watch path \"\(clientEcho(text))\" names no bucket: expected s3://bucket/prefix")
        }
        guard Self.isBucketName(bucket) else {
            throw TrainyardError(.invalidArgument, "watch path \"\(clientEcho(text))\": \"\(clientEcho(bucket))\" is not an S3 bucket name "
                                 + "(3–63 characters of a-z, 0-9, '.' and '-', beginning and ending with a letter or digit)")
        }
        var prefix = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
        guard !prefix.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw TrainyardError(.invalidArgument, "watch path \"\(clientEcho(text))\": the prefix contains a control character")
        }
        if !prefix.isEmpty, !prefix.hasSuffix("/") { prefix += "/" }
        // A watched key is the prefix plus at least one character.
        guard prefix.utf8.count < Self.maxKeyBytes else {
            throw TrainyardError(.invalidArgument, "watch path \"\(clientEcho(text))\": the prefix is longer than an S3 key may be (\(Self.maxKeyBytes) bytes)")
        }
        self.bucket = bucket
        self.prefix = prefix
    }

    /// `s3://bucket/prefix/` (or `s3://bucket/`): what the watch lists, and the start of every
    /// object URI it fires on.
    public var uri: String { "s3://\(bucket)/\(prefix)" }

    public var description: String { uri }

    /// The name of the object `uri` within the prefix (what the glob matches), or nil when it is
    /// not directly under it: another bucket or prefix, the prefix itself, a deeper key, or a
    /// "folder" marker ending with `/`.
    public func name(of objectURI: String) -> String? {
        // Byte-wise: S3 keys are bytes, not characters (a combining mark after the `/` would
        // otherwise join it into one character).
        let start = Array(uri.utf8)
        guard objectURI.utf8.starts(with: start) else { return nil }
        let name = objectURI.utf8.dropFirst(start.count)
        guard !name.isEmpty, !name.contains(UInt8(ascii: "/")) else { return nil }
        return String(decoding: name, as: UTF8.self)
    }

    /// S3's naming rules for general purpose buckets: 3–63 characters of a-z, 0-9, `.` and `-`,
    /// beginning and ending with a letter or digit, no `..`.
    static func isBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func isLowerAlphanumeric(_ b: UInt8) -> Bool { (0x61...0x7a).contains(b) || (0x30...0x39).contains(b) }
        guard (3...63).contains(bytes.count), isLowerAlphanumeric(bytes.first!), isLowerAlphanumeric(bytes.last!), !name.contains("..") else {
            return false
        }
        return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }
}
