import Foundation
import Testing
import TrainyardCore
import TrainyardStorage
@testable import TrainyardRuntime

/// A staged code tree is rebuilt exactly, and a blob whose bytes do not match the digest it is
/// stored under is refused (checked with the digest the download computed).
@Suite("Code materialization")
struct CodeMaterializationTests {
    func scratch(_ label: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A spec folder with an executable script and a nested module, staged into `store`.
    func stagedTree(in store: any ArtifactStore) async throws -> (tree: DataDigest, folder: URL) {
        let folder = try scratch("trainyard-code")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("lib"), withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho train\n".utf8).write(to: folder.appendingPathComponent("train.sh"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.appendingPathComponent("train.sh").path)
        try Data("def helper(): return 42\n".utf8).write(to: folder.appendingPathComponent("lib/util.py"))
        return (try await Stager(artifacts: store).stageCode(folder), folder)
    }

    @Test func aStagedTreeIsRebuiltExactly() async throws {
        let store = InMemoryArtifactStore()
        let (tree, source) = try await stagedTree(in: store)
        let target = try scratch("trainyard-materialized")
        try await Stager.materializeCode(sha256: tree.sha256, artifacts: store, into: target)
        for path in ["train.sh", "lib/util.py"] {
            #expect(try Data(contentsOf: target.appendingPathComponent(path)) == Data(contentsOf: source.appendingPathComponent(path)))
        }
        #expect(FileManager.default.isExecutableFile(atPath: target.appendingPathComponent("train.sh").path))
    }

    @Test func aCorruptCodeFileIsRefusedNamingIt() async throws {
        let store = InMemoryArtifactStore()
        let (tree, _) = try await stagedTree(in: store)
        let entries = try JSON.decode([Stager.TreeEntry].self, from: try await store.get(ArtifactKeys.blob(sha256: tree.sha256)))
        let util = try #require(entries.first { $0.path == "lib/util.py" })
        try await store.put(ArtifactKeys.blob(sha256: util.sha256), data: Data("import os; os.system('evil')\n".utf8))

        do {
            try await Stager.materializeCode(sha256: tree.sha256, artifacts: store, into: try scratch("trainyard-materialized"))
            Issue.record("a corrupt code file was materialized")
        } catch let error as TrainyardError {
            #expect(error.code == .artifactCorrupt)
            #expect(error.message.contains("lib/util.py"))
        }
    }

    @Test func aCorruptTreeIsRefused() async throws {
        let store = InMemoryArtifactStore()
        let (tree, _) = try await stagedTree(in: store)
        try await store.put(ArtifactKeys.blob(sha256: tree.sha256), data: try JSON.encode([Stager.TreeEntry]()))

        do {
            try await Stager.materializeCode(sha256: tree.sha256, artifacts: store, into: try scratch("trainyard-materialized"))
            Issue.record("a corrupt code tree was used")
        } catch let error as TrainyardError {
            #expect(error.code == .artifactCorrupt)
            #expect(error.message.contains(tree.sha256))
        }
    }
}
