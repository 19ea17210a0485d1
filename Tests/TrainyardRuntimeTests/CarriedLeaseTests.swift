import Foundation
import Testing
import TrainyardCore
@testable import TrainyardRuntime

/// A lease a completion handed to its worker is checked before its job runs: the end of the
/// last attempt may have taken a while after the lease was written.
@Suite("Carried lease")
struct CarriedLeaseTests {
    @Test func aCarriedLeaseIsExtendedWhenHalfSpentAndDroppedWhenLost() async throws {
        let clock = ManualClock()
        let h = try await Harness(leaseDuration: .seconds(10), clock: clock, inMemory: true)
        let pool = h.pool(exitWhenIdle: nil)
        _ = try await h.store.enqueue(EnqueueRequest(spec: Spec(name: try ModelName("noop"), task: .command, command: ["true"])))
        let lease = try #require(try await h.store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(10)))

        // Most of the lease left: run as is.
        clock.advance(by: .seconds(2))
        #expect(try await pool.stillHeld(lease)?.expiresAt == lease.expiresAt)
        // Less than half left: extended from now.
        clock.advance(by: .seconds(4))
        let extended = try #require(try await pool.stillHeld(lease))
        #expect(extended.expiresAt == clock.now().addingTimeInterval(10))
        #expect(try await h.store.job(lease.job.id)?.leaseExpiresAt == extended.expiresAt)
        // Expired: not run (the worker dequeues instead, which reclaims it).
        clock.advance(by: .seconds(11))
        #expect(try await pool.stillHeld(extended) == nil)
    }
}
