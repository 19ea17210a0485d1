import Crypto
import Foundation

extension S3Client {
    /// Writes the bytes `chunks` yields at `key`: one PutObject when they fit in one part,
    /// otherwise a multipart upload with up to ``Configuration/uploadConcurrency`` parts in flight
    /// (memory: about that many parts plus the one being filled). The object appears whole when
    /// S3 completes the upload, never partly.
    ///
    /// If the sequence throws, the task is cancelled (an `AsyncStream` that simply ends because
    /// its task was cancelled counts too) or a part fails after its retries, the upload is
    /// aborted (S3 drops its parts) and nothing is written. Part sizes grow (×2 every 2,000
    /// parts) so that a stream of unknown length fits in S3's 10,000 parts.
    @discardableResult
    public func upload<Chunks: AsyncSequence>(bucket: String, key: String, from chunks: Chunks, contentType: String? = nil,
                                              condition: S3WriteCondition? = nil) async throws -> S3WriteResult where Chunks.Element == Data {
        var iterator = chunks.makeAsyncIterator()
        var hasher = SHA256()
        var total: Int64 = 0
        var carry = Data()
        var ended = false

        /// The next part of `size` bytes (fewer only at the end of the stream).
        func nextPart(_ size: Int) async throws -> Data {
            while carry.count < size, !ended {
                guard let chunk = try await iterator.next() else {
                    ended = true
                    break
                }
                hasher.update(data: chunk)
                total += Int64(chunk.count)
                carry.append(chunk)
            }
            if carry.count <= size {
                defer { carry = Data() }
                return carry
            }
            let part = Data(carry.prefix(size))
            carry = Data(carry.dropFirst(size))
            return part
        }

        let first = try await nextPart(configuration.partSize)
        if ended, carry.isEmpty {
            try Task.checkCancellation()
            let written = try await putObject(bucket: bucket, key: key, body: first, contentType: contentType, condition: condition)
            return S3WriteResult(eTag: written.eTag, sha256: Hex.lowercase(hasher.finalize()), bytes: total)
        }

        let uploadID = try await createMultipartUpload(bucket: bucket, key: key, contentType: contentType, checksumCRC32: true)
        do {
            let concurrency = configuration.uploadConcurrency
            var parts: [S3UploadedPart] = []
            try await withThrowingTaskGroup(of: S3UploadedPart.self) { group in
                var partNumber = 0
                var inFlight = 0
                var part = first
                while true {
                    partNumber += 1
                    guard partNumber <= Configuration.maximumParts else {
                        throw AWSError(.configuration, "s3://\(bucket)/\(key) needs more than \(Configuration.maximumParts) parts")
                    }
                    if inFlight >= concurrency, let finished = try await group.next() {
                        parts.append(finished)
                        inFlight -= 1
                    }
                    let body = part, number = partNumber
                    group.addTask {
                        try await self.uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: number, body: body)
                    }
                    inFlight += 1
                    if ended, carry.isEmpty { break }
                    part = try await nextPart(partSize(forPart: partNumber + 1))
                    if part.isEmpty { break }
                }
                for try await finished in group { parts.append(finished) }
            }
            // An AsyncStream ends quietly when its task is cancelled: never complete a short object.
            try Task.checkCancellation()
            let eTag = try await completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID,
                                                         parts: parts.sorted { $0.number < $1.number }, condition: condition)
            return S3WriteResult(eTag: eTag, sha256: Hex.lowercase(hasher.finalize()), bytes: total)
        } catch {
            await abortInBackground(bucket: bucket, key: key, uploadID: uploadID)
            throw error
        }
    }

    /// Uploads a local file (streamed from disk, never whole in memory). Throws
    /// `CocoaError(.fileNoSuchFile)` when the file does not exist.
    @discardableResult
    public func upload(bucket: String, key: String, file: URL, contentType: String? = nil,
                       condition: S3WriteCondition? = nil) async throws -> S3WriteResult {
        let chunks = try LocalFileChunks(file: file, chunkSize: configuration.readChunkSize)
        return try await upload(bucket: bucket, key: key, from: chunks, contentType: contentType, condition: condition)
    }

    /// Parts grow ×2 every 2,000 parts (8 MiB parts: 16 GB, then 16 MiB parts: 32 GB more, …).
    func partSize(forPart number: Int) -> Int {
        configuration.partSize << min((number - 1) / 2000, 6)
    }

    // MARK: - Multipart steps

    /// Starts a multipart upload; returns its upload id. With `checksumCRC32`, every part must
    /// carry its CRC-32 (``uploadPart(bucket:key:uploadID:partNumber:body:)`` sends it) and S3
    /// keeps a composite checksum with the object.
    public func createMultipartUpload(bucket: String, key: String, contentType: String? = nil,
                                      checksumCRC32: Bool = false) async throws -> String {
        var headers: [HTTPField] = []
        if let contentType { headers.append(HTTPField("Content-Type", contentType)) }
        if checksumCRC32 { headers.append(HTTPField("x-amz-checksum-algorithm", "CRC32")) }
        let response = try await client.send(request("CreateMultipartUpload", "POST", bucket: bucket, key: key,
                                                     query: [("uploads", nil)], headers: headers))
        let root = try Self.parseXML(response.body, what: "CreateMultipartUpload")
        guard let uploadID = root.text(of: "UploadId"), !uploadID.isEmpty else {
            throw AWSError(.invalidResponse, "CreateMultipartUpload of s3://\(bucket)/\(key) answered no UploadId")
        }
        return uploadID
    }

    /// Uploads one part (numbered from 1). The part's SHA-256 signs it and its CRC-32 goes with
    /// it (`x-amz-checksum-crc32`), which S3 checks on arrival.
    public func uploadPart(bucket: String, key: String, uploadID: String, partNumber: Int, body: Data) async throws -> S3UploadedPart {
        let hash = SigV4PayloadHash.sha256(of: body)
        let checksum = S3ChecksumCRC32.of(body).base64
        let response = try await client.send(request("UploadPart", "PUT", bucket: bucket, key: key,
                                                     query: [("partNumber", String(partNumber)), ("uploadId", uploadID)],
                                                     headers: [HTTPField("x-amz-checksum-crc32", checksum)],
                                                     body: body, payloadHash: hash))
        guard let eTag = response.header("etag") else {
            throw AWSError(.invalidResponse, "UploadPart \(partNumber) of s3://\(bucket)/\(key) answered no ETag")
        }
        return S3UploadedPart(number: partNumber, eTag: eTag, checksumCRC32: checksum)
    }

    /// Completes an upload from its parts (in order); returns the object's ETag.
    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [S3UploadedPart],
                                        condition: S3WriteCondition? = nil) async throws -> String? {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(part.eTag.xmlEscaped)</ETag>"
            if let checksum = part.checksumCRC32 { xml += "<ChecksumCRC32>\(checksum.xmlEscaped)</ChecksumCRC32>" }
            xml += "</Part>"
        }
        xml += "</CompleteMultipartUpload>"
        var headers = [HTTPField("Content-Type", "application/xml")]
        if let condition { headers.append(condition.header) }
        let root = try await sendCheckingEmbeddedError(request("CompleteMultipartUpload", "POST", bucket: bucket, key: key,
                                                               query: [("uploadId", uploadID)], headers: headers, body: Data(xml.utf8)))
        return root.text(of: "ETag")
    }

    /// Abandons an upload: S3 deletes its parts. An upload already gone is fine.
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
        do {
            _ = try await client.send(request("AbortMultipartUpload", "DELETE", bucket: bucket, key: key, query: [("uploadId", uploadID)]))
        } catch let error as AWSError where error.isNotFound {
            return
        }
    }

    /// Multipart uploads started and neither completed nor aborted under `prefix` (first
    /// 1,000): what a killed writer leaves behind, for cleanup and tests.
    public func listMultipartUploads(bucket: String, prefix: String = "") async throws -> [(key: String, uploadID: String)] {
        var query: [(name: String, value: String?)] = [("uploads", nil), ("encoding-type", "url")]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        let response = try await client.send(request("ListMultipartUploads", "GET", bucket: bucket, query: query))
        let root = try Self.parseXML(response.body, what: "ListMultipartUploads")
        let encoded = root.text(of: "EncodingType") == "url"
        return root.children("Upload").compactMap { upload in
            guard let key = upload.text(of: "Key"), let id = upload.text(of: "UploadId") else { return nil }
            return (encoded ? Self.urlDecoded(key) : key, id)
        }
    }

    /// Aborts in a task of its own, so that it still runs when the caller was cancelled (the
    /// parts would otherwise be billed until a lifecycle rule removes them); failures are logged.
    func abortInBackground(bucket: String, key: String, uploadID: String) async {
        let aborted = Task {
            try await abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID)
        }
        do {
            try await aborted.value
        } catch {
            logger.warning("could not abort a multipart upload; its parts stay until a lifecycle rule removes them", metadata: [
                "bucket": "\(bucket)", "key": "\(key)", "upload_id": "\(uploadID)", "error": "\(error)",
            ])
        }
    }

    /// CompleteMultipartUpload and CopyObject may answer 200 and still fail: the error is in
    /// the body. Such an error is retried as the transport would have.
    func sendCheckingEmbeddedError(_ request: AWSRequest) async throws -> AWSXMLElement {
        let policy = client.configuration.retry
        var attempt = 0
        while true {
            attempt += 1
            let response = try await client.send(request)
            let root = try Self.parseXML(response.body, what: request.operation)
            guard root.name == "Error" else { return root }
            let code = root.text(of: "Code")
            let error = AWSError(.service, root.text(of: "Message") ?? "failed", status: response.status, code: code,
                                 requestID: root.text(of: "RequestId") ?? response.head.requestID,
                                 request: client.label(request), attempts: attempt)
            guard attempt < policy.maximumAttempts, AWSRetryPolicy.isRetryable(status: response.status, code: code) else { throw error }
            try await Task.sleep(for: policy.delay(afterAttempt: attempt))
        }
    }
}
