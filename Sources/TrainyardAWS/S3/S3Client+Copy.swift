import Foundation

extension S3Client {
    /// Copies an object inside S3 (no bytes through this process). Objects over
    /// ``Configuration/maximumSingleCopyBytes`` go part by part (UploadPartCopy), several at
    /// once. `sourceETag` makes the copy fail with HTTP 412 if the source changed meanwhile.
    /// Returns the new object's ETag.
    @discardableResult
    public func copyObject(sourceBucket: String, sourceKey: String, bucket: String, key: String,
                           sourceETag: String? = nil, sourceSize: Int64? = nil) async throws -> String? {
        let size: Int64
        if let sourceSize {
            size = sourceSize
        } else {
            guard let head = try await headObject(bucket: sourceBucket, key: sourceKey) else {
                throw AWSError(.service, "the copy source s3://\(sourceBucket)/\(sourceKey) does not exist", status: 404, code: "NoSuchKey")
            }
            size = head.contentLength
        }
        var headers = [HTTPField("x-amz-copy-source", Self.copySource(bucket: sourceBucket, key: sourceKey))]
        if let sourceETag { headers.append(HTTPField("x-amz-copy-source-if-match", sourceETag)) }
        if size <= configuration.maximumSingleCopyBytes {
            let root = try await sendCheckingEmbeddedError(request("CopyObject", "PUT", bucket: bucket, key: key, headers: headers))
            return root.text(of: "ETag")
        }
        return try await copyInParts(headers: headers, size: size, bucket: bucket, key: key)
    }

    private func copyInParts(headers: [HTTPField], size: Int64, bucket: String, key: String) async throws -> String? {
        let partSize = max(configuration.copyPartSize, (size + Int64(Configuration.maximumParts) - 1) / Int64(Configuration.maximumParts))
        let uploadID = try await createMultipartUpload(bucket: bucket, key: key)
        do {
            var parts: [S3UploadedPart] = []
            try await withThrowingTaskGroup(of: S3UploadedPart.self) { group in
                var offset: Int64 = 0
                var number = 0
                var inFlight = 0
                while offset < size {
                    number += 1
                    if inFlight >= configuration.uploadConcurrency, let finished = try await group.next() {
                        parts.append(finished)
                        inFlight -= 1
                    }
                    let range = "bytes=\(offset)-\(min(offset + partSize, size) - 1)"
                    let partNumber = number
                    group.addTask {
                        let root = try await self.sendCheckingEmbeddedError(self.request(
                            "UploadPartCopy", "PUT", bucket: bucket, key: key,
                            query: [("partNumber", String(partNumber)), ("uploadId", uploadID)],
                            headers: headers + [HTTPField("x-amz-copy-source-range", range)]))
                        guard let eTag = root.text(of: "ETag") else {
                            throw AWSError(.invalidResponse, "UploadPartCopy \(partNumber) of s3://\(bucket)/\(key) answered no ETag")
                        }
                        return S3UploadedPart(number: partNumber, eTag: eTag)
                    }
                    inFlight += 1
                    offset += partSize
                }
                for try await finished in group { parts.append(finished) }
            }
            try Task.checkCancellation()
            return try await completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID,
                                                     parts: parts.sorted { $0.number < $1.number })
        } catch {
            await abortInBackground(bucket: bucket, key: key, uploadID: uploadID)
            throw error
        }
    }

    /// `bucket/key` with the key percent-encoded (slashes kept), as `x-amz-copy-source` wants it.
    static func copySource(bucket: String, key: String) -> String {
        "\(bucket)/\(SigV4URIEncoding.encodePath(key))"
    }
}
