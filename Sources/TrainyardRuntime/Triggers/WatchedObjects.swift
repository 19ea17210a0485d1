import Foundation
import TrainyardCore

/// Looking under a watched `s3://` prefix: one slice of its listing per look, so a prefix of
/// millions of keys costs each pass at most `maxKeys` keys (and `maxKeys / 1000` requests).
///
/// A look lists, in key order, the objects directly under the prefix (`listFolder`: keys in
/// "subfolders" are not listed one by one) after `cursor` (the last key the previous look reached,
/// persisted with the trigger so every process and every restart continues there) until it has
/// `maxKeys` or reaches the end; reaching the end returns no cursor, so the next look starts at
/// the beginning again. The objects directly under the prefix whose names match the glob are
/// returned with their identity (URI, size, ETag, modification time).
struct WatchedObjects {
    let prefix: WatchedPrefix
    let glob: GlobPattern

    /// Most keys one list request asks for (S3's own page limit).
    static let pageLimit = 1_000

    struct Look {
        /// The matching objects listed.
        var files: [WatchedFile]
        /// Where this look started: after this key (URI); nil from the beginning.
        var start: String?
        /// Where the next look continues (the last key listed); nil when this look reached the
        /// end of the prefix.
        var cursor: String?

        /// Whether this look listed the range `uri` lies in: an object there that the look did
        /// not return is gone (or no longer matches). Keys compare as S3 orders them, by
        /// UTF-8 bytes.
        func covers(_ uri: String) -> Bool {
            if let start, !Self.precedes(start, uri) { return false }
            if let cursor, Self.precedes(cursor, uri) { return false }
            return true
        }

        static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
    }

    /// One look: at most `maxKeys` keys after `cursor` (a cursor that is not under this prefix,
    /// say written by hand, is ignored: the look starts at the beginning).
    func look(in store: any DataObjectStore, after cursor: String?, maxKeys: Int) async throws -> Look {
        let start = cursor.flatMap { $0.utf8.starts(with: prefix.uri.utf8) ? $0 : nil }
        var after = start
        var files: [WatchedFile] = []
        var listed = 0
        // Bounded whatever the store answers: every request but the last lists at least one key,
        // or the look stops.
        for _ in 0..<max(maxKeys, 1) {
            // Only the prefix's own objects: a "subfolder" (processed files moved aside, say)
            // costs one entry, not a listing of everything in it.
            let page = try await store.listFolder(prefix.uri, after: after, limit: min(maxKeys - listed, Self.pageLimit))
            listed += page.objects.count
            for object in page.objects {
                guard let name = prefix.name(of: object.uri), glob.matches(name) else { continue }
                files.append(WatchedFile(path: object.uri, bytes: object.bytes, modified: object.lastModified?.timeIntervalSince1970 ?? 0,
                                         etag: object.etag))
            }
            guard let next = page.next else { return Look(files: files, start: start, cursor: nil) }
            guard after.map({ Look.precedes($0, next) }) ?? true else {
                throw TrainyardError(.unavailable, "listing \(prefix.uri) did not move past \(clientEcho(next)); tried again later")
            }
            after = next
            if listed >= maxKeys || page.objects.isEmpty { break }
        }
        return Look(files: files, start: start, cursor: after)
    }
}
