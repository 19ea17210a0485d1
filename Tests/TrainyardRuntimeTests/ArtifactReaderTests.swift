import Foundation
import Testing
import TrainyardCore
@testable import TrainyardRuntime

/// A version's artifacts are checked against their manifest digests: corrupt or missing
/// artifacts are reported as such, never handed to a predictor.
@Suite("Artifact reader")
struct ArtifactReaderTests {
    @Test func verifiedReadThenCorruptionAndLossAreReported() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let job = try await h.submit(h.spec(), folder: folder)
        try await h.runUntilIdle()
        let finished = try #require(try await h.store.job(job.id))
        #expect(finished.state == .succeeded)
        let version = try await h.store.resolve(ModelReference(name: finished.model, selector: .version(1)))
        let reader = ArtifactReader(artifacts: h.services.artifacts)
        let name = try #require(version.manifest.artifacts.first { !$0.name.hasPrefix("checkpoint/") }?.name)
        let good = try await reader.read(name, of: version)
        #expect(!good.isEmpty)

        let key = ArtifactKeys.versionFile(version.model, version.version, name)
        try await h.services.artifacts.put(key, data: good + Data("tampered".utf8))
        await #expect(throws: TrainyardError.self) {
            do { _ = try await reader.read(name, of: version) } catch let e as TrainyardError {
                #expect(e.code == .artifactCorrupt)
                #expect(e.message.contains("corrupt"))
                throw e
            }
        }
        try await h.services.artifacts.delete(key)
        do {
            _ = try await reader.read(name, of: version)
            Issue.record("a missing artifact was read")
        } catch let e as TrainyardError {
            #expect(e.code == .artifactCorrupt)
            #expect(e.message.contains("missing"))
        }
        do {
            _ = try await reader.read("no-such-file", of: version)
            Issue.record("an unknown artifact was read")
        } catch let e as TrainyardError {
            #expect(e.code == .notFound)
        }
    }
}
