import Crypto
import Foundation
import Testing
import TrainyardAWS
import TrainyardAWSBackends
import TrainyardCore
import TrainyardTestServices

/// The `DataObjectStore` port on S3 (moto): listings page by page after a persistable cursor,
/// folder listings without "subfolders", heads that tell a missing object from a missing
/// bucket, ranged reads and bounded downloads pinned to an ETag, atomic writes (multipart for
/// large files), and errors naming the URI.
@Suite("S3 data objects", .s3BucketsDeleted, .enabled(if: TestService.aws.shouldRun, Comment(rawValue: TestService.aws.skipReason)))
struct S3DataObjectsTests {
    struct Setup {
        let objects: S3DataObjects
        let bucket: String

        init() async throws {
            let s3 = try S3TestStores.client()
            guard let cleanup = S3BucketsDeleted.current else { throw CancellationError() }
            bucket = "trainyard-data-" + UUID().uuidString.lowercased().prefix(20)
            try await s3.createBucket(bucket)
            cleanup.register(bucket)
            objects = S3DataObjects(s3: s3)
        }

        func uri(_ key: String) -> String { "s3://\(bucket)/\(key)" }

        @discardableResult
        func put(_ key: String, _ text: String) async throws -> DataObjectIdentity {
            try await objects.write(uri(key), data: Data(text.utf8))
        }
    }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    @Test func listsPageByPageAfterACursorAndFoldersWithoutSubfolders() async throws {
        let s = try await Setup()
        let keys = ["in/a.csv", "in/b.csv", "in/c.csv", "in/d.csv", "in/e.csv", "in/sub/f.csv", "other/g.csv"]
        for key in keys { try await s.put(key, "content of \(key)") }
        var listed: [DataObjectIdentity] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await s.objects.list(under: s.uri("in/"), after: cursor, limit: 2)
            #expect(page.objects.count <= 2)
            listed += page.objects
            cursor = page.next
            pages += 1
        } while cursor != nil
        #expect(pages == 3)
        #expect(listed.map(\.uri) == keys.dropLast().map(s.uri))
        // A cursor persisted earlier resumes strictly after its object.
        let resumed = try await s.objects.list(under: s.uri("in/"), after: s.uri("in/c.csv"), limit: 100)
        #expect(resumed.objects.map(\.uri) == ["in/d.csv", "in/e.csv", "in/sub/f.csv"].map(s.uri) && resumed.next == nil)
        // Identities are the ones a head gives.
        for object in listed {
            let head = try #require(try await s.objects.head(object.uri))
            #expect(head.bytes == object.bytes && head.etag == object.etag && object.etag != nil)
        }
        let folder = try await s.objects.listFolder(s.uri("in/"), after: nil, limit: 1000)
        #expect(folder.objects.map(\.uri) == ["in/a.csv", "in/b.csv", "in/c.csv", "in/d.csv", "in/e.csv"].map(s.uri))
    }

    /// A folder listing whose pages end on "subfolders" (or hold nothing but them) still moves
    /// on: every object directly in the folder once, none below it.
    @Test func aFolderListingPagesPastSubfolders() async throws {
        let s = try await Setup()
        let keys = ["in/a.csv", "in/b/1.csv", "in/b/2.csv", "in/c/1.csv", "in/d.csv", "in/e/1.csv", "in/e/2.csv", "in/f/1.csv", "in/g.csv"]
        for key in keys { try await s.put(key, key) }
        for limit in [1, 2, 3] {
            var listed: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await s.objects.listFolder(s.uri("in/"), after: cursor, limit: limit)
                listed += page.objects.map(\.uri)
                if let next = page.next, let previous = cursor { #expect(Array(previous.utf8).lexicographicallyPrecedes(Array(next.utf8))) }
                cursor = page.next
                pages += 1
            } while cursor != nil && pages < 20
            #expect(listed == ["in/a.csv", "in/d.csv", "in/g.csv"].map(s.uri), "limit \(limit)")
            #expect(pages < 20)
        }
    }

    @Test func aHeadTellsAMissingObjectFromAMissingBucket() async throws {
        let s = try await Setup()
        #expect(try await s.objects.head(s.uri("nothing.csv")) == nil)
        try await s.put("folder/x.csv", "x")
        #expect(try await s.objects.head(s.uri("folder/")) == nil, "a prefix is not an object")
        let missing = "s3://trainyard-missing-\(UUID().uuidString.lowercased().prefix(12))/x.csv"
        do {
            _ = try await s.objects.head(missing)
            Issue.record("a missing bucket was not said")
        } catch let error as TrainyardError {
            #expect(error.code == .notFound && error.message.contains("bucket") && error.message.contains(missing), "\(error.message)")
        }
    }

    @Test func readsARangeOnlyOfThePinnedObject() async throws {
        let s = try await Setup()
        let pinned = try await s.put("data.csv", "0123456789abcdef")
        var bytes = Data()
        let read = try await s.objects.read(s.uri("data.csv"), range: 3..<10, expecting: pinned) { bytes.append($0) }
        #expect(String(decoding: bytes, as: UTF8.self) == "3456789")
        #expect(read.bytes == 7 && read.object.bytes == 16 && read.object.etag == pinned.etag)
        #expect(read.sha256 == Self.sha256(Data("3456789".utf8)))
        let empty = try await s.objects.read(s.uri("data.csv"), range: 5..<5, expecting: pinned) { _ in Issue.record("no bytes expected") }
        #expect(empty.bytes == 0)

        // Rewritten with the same size: the pin tells, before any byte.
        try await s.put("data.csv", "0123456789ABCDEF")
        for range in [Range<Int64>?.none, 3..<10, 5..<5] {
            do {
                try await s.objects.read(s.uri("data.csv"), range: range, expecting: pinned) { _ in Issue.record("bytes of another object") }
                Issue.record("a changed object was read as the pinned one (range \(String(describing: range)))")
            } catch let error as TrainyardError {
                #expect(error.code == .conflict && error.message.contains(s.uri("data.csv")), "\(error.message)")
            }
        }
        var now = Data()
        try await s.objects.read(s.uri("data.csv"), range: nil, expecting: nil) { now.append($0) }
        #expect(String(decoding: now, as: UTF8.self) == "0123456789ABCDEF")
    }

    @Test func downloadsAreBoundedCheckedAndAtomic() async throws {
        let s = try await Setup()
        let text = String(repeating: "row,1\n", count: 1000)
        let pinned = try await s.put("rows.csv", text)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("s3-data-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("copy/rows.csv")
        do {
            try await s.objects.download(s.uri("rows.csv"), to: file, expecting: nil, maximumBytes: 100)
            Issue.record("an object over the limit was downloaded")
        } catch let error as TrainyardError {
            #expect(error.code == .payloadTooLarge && error.message.contains("limits.stage_bytes"), "\(error.message)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: file.deletingLastPathComponent().path).isEmpty, "nothing is left behind")
        let read = try await s.objects.download(s.uri("rows.csv"), to: file, expecting: pinned, maximumBytes: 1 << 20)
        #expect(try String(contentsOf: file, encoding: .utf8) == text)
        #expect(read.sha256 == Self.sha256(Data(text.utf8)) && read.bytes == Int64(text.utf8.count))

        try await s.put("rows.csv", text + "more,2\n")
        do {
            try await s.objects.download(s.uri("rows.csv"), to: file, expecting: pinned, maximumBytes: 1 << 20)
            Issue.record("a changed object was downloaded as the pinned one")
        } catch let error as TrainyardError {
            #expect(error.code == .conflict)
        }
        #expect(try String(contentsOf: file, encoding: .utf8) == text, "the earlier copy stays whole")
    }

    /// A file over one part goes up in a multipart upload and appears whole.
    @Test func writesLargeFilesInPartsAndDeletes() async throws {
        let s = try await Setup()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("s3-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = Data((0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251 &+ $0 >> 16) })
        let file = folder.appendingPathComponent("big.bin")
        try data.write(to: file)
        let written = try await s.objects.write(s.uri("out/big.bin"), from: file)
        #expect(written.bytes == Int64(data.count))
        // A multipart ETag names its part count.
        #expect(written.etag?.contains("-") == true, "\(written.etag ?? "-")")
        let head = try #require(try await s.objects.head(s.uri("out/big.bin")))
        #expect(head.bytes == Int64(data.count) && head.etag == written.etag)
        let copy = folder.appendingPathComponent("back.bin")
        let read = try await s.objects.download(s.uri("out/big.bin"), to: copy, expecting: head, maximumBytes: 1 << 30)
        #expect(read.sha256 == Self.sha256(data))
        try await s.objects.delete(s.uri("out/big.bin"))
        try await s.objects.delete(s.uri("out/big.bin"))
        #expect(try await s.objects.head(s.uri("out/big.bin")) == nil)
        do {
            try await s.objects.write(s.uri("out/"), data: Data())
            Issue.record("a prefix was written as an object")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidArgument)
        }
    }

    @Test func withoutCredentialsEveryCallSaysSoNamingTheURI() async throws {
        let s = try await Setup()
        let endpoint = try TestService.aws.require()
        let anonymous = try S3DataObjects.fromEnvironment(["AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent-trainyard-home"],
                                                          endpoint: endpoint)
        do {
            _ = try await anonymous.head(s.uri("x.csv"))
            Issue.record("a head without credentials succeeded")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidArgument && error.message.contains("no S3 credentials") && error.message.contains(s.uri("x.csv")),
                    "\(error.message)")
        }
        do {
            _ = try await s.objects.head("s3://Bad_Bucket/x")
            Issue.record("a malformed URI was accepted")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidArgument)
        }
    }
}
