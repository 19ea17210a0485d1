import Crypto
import Foundation

/// What a ranged or conditional read went through.
public struct S3RangeRead: Sendable, Equatable {
    /// The object's head as first answered (its ETag; `contentLength` is that of the range).
    public let head: S3ObjectHead
    /// The size of the whole object (from `Content-Range`, or the length of a whole read).
    public let objectSize: Int64
    /// Lowercase hex SHA-256 of every byte handed to the consumer.
    public let sha256: String
    public let bytes: Int64
}

extension S3Client {
    /// Streams the bytes `range` (half-open offsets; nil: the whole object) of the object to
    /// `consume`, in order, in chunks of at most ``Configuration/readChunkSize``, only if the
    /// object's ETag is `ifMatch` (when given): a replaced object is HTTP 412
    /// (``AWSError/isPreconditionFailed``) before any byte, never a mix of two versions.
    ///
    /// Like ``getObject(bucket:key:consume:)``, a connection that breaks mid-body is resumed
    /// from the next byte with `If-Match` on the first answer's ETag. An empty range reads
    /// nothing but still checks the condition (a HEAD). A range past the end of the object is
    /// HTTP 416 from S3; a range that reaches past it is cut at the end (as S3 answers).
    @discardableResult
    public func getObject(bucket: String, key: String, range: Range<Int64>?, ifMatch: String?,
                          consume: (Data) async throws -> Void) async throws -> S3RangeRead {
        struct ConsumerFailed: Error { let error: any Error }
        if let range, range.isEmpty {
            let head = try await conditionalHead(bucket: bucket, key: key, ifMatch: ifMatch)
            return S3RangeRead(head: head, objectSize: head.contentLength, sha256: Hex.lowercase(SHA256.hash(data: Data())), bytes: 0)
        }
        let chunkSize = configuration.readChunkSize
        var hasher = SHA256()
        var delivered: Int64 = 0
        var pending = Data()
        var firstHead: S3ObjectHead?
        var objectSize: Int64 = 0
        var resumes = 0

        func deliver(_ chunk: Data) async throws {
            hasher.update(data: chunk)
            delivered += Int64(chunk.count)
            do { try await consume(chunk) } catch { throw ConsumerFailed(error: error) }
        }

        let start = range?.lowerBound ?? 0
        while true {
            let received = delivered + Int64(pending.count)
            var headers: [HTTPField] = []
            if let firstHead, received >= firstHead.contentLength { break }
            if received > 0 || range != nil {
                let end = range.map { "\($0.upperBound - 1)" } ?? ""
                headers.append(HTTPField("Range", "bytes=\(start + received)-\(end)"))
            }
            if let eTag = firstHead?.eTag ?? ifMatch { headers.append(HTTPField("If-Match", eTag)) }
            do {
                try await client.send(request("GetObject", "GET", bucket: bucket, key: key, headers: headers)) { head, body in
                    if firstHead == nil {
                        let answered = S3ObjectHead(head)
                        firstHead = answered
                        objectSize = Self.totalSize(contentRange: head.header("content-range")) ?? answered.contentLength
                    }
                    for try await piece in body {
                        pending.append(piece)
                        while pending.count >= chunkSize {
                            let chunk = Data(pending.prefix(chunkSize))
                            pending = Data(pending.dropFirst(chunkSize))
                            try await deliver(chunk)
                        }
                    }
                }
                break
            } catch let failure as ConsumerFailed {
                throw failure.error
            } catch {
                if Task.isCancelled || error is CancellationError { throw CancellationError() }
                guard firstHead != nil, !(error is AWSError), AWSClient.isRetryableTransportError(error),
                      resumes + 1 < client.configuration.retry.maximumAttempts else { throw error }
                resumes += 1
                logger.debug("resuming an interrupted S3 ranged read", metadata: [
                    "bucket": "\(bucket)", "key": "\(key)", "offset": "\(start + delivered + Int64(pending.count))", "error": "\(error)",
                ])
                try await Task.sleep(for: client.configuration.retry.delay(afterAttempt: resumes))
            }
        }
        if !pending.isEmpty {
            do { try await deliver(pending) } catch let failure as ConsumerFailed { throw failure.error }
        }
        guard let head = firstHead else {
            throw AWSError(.invalidResponse, "GetObject of s3://\(bucket)/\(key) gave no answer")
        }
        if delivered != head.contentLength {
            throw AWSError(.invalidResponse, "s3://\(bucket)/\(key) announced \(head.contentLength) bytes but \(delivered) arrived")
        }
        return S3RangeRead(head: head, objectSize: objectSize, sha256: Hex.lowercase(hasher.finalize()), bytes: delivered)
    }

    /// HeadObject with `If-Match` (when given): 404 and 412 are thrown as ``AWSError``.
    public func conditionalHead(bucket: String, key: String, ifMatch: String?) async throws -> S3ObjectHead {
        let headers = ifMatch.map { [HTTPField("If-Match", $0)] } ?? []
        let response = try await client.send(request("HeadObject", "HEAD", bucket: bucket, key: key, headers: headers))
        return S3ObjectHead(response.head)
    }

    /// The total in `Content-Range: bytes 0-99/1234`; nil when absent or `*`.
    static func totalSize(contentRange: String?) -> Int64? {
        guard let contentRange, let slash = contentRange.lastIndex(of: "/") else { return nil }
        return Int64(contentRange[contentRange.index(after: slash)...].trimmingCharacters(in: .whitespaces))
    }
}
