import Foundation

extension S3Client {
    /// One page of ListObjectsV2: up to `maxKeys` (≤ 1,000) objects whose keys start with
    /// `prefix`, in UTF-8 byte order, after `startAfter` (a key: where a persisted listing cursor
    /// resumes) or continuing from `continuationToken`.
    public func listObjectsPage(bucket: String, prefix: String = "", delimiter: String? = nil, startAfter: String? = nil,
                                continuationToken: String? = nil, maxKeys: Int = 1000) async throws -> S3ListPage {
        var query: [(name: String, value: String?)] = [("list-type", "2"), ("encoding-type", "url"),
                                                         ("max-keys", String(min(max(maxKeys, 1), 1000)))]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let startAfter, continuationToken == nil { query.append(("start-after", startAfter)) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        let response = try await client.send(request("ListObjectsV2", "GET", bucket: bucket, query: query))
        let root = try Self.parseXML(response.body, what: "ListObjectsV2")
        guard root.name == "ListBucketResult" else {
            throw AWSError(.invalidResponse, "ListObjectsV2 answered <\(root.name)> instead of <ListBucketResult>")
        }
        // Keys come URL-encoded when asked (a key may hold characters XML 1.0 cannot carry).
        let encoded = root.text(of: "EncodingType") == "url"
        func decode(_ text: String) -> String { encoded ? Self.urlDecoded(text) : text }
        let objects = try root.children("Contents").map { entry -> S3ObjectSummary in
            guard let key = entry.text(of: "Key") else { throw AWSError(.invalidResponse, "ListObjectsV2 answered an object without a key") }
            return S3ObjectSummary(key: decode(key), size: entry.text(of: "Size").flatMap { Int64($0) } ?? 0,
                                   eTag: entry.text(of: "ETag"),
                                   lastModified: entry.text(of: "LastModified").flatMap(CredentialsEndpointHTTP.parseTimestamp))
        }
        let prefixes = root.children("CommonPrefixes").compactMap { $0.text(of: "Prefix") }.map(decode)
        let truncated = root.text(of: "IsTruncated") == "true"
        let next = truncated ? root.text(of: "NextContinuationToken") : nil
        if truncated, next == nil {
            throw AWSError(.invalidResponse, "ListObjectsV2 answered a truncated page without NextContinuationToken")
        }
        return S3ListPage(objects: objects, commonPrefixes: prefixes, nextContinuationToken: next)
    }

    /// Every page of a listing, fetched as the sequence is iterated.
    public func listPages(bucket: String, prefix: String = "", delimiter: String? = nil, startAfter: String? = nil,
                          pageSize: Int = 1000) -> S3ListPages {
        S3ListPages(client: self, bucket: bucket, prefix: prefix, delimiter: delimiter, startAfter: startAfter, pageSize: pageSize)
    }

    /// Every object under `prefix`, in key order, refused beyond `limit` objects (a listing
    /// held in memory must stay bounded; iterate ``listPages(bucket:prefix:delimiter:startAfter:pageSize:)`` for more).
    public func listAllObjects(bucket: String, prefix: String = "", limit: Int = 1_000_000) async throws -> [S3ObjectSummary] {
        var all: [S3ObjectSummary] = []
        for try await page in listPages(bucket: bucket, prefix: prefix) {
            all += page.objects
            guard all.count <= limit else {
                throw AWSError(.invalidResponse, "s3://\(bucket)/\(prefix) holds more than \(limit) objects")
            }
        }
        return all
    }
}

/// The pages of one ListObjectsV2 listing, each fetched when asked for.
public struct S3ListPages: AsyncSequence, Sendable {
    public typealias Element = S3ListPage

    let client: S3Client
    let bucket: String
    let prefix: String
    let delimiter: String?
    let startAfter: String?
    let pageSize: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let pages: S3ListPages
        var token: String?
        var finished = false

        public mutating func next() async throws -> S3ListPage? {
            guard !finished else { return nil }
            let page = try await pages.client.listObjectsPage(bucket: pages.bucket, prefix: pages.prefix, delimiter: pages.delimiter,
                                                              startAfter: pages.startAfter, continuationToken: token, maxKeys: pages.pageSize)
            token = page.nextContinuationToken
            finished = token == nil
            return page
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pages: self) }
}
