import Foundation
import Testing
import TrainyardCore
@testable import TrainyardRuntime

@Suite("Train job handler")
struct TrainJobHandlerTests {
    /// Staged data is checked against its digest as it is downloaded: bytes changed in the
    /// store since staging fail the job at once (not retried), naming the channel.
    @Test func stagedDataChangedInTheStoreFailsTheJob() async throws {
        let h = try await Harness(trainer: AttemptStampingTrainer())
        let job = try await h.submit(h.spec(extra: "retries: 2"), folder: try h.specFolder())
        let reference = try #require(job.spec.data.train)
        let sha = try #require(ArtifactKeys.sha256(ofReference: reference))
        try await h.services.artifacts.put(ArtifactKeys.blob(sha256: sha), data: Data("x,y\n9,9\n".utf8))
        try await h.runUntilIdle()
        let failed = try #require(try await h.store.job(job.id))
        #expect(failed.state == .failed)
        #expect(failed.attempt == 1)
        #expect(failed.failureReason == "staged data for train is corrupt: its sha256 no longer matches")
    }
}
