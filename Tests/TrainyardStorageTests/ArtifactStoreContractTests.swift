import Foundation
import Testing
import TrainyardCore
@testable import TrainyardStorage
import TrainyardTestServices

/// The artifact-store backends the contract runs against.
enum ArtifactBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case folder
    case memory
    /// The serving cache in front of a folder: reads of immutable keys go through its copy.
    case cachedFolder
    /// An S3 bucket on the test endpoint (moto), a bucket per store (`.s3BucketsDeleted`).
    /// Left out when the endpoint is not announced (`S3ArtifactStoreTests` then says why it
    /// skips); under `TRAINYARD_REQUIRE_SERVICES=1` it stays, and its cases fail.
    case s3

    static var allCases: [ArtifactBackend] { [.folder, .memory, .cachedFolder] + (TestService.aws.shouldRun ? [.s3] : []) }

    func makeStore() async throws -> any ArtifactStore {
        switch self {
        case .folder:
            try FileArtifactStore(root: try temporaryDirectory("trainyard-artifacts"))
        case .memory:
            InMemoryArtifactStore()
        case .cachedFolder:
            try CachingArtifactStore(remote: try FileArtifactStore(root: try temporaryDirectory("trainyard-remote")),
                                     directory: try temporaryDirectory("trainyard-cache"), namespace: Namespace())
        case .s3:
            try await S3TestStores.open()
        }
    }

    var testDescription: String { rawValue }
}

/// What every `ArtifactStore` does, one body per behaviour, run once per backend.
@Suite("ArtifactStore contract", .s3BucketsDeleted)
struct ArtifactStoreContractTests {
    static let backends = ArtifactBackend.allCases
    static let abcSHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// `count` bytes that differ from one chunk to the next (a misplaced chunk changes the digest).
    static func payload(_ count: Int) -> Data { Data((0..<count).map { UInt8(truncatingIfNeeded: $0 % 251 + $0 / 65_536) }) }

    /// `data` as a sequence of chunks of `size` bytes.
    static func chunks(of data: Data, size: Int) -> AsyncStream<Data> {
        AsyncStream { continuation in
            var start = data.startIndex
            while start < data.endIndex {
                let end = min(start + size, data.endIndex)
                continuation.yield(data.subdata(in: start..<end))
                start = end
            }
            continuation.finish()
        }
    }

    /// Runs `body`, which must throw a `TrainyardError` with `code`.
    static func expectError(_ code: TrainyardError.Code, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation,
                            _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("\(what): expected \(code), nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as TrainyardError {
            #expect(error.code == code, "\(what): \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(what): expected \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Writing and reading

    @Test(arguments: backends) func putThenGetRoundTripsWithDigestAndSize(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        let stored = try await store.put("models/iris/1/model.bin", data: Data("abc".utf8))
        #expect(stored == StoredObject(key: "models/iris/1/model.bin", sha256: Self.abcSHA256, bytes: 3))
        #expect(try await store.get("models/iris/1/model.bin") == Data("abc".utf8))
        #expect(try await store.exists("models/iris/1/model.bin"))

        let empty = try await store.put("models/iris/1/empty", data: Data())
        #expect(empty == StoredObject(key: "models/iris/1/empty", sha256: Self.emptySHA256, bytes: 0))
        #expect(try await store.get("models/iris/1/empty") == Data())

        let file = try temporaryDirectory("trainyard-contract").appendingPathComponent("abc.txt")
        try Data("abc".utf8).write(to: file)
        #expect(try await store.put("blobs/sha256/\(Self.abcSHA256)", file: file)
            == StoredObject(key: "blobs/sha256/\(Self.abcSHA256)", sha256: Self.abcSHA256, bytes: 3))
        #expect(try await store.get("blobs/sha256/\(Self.abcSHA256)") == Data("abc".utf8))
    }

    @Test(arguments: backends) func overwriteReplacesTheWholeObject(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        try await store.put("jobs/1/log", data: Data("a longer first version".utf8))
        let second = try await store.put("jobs/1/log", data: Data("abc".utf8))
        #expect(second.sha256 == Self.abcSHA256)
        #expect(try await store.get("jobs/1/log") == Data("abc".utf8))
        #expect(try await store.list(prefix: "jobs/") == ["jobs/1/log"])
    }

    /// A streamed write half done: readers and `list` still see only the old object (no
    /// temporary file, no partial bytes); after the last chunk, the new one whole.
    @Test(arguments: backends) func aStreamedWriteIsInvisibleUntilItsLastChunk(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        try await store.put("jobs/1/log", data: Data("old".utf8))
        let (input, feed) = AsyncThrowingStream<Data, any Error>.makeStream()
        let (pulled, pull) = AsyncStream<Void>.makeStream()
        let chunks = input.map { chunk in pull.yield(); return chunk }
        let writer = Task { try await store.put("jobs/1/log", from: chunks) }
        var pulls = pulled.makeAsyncIterator()

        feed.yield(Data("new ".utf8))
        _ = await pulls.next()
        feed.yield(Data("bytes".utf8))
        _ = await pulls.next() // the store took the second chunk, so it has written the first
        #expect(try await store.get("jobs/1/log") == Data("old".utf8))
        #expect(try await store.list(prefix: "") == ["jobs/1/log"])

        feed.finish()
        let stored = try await writer.value
        #expect(stored.bytes == 9)
        #expect(stored.sha256 == SHA256Hex.of(Data("new bytes".utf8)))
        #expect(try await store.get("jobs/1/log") == Data("new bytes".utf8))
        #expect(try await store.list(prefix: "") == ["jobs/1/log"])
    }

    struct ProducerFailed: Error {}

    /// A streamed write whose chunks stop with an error leaves the old object (or none) as it was.
    @Test(arguments: backends) func aFailedStreamedWriteChangesNothing(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        try await store.put("jobs/1/log", data: Data("old".utf8))
        for key in ["jobs/1/log", "jobs/2/log"] {
            let (input, feed) = AsyncThrowingStream<Data, any Error>.makeStream()
            feed.yield(Self.payload(100_000))
            feed.finish(throwing: ProducerFailed())
            await #expect(throws: ProducerFailed.self) { try await store.put(key, from: input) }
        }
        #expect(try await store.get("jobs/1/log") == Data("old".utf8))
        #expect(try await !store.exists("jobs/2/log"))
        #expect(try await store.list(prefix: "") == ["jobs/1/log"])
    }

    /// `AsyncStream` ends quietly when the task reading it is cancelled; the store must not
    /// take that end for the last chunk and keep a short object.
    @Test(arguments: backends) func aCancelledStreamedWriteChangesNothing(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        try await store.put("jobs/1/log", data: Data("old".utf8))
        let (input, feed) = AsyncStream<Data>.makeStream()
        let (pulled, pull) = AsyncStream<Void>.makeStream()
        let chunks = input.map { chunk in pull.yield(); return chunk }
        let writer = Task { try await store.put("jobs/1/log", from: chunks) }
        var pulls = pulled.makeAsyncIterator()
        feed.yield(Data("partial".utf8))
        _ = await pulls.next()
        writer.cancel()

        await #expect(throws: CancellationError.self) { try await writer.value }
        feed.finish()
        #expect(try await store.get("jobs/1/log") == Data("old".utf8))
        #expect(try await store.list(prefix: "") == ["jobs/1/log"])
    }

    @Test(arguments: backends) func streamedWriteAndReadOfAMultiMebibyteObject(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        let payload = Self.payload(5 << 20 + 123)
        let key = "models/big/1/model.bin"
        let written = try await store.put(key, from: Self.chunks(of: payload, size: 64 << 10))
        #expect(written == StoredObject(key: key, sha256: SHA256Hex.of(payload), bytes: Int64(payload.count)))

        var received = Data()
        var chunkSizes: [Int] = []
        let read = try await store.read(key) { chunk in
            chunkSizes.append(chunk.count)
            received.append(chunk)
        }
        #expect(read == written)
        #expect(received == payload)
        // Streamed, not handed over whole: several chunks, none larger than the port allows.
        #expect(chunkSizes.count > 1)
        #expect(chunkSizes.allSatisfy { $0 <= ArtifactKeys.chunkBytes })
        #expect(try await store.get(key) == payload)
    }

    struct ConsumerStopped: Error {}

    @Test(arguments: backends) func aReadStopsWhenItsConsumerThrows(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        try await store.put("models/big/1/model.bin", from: Self.chunks(of: Self.payload(3 << 20), size: 1 << 20))
        var calls = 0
        await #expect(throws: ConsumerStopped.self) {
            try await store.read("models/big/1/model.bin") { _ in
                calls += 1
                throw ConsumerStopped()
            }
        }
        #expect(calls == 1)
        // The store is still usable (nothing left locked or open that matters).
        #expect(try await store.get("models/big/1/model.bin").count == 3 << 20)
    }

    @Test(arguments: backends) func downloadReturnsTheDigestItComputed(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        let payload = Self.payload(3_000_000)
        let key = "blobs/sha256/\(SHA256Hex.of(payload))"
        let written = try await store.put(key, data: payload)
        let folder = try temporaryDirectory("trainyard-contract").appendingPathComponent("out/nested")
        let target = folder.appendingPathComponent("copy.bin")

        let downloaded = try await store.download(key, to: target)
        #expect(downloaded == written)
        #expect(try Data(contentsOf: target) == payload)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["copy.bin"])
        // Only the owner may read what was downloaded (models and staged data are nobody else's).
        #expect(try FileManager.default.attributesOfItem(atPath: target.path)[.posixPermissions] as? Int == 0o600)
        // Downloading again replaces the file.
        #expect(try await store.download(key, to: target) == written)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["copy.bin"])
    }

    // MARK: Missing objects and bad keys

    @Test(arguments: backends) func missingObjectsAreNotFound(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        let key = "models/none/1/model.bin"
        await Self.expectError(.notFound, "get") { _ = try await store.get(key) }
        var chunks = 0
        await Self.expectError(.notFound, "read") { try await store.read(key) { _ in chunks += 1 } }
        #expect(chunks == 0)
        let target = try temporaryDirectory("trainyard-contract").appendingPathComponent("never.bin")
        await Self.expectError(.notFound, "download") { try await store.download(key, to: target) }
        #expect(!FileManager.default.fileExists(atPath: target.path))
        #expect(try await !store.exists(key))
        let missingFile = target.appendingPathComponent("missing")
        await Self.expectError(.notFound, "put(file:) of a missing file") { try await store.put("jobs/1/log", file: missingFile) }
        #expect(try await !store.exists("jobs/1/log"))
    }

    /// A prefix of other keys is not an object: it does not exist, cannot be read, and
    /// deleting it removes none of the objects under it.
    @Test(arguments: backends) func aPrefixIsNotAnObject(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        try await store.put("models/iris/1/model.bin", data: Data("abc".utf8))
        #expect(try await !store.exists("models/iris"))
        await Self.expectError(.notFound, "get of a prefix") { _ = try await store.get("models/iris/1") }
        try await store.delete("models/iris")
        #expect(try await store.get("models/iris/1/model.bin") == Data("abc".utf8))
    }

    static let invalidKeys = ["", "/etc/passwd", "../escape", "a/../../b", "a/./b", "a//b", "a/", "..", "."]

    @Test(arguments: backends, invalidKeys) func invalidKeysAreRejected(_ backend: ArtifactBackend, _ key: String) async throws {
        let store = try await backend.makeStore()
        let scratch = try temporaryDirectory("trainyard-contract")
        let file = scratch.appendingPathComponent("x")
        try Data("x".utf8).write(to: file)
        await Self.expectError(.invalidArgument, "put(data:)") { try await store.put(key, data: Data("x".utf8)) }
        await Self.expectError(.invalidArgument, "put(file:)") { try await store.put(key, file: file) }
        await Self.expectError(.invalidArgument, "put(from:)") { try await store.put(key, from: Self.chunks(of: Data("x".utf8), size: 1)) }
        await Self.expectError(.invalidArgument, "get") { _ = try await store.get(key) }
        await Self.expectError(.invalidArgument, "read") { try await store.read(key) { _ in } }
        await Self.expectError(.invalidArgument, "download") { try await store.download(key, to: scratch.appendingPathComponent("y")) }
        await Self.expectError(.invalidArgument, "exists") { _ = try await store.exists(key) }
        await Self.expectError(.invalidArgument, "delete") { try await store.delete(key) }
        #expect(try await store.list(prefix: "").isEmpty)
    }

    @Test(arguments: backends, ["models/iris/1", "/models/iris/1/", "../models/", "models//1/", "models/./1/", "/"])
    func invalidPublicationPrefixesAreRejected(_ backend: ArtifactBackend, _ prefix: String) async throws {
        let store = try await backend.makeStore()
        try await store.put("staging/jobs/1/attempt-1/model.bin", data: Data("abc".utf8))
        await Self.expectError(.invalidArgument, "as destination") { _ = try await store.publish("staging/jobs/1/attempt-1/", to: prefix) }
        await Self.expectError(.invalidArgument, "as source") { _ = try await store.publish(prefix, to: "models/iris/1/") }
        #expect(try await store.list(prefix: "") == ["staging/jobs/1/attempt-1/model.bin"])
    }

    // MARK: Listing and deleting

    @Test(arguments: backends) func listReturnsKeysUnderAPrefixSorted(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        for key in ["models/iris/2/model.bin", "jobs/1/log", "models/iris/1/manifest.json", "models/iris/10/model.bin",
                    "models/iris/1/model.bin", "models/irises/1/model.bin"] {
            try await store.put(key, data: Data(key.utf8))
        }
        #expect(try await store.list(prefix: "models/iris/1/") == ["models/iris/1/manifest.json", "models/iris/1/model.bin"])
        #expect(try await store.list(prefix: "models/iris/") == [
            "models/iris/1/manifest.json", "models/iris/1/model.bin", "models/iris/10/model.bin", "models/iris/2/model.bin",
        ])
        // A plain string prefix, not only whole folders.
        #expect(try await store.list(prefix: "models/iris").count == 5)
        #expect(try await store.list(prefix: "").count == 6)
        #expect(try await store.list(prefix: "nothing/").isEmpty)
    }

    @Test(arguments: backends) func deleteRemovesOneObjectAndAMissingKeyIsFine(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        try await store.put("models/iris/1/model.bin", data: Data("abc".utf8))
        try await store.put("models/iris/1/manifest.json", data: Data("{}".utf8))
        _ = try await store.get("models/iris/1/model.bin") // a cached copy must go too

        try await store.delete("models/iris/1/model.bin")
        #expect(try await !store.exists("models/iris/1/model.bin"))
        await Self.expectError(.notFound, "get after delete") { _ = try await store.get("models/iris/1/model.bin") }
        #expect(try await store.list(prefix: "") == ["models/iris/1/manifest.json"])

        try await store.delete("models/iris/1/model.bin")
        try await store.delete("models/never/1/model.bin")
        #expect(try await store.list(prefix: "") == ["models/iris/1/manifest.json"])
    }

    // MARK: Publishing a version

    @Test(arguments: backends) func publishToAnEmptyDestinationMovesEverything(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        try await store.put("staging/jobs/7/attempt-1/model.bin", data: Data("weights".utf8))
        try await store.put("staging/jobs/7/attempt-1/manifest.json", data: Data("{}".utf8))
        try await store.put("staging/jobs/7/attempt-1/extra/notes.txt", data: Data("notes".utf8))
        try await store.put("staging/jobs/7/attempt-2/model.bin", data: Data("other attempt".utf8))

        #expect(try await store.publish("staging/jobs/7/attempt-1/", to: "models/iris/3/") == .published)
        #expect(try await store.list(prefix: "models/") == [
            "models/iris/3/extra/notes.txt", "models/iris/3/manifest.json", "models/iris/3/model.bin",
        ])
        #expect(try await store.get("models/iris/3/model.bin") == Data("weights".utf8))
        #expect(try await store.get("models/iris/3/extra/notes.txt") == Data("notes".utf8))
        #expect(try await store.list(prefix: "staging/jobs/7/attempt-1/").isEmpty)
        #expect(try await !store.exists("staging/jobs/7/attempt-1/model.bin"))
        // Only the source moved.
        #expect(try await store.list(prefix: "staging/") == ["staging/jobs/7/attempt-2/model.bin"])
    }

    @Test(arguments: backends) func publishToAnOccupiedDestinationChangesNothing(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        try await store.put("models/iris/3/model.bin", data: Data("winner".utf8))
        try await store.put("models/iris/3/manifest.json", data: Data("{\"winner\":true}".utf8))
        try await store.put("staging/jobs/7/attempt-1/model.bin", data: Data("stale".utf8))
        try await store.put("staging/jobs/7/attempt-1/checkpoint.bin", data: Data("stale checkpoint".utf8))
        _ = try await store.get("models/iris/3/model.bin")

        #expect(try await store.publish("staging/jobs/7/attempt-1/", to: "models/iris/3/") == .occupied)
        #expect(try await store.list(prefix: "models/") == ["models/iris/3/manifest.json", "models/iris/3/model.bin"])
        #expect(try await store.get("models/iris/3/model.bin") == Data("winner".utf8))
        #expect(try await store.get("models/iris/3/manifest.json") == Data("{\"winner\":true}".utf8))
        #expect(try await store.list(prefix: "staging/") == ["staging/jobs/7/attempt-1/checkpoint.bin", "staging/jobs/7/attempt-1/model.bin"])
        #expect(try await store.get("staging/jobs/7/attempt-1/model.bin") == Data("stale".utf8))

        // Still occupied the second time: a published version is never written again.
        #expect(try await store.publish("staging/jobs/7/attempt-1/", to: "models/iris/3/") == .occupied)
        #expect(try await store.get("models/iris/3/model.bin") == Data("winner".utf8))
    }

    @Test(arguments: backends) func publishOfAMissingSourceIsNotFound(_ backend: ArtifactBackend) async throws {
        let store = try await backend.makeStore()
        try await store.put("staging/jobs/7/attempt-2/model.bin", data: Data("x".utf8))
        await Self.expectError(.notFound, "publish") { _ = try await store.publish("staging/jobs/7/attempt-1/", to: "models/iris/3/") }
        #expect(try await store.list(prefix: "models/").isEmpty)
        #expect(try await store.list(prefix: "") == ["staging/jobs/7/attempt-2/model.bin"])
    }
}
