import Crypto
import Foundation
import Synchronization
import TrainyardCore

/// An in-memory `DataObjectStore` for `s3://` URIs, ordered and paged as S3 does (keys in UTF-8
/// byte order, `after` exclusive, `next` the last key of a page that is not the last), with
/// S3's ETags (the MD5 of the bytes, quoted) and modification times from the test's clock. It
/// records every listing asked of it, so tests see where each look started and how much it
/// asked for.
final class FakeDataObjects: DataObjectStore {
    struct Listing: Sendable, Equatable {
        var prefix: String
        var after: String?
        var limit: Int
        var returned: Int
    }

    private struct Object {
        var data: Data
        var etag: String
        var modified: Date
    }

    private struct State {
        var buckets: Set<String>
        var objects: [String: Object] = [:]
        var listings: [Listing] = []
        var failListing: TrainyardError?
    }

    private let state: Mutex<State>
    private let clock: any WallClock

    init(buckets: Set<String> = ["bucket"], clock: any WallClock) {
        state = Mutex(State(buckets: buckets))
        self.clock = clock
    }

    // MARK: What tests do

    /// Puts (or overwrites) the object at `uri`; returns its ETag.
    @discardableResult
    func put(_ uri: String, _ text: String) -> String {
        let data = Data(text.utf8)
        let etag = "\"" + Insecure.MD5.hash(data: data).map { String(format: "%02x", $0) }.joined() + "\""
        let now = clock.now()
        state.withLock { $0.objects[uri] = Object(data: data, etag: etag, modified: now) }
        return etag
    }

    func remove(_ uri: String) { _ = state.withLock { $0.objects.removeValue(forKey: uri) } }

    var listings: [Listing] { state.withLock { $0.listings } }

    func clearListings() { state.withLock { $0.listings.removeAll() } }

    /// Makes every listing fail with `error` (nil: succeed again).
    func failListings(with error: TrainyardError?) { state.withLock { $0.failListing = error } }

    // MARK: The port

    func serves(_ uri: String) -> Bool { uri.hasPrefix("s3://") }

    func list(under prefix: String, after cursor: String?, limit: Int) async throws -> DataObjectPage {
        try state.withLock { s in
            if let error = s.failListing { throw error }
            let bucket = Self.bucket(of: prefix)
            guard s.buckets.contains(bucket) else { throw TrainyardError(.notFound, "bucket \(bucket) of \(prefix) does not exist") }
            let keys = s.objects.keys
                .filter { key in key.utf8.starts(with: prefix.utf8) && (cursor.map { $0.utf8.lexicographicallyPrecedes(key.utf8) } ?? true) }
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let page = Array(keys.prefix(max(1, min(limit, 1000))))
            s.listings.append(Listing(prefix: prefix, after: cursor, limit: limit, returned: page.count))
            let objects = page.map { uri in
                let o = s.objects[uri]!
                return DataObjectIdentity(uri: uri, bytes: Int64(o.data.count), etag: o.etag, lastModified: o.modified)
            }
            return DataObjectPage(objects: objects, next: keys.count > page.count ? page.last : nil)
        }
    }

    func head(_ uri: String) async throws -> DataObjectIdentity? {
        state.withLock { s in
            s.objects[uri].map { DataObjectIdentity(uri: uri, bytes: Int64($0.data.count), etag: $0.etag, lastModified: $0.modified) }
        }
    }

    func read(_ uri: String, range: Range<Int64>?, expecting identity: DataObjectIdentity?,
              chunks consume: (Data) async throws -> Void) async throws -> DataObjectRead {
        let (data, current) = try current(uri, expecting: identity)
        let slice = range.map { data.subdata(in: Int($0.lowerBound)..<Int(min($0.upperBound, Int64(data.count)))) } ?? data
        try await consume(slice)
        return DataObjectRead(object: current, sha256: SHA256.hash(data: slice).map { String(format: "%02x", $0) }.joined(), bytes: Int64(slice.count))
    }

    func download(_ uri: String, to file: URL, expecting identity: DataObjectIdentity?, maximumBytes: Int64) async throws -> DataObjectRead {
        let (data, current) = try current(uri, expecting: identity)
        guard Int64(data.count) <= maximumBytes else { throw TrainyardError(.payloadTooLarge, "\(uri) is larger than \(maximumBytes) bytes") }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file, options: .atomic)
        return DataObjectRead(object: current, sha256: SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined(), bytes: Int64(data.count))
    }

    func write(_ uri: String, from file: URL) async throws -> DataObjectIdentity {
        try await write(uri, data: try Data(contentsOf: file))
    }

    func write(_ uri: String, data: Data) async throws -> DataObjectIdentity {
        put(uri, String(decoding: data, as: UTF8.self))
        return try await head(uri)!
    }

    func delete(_ uri: String) async throws { remove(uri) }

    private func current(_ uri: String, expecting identity: DataObjectIdentity?) throws -> (Data, DataObjectIdentity) {
        try state.withLock { s in
            guard let o = s.objects[uri] else { throw TrainyardError(.notFound, "\(uri) does not exist") }
            let current = DataObjectIdentity(uri: uri, bytes: Int64(o.data.count), etag: o.etag, lastModified: o.modified)
            if let identity, !identity.isSameObject(as: current) { throw TrainyardError(.conflict, "\(uri) was replaced") }
            return (o.data, current)
        }
    }

    static func bucket(of uri: String) -> String { String(uri.dropFirst("s3://".count).prefix { $0 != "/" }) }
}
