import Crypto
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
        struct ConsumerFailed: Error { let error: any Error }
        let chunkSize = configuration.readChunkSize
        var hasher = SHA256()
        var delivered: Int64 = 0
        var pending = Data()
        var firstHead: S3ObjectHead?
        var resumes = 0

        func deliver(_ chunk: Data) async throws {
            hasher.update(data: chunk)
            delivered += Int64(chunk.count)
            do { try await consume(chunk) } catch { throw ConsumerFailed(error: error) }
        }

        while true {
            let received = delivered + Int64(pending.count)
            var headers: [HTTPField] = []
            if let firstHead, received > 0 {
                if received >= firstHead.contentLength { break }
                headers.append(HTTPField("Range", "bytes=\(received)-"))
                if let eTag = firstHead.eTag { headers.append(HTTPField("If-Match", eTag)) }
            }
            do {
                try await client.send(request("GetObject", "GET", bucket: bucket, key: key, headers: headers)) { head, body in
                    if firstHead == nil { firstHead = S3ObjectHead(head) }
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
                // Only a broken connection mid-body is resumed; the transport already retried
                // everything that failed before the body started.
                guard firstHead != nil, !(error is AWSError), AWSClient.isRetryableTransportError(error),
                      resumes + 1 < client.configuration.retry.maximumAttempts else { throw error }
                resumes += 1
                logger.debug("resuming an interrupted S3 download", metadata: [
                    "bucket": "\(bucket)", "key": "\(key)", "offset": "\(delivered + Int64(pending.count))", "error": "\(error)",
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
        return S3ReadResult(head: head, sha256: Hex.lowercase(hasher.finalize()), bytes: delivered)
    }
}
