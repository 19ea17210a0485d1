import Foundation
import Testing
import TrainyardCore
@testable import TrainyardStorage

@Suite("FileArtifactStore")
struct FileArtifactStoreTests {
    @Test func putGetListDelete() async throws {
        let root = try temporaryDirectory("trainyard-artifacts")
        let store = try FileArtifactStore(root: root)
        let stored = try await store.put("models/iris/1/model.bin", data: Data("abc".utf8))
        #expect(stored.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(stored.bytes == 3)
        #expect(stored.key == "models/iris/1/model.bin")
        #expect(try await store.get("models/iris/1/model.bin") == Data("abc".utf8))
        #expect(try await store.exists("models/iris/1/model.bin"))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("default/dev/models/iris/1/model.bin").path))

        // Overwrite replaces.
        try await store.put("models/iris/1/model.bin", data: Data("abcd".utf8))
        #expect(try await store.get("models/iris/1/model.bin") == Data("abcd".utf8))

        try await store.put("models/iris/1/manifest.json", data: Data("{}".utf8))
        try await store.put("models/iris/2/model.bin", data: Data())
        try await store.put("jobs/1/log", data: Data("x".utf8))
        #expect(try await store.list(prefix: "models/iris/1/") == ["models/iris/1/manifest.json", "models/iris/1/model.bin"])
        #expect(try await store.list(prefix: "models/").count == 3)
        #expect(try await store.list(prefix: "").count == 4)
        #expect(try await store.list(prefix: "nothing/").isEmpty)

        try await store.delete("models/iris/2/model.bin")
        #expect(try await !store.exists("models/iris/2/model.bin"))
        try await store.delete("models/iris/2/model.bin") // idempotent
        #expect(try await store.list(prefix: "models/").count == 2)
        #expect(store.location.hasPrefix("file://"))
    }

    @Test func fileCopyAndDownload() async throws {
        let root = try temporaryDirectory("trainyard-artifacts")
        let store = try FileArtifactStore(root: root)
        let source = root.appendingPathComponent("source.bin")
        let payload = Data((0..<3_000_000).map { UInt8($0 % 251) })
        try payload.write(to: source)
        let stored = try await store.put("blobs/big", file: source)
        #expect(stored.bytes == Int64(payload.count))
        #expect(stored.sha256 == SHA256Hex.of(payload))
        let target = root.appendingPathComponent("out/nested/copy.bin")
        try await store.download("blobs/big", to: target)
        #expect(try Data(contentsOf: target) == payload)

        let abc = root.appendingPathComponent("abc.txt")
        try Data("abc".utf8).write(to: abc)
        #expect(try await store.put("abc", file: abc).sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func noTemporaryFilesAreLeft() async throws {
        let root = try temporaryDirectory("trainyard-artifacts")
        let store = try FileArtifactStore(root: root)
        for i in 0..<20 { try await store.put("models/m/1/f\(i % 3)", data: Data(repeating: UInt8(i), count: 1000)) }
        let source = root.appendingPathComponent("s")
        try Data("s".utf8).write(to: source)
        try await store.put("models/m/1/file", file: source)
        try await store.download("models/m/1/file", to: root.appendingPathComponent("d/file"))
        let all = FileManager.default.enumerator(atPath: root.path)!.compactMap { $0 as? String }
        #expect(!all.contains { $0.split(separator: "/").last!.hasPrefix(".tmp-") })
        #expect(try await store.list(prefix: "models/m/1/") == ["models/m/1/f0", "models/m/1/f1", "models/m/1/f2", "models/m/1/file"])
    }

    @Test(arguments: ["", "/etc/passwd", "../escape", "a/../../b", "a/./b", "a//b", "a/", ".."])
    func invalidKeysAreRejected(_ key: String) async throws {
        let store = try FileArtifactStore(root: try temporaryDirectory("trainyard-artifacts"))
        await #expect(throws: TrainyardError.self) { try await store.put(key, data: Data("x".utf8)) }
        await #expect(throws: TrainyardError.self) { _ = try await store.get(key) }
        await #expect(throws: TrainyardError.self) { try await store.delete(key) }
    }

    @Test func missingObjects() async throws {
        let store = try FileArtifactStore(root: try temporaryDirectory("trainyard-artifacts"))
        do {
            _ = try await store.get("models/none/1/model.bin")
            Issue.record("expected notFound")
        } catch let error as TrainyardError {
            #expect(error.code == .notFound)
        }
        do {
            try await store.download("nope", to: FileManager.default.temporaryDirectory.appendingPathComponent("x-\(UUID())"))
            Issue.record("expected notFound")
        } catch let error as TrainyardError {
            #expect(error.code == .notFound)
        }
        #expect(try await !store.exists("nope"))
    }

    @Test func namespacesAreSeparateFolders() async throws {
        let root = try temporaryDirectory("trainyard-artifacts")
        let dev = try FileArtifactStore(root: root)
        let prod = try FileArtifactStore(root: root, namespace: try Namespace(project: "default", environment: "prod"))
        try await dev.put("k", data: Data("dev".utf8))
        #expect(try await !prod.exists("k"))
        #expect(try await prod.list(prefix: "").isEmpty)
    }
}

import Crypto
enum SHA256Hex {
    static func of(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
}
