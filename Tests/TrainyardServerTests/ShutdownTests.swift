import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardCore
@testable import TrainyardServer

@Suite("Graceful shutdown")
struct ShutdownTests {
    /// A follower of a job that never ends must not hold the server open on shutdown.
    @Test(.timeLimit(.minutes(1))) func openEventStreamsEndOnGracefulShutdown() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let job = try await f.services.submitter.submit(Specs.command())
        let app = try TrainyardHTTPServer.makeApplication(services: f.services, options: .init(pollInterval: .milliseconds(20)))
        let started = ContinuousClock.now
        let follower = try await app.test(.live) { client in
            let follower = Task {
                try await client.execute(uri: "/api/v1/jobs/\(job.id)/events", method: .get).text
            }
            try await Task.sleep(for: .milliseconds(300))
            return follower
        }
        // The server has stopped; the stream ended without an `end` event (the job is still queued).
        let text = try? await follower.value
        #expect(ContinuousClock.now - started < .seconds(60))
        if let text { #expect(!text.contains("event: end")) }
    }
}
