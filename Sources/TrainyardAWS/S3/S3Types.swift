import Foundation

/// What S3 says about an object without its bytes (HeadObject, or the head of a GetObject).
public struct S3ObjectHead: Sendable, Equatable {
    /// Bytes in the object (or in the returned range).
    public let contentLength: Int64
    /// With its quotes, as S3 gives it (`"9b2cf535f27731c974343645a3985328"`); for conditions.
    public let eTag: String?
    public let lastModified: Date?
    public let contentType: String?
    /// `x-amz-meta-*` headers, names without the prefix.
    public let metadata: [String: String]

    init(_ head: AWSResponseHead) {
        contentLength = head.header("content-length").flatMap { Int64($0) } ?? 0
        eTag = head.header("etag")
        lastModified = head.header("last-modified").flatMap(AWSClient.parseHTTPDate)
        contentType = head.header("content-type")
        var metadata: [String: String] = [:]
        for (name, value) in head.headers where name.hasPrefix("x-amz-meta-") {
            metadata[String(name.dropFirst("x-amz-meta-".count))] = value
        }
        self.metadata = metadata
    }
}

/// One object in a listing.
public struct S3ObjectSummary: Sendable, Equatable {
    public let key: String
    public let size: Int64
    public let eTag: String?
    public let lastModified: Date?
}

/// One page of ListObjectsV2.
public struct S3ListPage: Sendable, Equatable {
    public let objects: [S3ObjectSummary]
    /// With a delimiter: the "folders" one level down (`a/b/`).
    public let commonPrefixes: [String]
    /// Pass to the next call to get the next page; `nil` on the last page.
    public let nextContinuationToken: String?
}

/// The outcome of writing an object.
public struct S3WriteResult: Sendable, Equatable {
    public let eTag: String?
    /// The sha256 (lowercase hex) and size of the bytes sent, computed on the way.
    public let sha256: String
    public let bytes: Int64
}

/// A condition on a write (S3 conditional writes).
public enum S3WriteCondition: Sendable, Equatable {
    /// `If-None-Match: *`: only if no object exists at the key; a lost race is HTTP 412.
    case ifAbsent
    /// `If-Match: <etag>`: only if the object is still the one with this ETag.
    case ifMatch(eTag: String)

    var header: HTTPField {
        switch self {
        case .ifAbsent: HTTPField("If-None-Match", "*")
        case .ifMatch(let eTag): HTTPField("If-Match", eTag)
        }
    }
}

/// A part of a multipart upload, as CompleteMultipartUpload lists it.
public struct S3UploadedPart: Sendable, Equatable {
    public let number: Int
    public let eTag: String
    /// The part's CRC-32 (base64) when the upload was created with checksums; S3 then requires
    /// it in the completion.
    public let checksumCRC32: String?

    public init(number: Int, eTag: String, checksumCRC32: String? = nil) {
        self.number = number
        self.eTag = eTag
        self.checksumCRC32 = checksumCRC32
    }
}
