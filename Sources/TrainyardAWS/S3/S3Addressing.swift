/// How a bucket is named in a request: in the host (`bucket.s3.us-east-1.amazonaws.com/key`,
/// AWS's preferred form) or in the path (`s3.us-east-1.amazonaws.com/bucket/key`, what
/// S3-compatible stores and emulators serve).
public enum S3Addressing: Sendable, Equatable {
    /// Virtual-hosted on AWS's own endpoints when the bucket name is a valid host label (no
    /// dots, which would break TLS certificate matching); path-style on custom endpoints, whose
    /// host names rarely resolve per bucket.
    case automatic
    case pathStyle
    case virtualHosted

    /// Whether requests for `bucket` go path-style.
    func usesPathStyle(bucket: String, endpoint: AWSEndpoint) -> Bool {
        switch self {
        case .pathStyle: true
        case .virtualHosted: false
        case .automatic: endpoint.isCustom || !Self.isHostLabel(bucket)
        }
    }

    /// 3–63 lower-case letters, digits and `-`, starting and ending with a letter or digit.
    static func isHostLabel(_ bucket: String) -> Bool {
        let bytes = Array(bucket.utf8)
        guard (3...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") }
    }
}
