import Foundation

/// What a streamed read went through.
public struct S3ReadResult: Sendable, Equatable {
    /// The object's head as first answered (size, ETag, type).
    public let head: S3ObjectHead
    /// Lowercase hex SHA-256 of every byte handed to the consumer.
    public let sha256: String
    public let bytes: Int64
}

extension S3Client {
    /// Streams the object to `consume` in chunks of at most ``Configuration/readChunkSize``, in
    /// order, never holding the whole object. Returns the SHA-256 and size of what it handed over.
    ///
    /// A connection that breaks mid-object is resumed where it stopped (`Range` from the next
    /// byte, `If-Match` the first answer's ETag, so a replaced object fails with HTTP 412 instead
    /// of splicing two versions), up to the retry policy's attempts. An error thrown by `consume`
    /// stops the read at once and is rethrown as is. Throws ``AWSError`` with
    /// ``AWSError/isNotFound`` (before any chunk) when there is no object.
    @discardableResult
    public func getObject(bucket: String, key: String, consume: (Data) async throws -> Void) async throws -> S3ReadResult {
        // The whole object is the ranged read without a range or a condition (the same
        // resumption and checks); only the result's shape differs.
        let read = try await getObject(bucket: bucket, key: key, range: nil, ifMatch: nil, consume: consume)
        return S3ReadResult(head: read.head, sha256: read.sha256, bytes: read.bytes)
    }
}
