import Foundation
import Testing
@testable import TrainyardCore

/// The rules every `MetadataStore` applies, lifted out of the SQLite store so the in-memory
/// store (and a future PostgreSQL one) share them; tested here without I/O.
@Suite("Store rules: queue order, running caps, registry guards, promotion notes")
struct StoreRulesTests {
    let t0 = Date(timeIntervalSince1970: 1_000_000)

    @Test func queueOrderIsPriorityThenDueTimeThenID() {
        let high = QueuePosition(priority: 5, runAfter: t0.addingTimeInterval(50), id: 9)
        let early = QueuePosition(priority: 0, runAfter: t0, id: 8)
        let lateLowID = QueuePosition(priority: 0, runAfter: t0.addingTimeInterval(1), id: 1)
        let earlyHighID = QueuePosition(priority: 0, runAfter: t0, id: 10)
        #expect([lateLowID, earlyHighID, early, high].sorted() == [high, early, earlyHighID, lateLowID])
        #expect(!(early < early))
    }

    @Test func runningCapAdmitsBelowTheCapOnly() {
        #expect(RunningCap.admits(running: 100, cap: nil))
        #expect(RunningCap.admits(running: 1, cap: 2))
        #expect(!RunningCap.admits(running: 2, cap: 2))
        #expect(!RunningCap.admits(running: 0, cap: 0))
    }

    @Test func aliasedVersionsCannotBeArchivedOrDeleted() throws {
        let iris = try ModelName("iris")
        try RegistryRules.refuseIfAliased(iris, version: 3, aliases: [], change: .delete)
        do {
            try RegistryRules.refuseIfAliased(iris, version: 3, aliases: ["staging", "production"], change: .archive)
            Issue.record("expected a conflict")
        } catch {
            #expect(error.code == .conflict)
            #expect(error.message == "cannot archive iris:3: alias production, staging points at it; move or delete the alias first")
        }
        try RegistryRules.checkAliasable(iris, version: 3, status: .ready)
        #expect(throws: TrainyardError.self) { try RegistryRules.checkAliasable(iris, version: 3, status: .archived) }
    }

    @Test func defaultResolutionPrefersTheDefaultAliasAndAsksForTheLatestOnlyWithoutIt() {
        var asked = false
        #expect(RegistryRules.defaultVersion(defaultAliasTarget: 2, latestReady: { asked = true; return 5 }) == 2)
        #expect(!asked)
        #expect(RegistryRules.defaultVersion(defaultAliasTarget: nil, latestReady: { 5 }) == 5)
        #expect(RegistryRules.defaultVersion(defaultAliasTarget: nil, latestReady: { nil }) == nil)
    }

    @Test func promotionNotesAndAuditReason() {
        let policy = PromotionPolicy(Promotion(alias: .production, metric: "rmse"))
        let better = policy.decide(newMetrics: ["rmse": 1], incumbent: .init(version: 2, storedMetrics: ["rmse": 2]), sameDataScore: nil)
        #expect(policy.note(better) == "promoted to production: rmse 1 is better than production (v2) 2 (each on its own validation data)")
        #expect(policy.auditReason(better) == "promoted: rmse 1 is better than production (v2) 2 (each on its own validation data)")
        let worse = policy.decide(newMetrics: ["rmse": 3], incumbent: .init(version: 2, storedMetrics: ["rmse": 2]), sameDataScore: nil)
        #expect(policy.note(worse) == "not promoted: rmse 3 is not better than production (v2) 2 (each on its own validation data)")
        #expect(PromotionPolicy.actor(jobID: 42) == "job:42")
    }

    @Test func listingLimitIsClamped() {
        #expect(JobFilter(limit: 0).effectiveLimit == 1)
        #expect(JobFilter(limit: 50).effectiveLimit == 50)
        #expect(JobFilter(limit: 5000).effectiveLimit == JobFilter.maxLimit)
    }

    @Test func leaseFenceNamesTheAttempt() {
        let record = JobRecord(state: .running, attempt: 2, maxAttempts: 3, runAfter: t0, leaseToken: "tok", leaseExpiresAt: t0.addingTimeInterval(30))
        #expect(throws: Never.self) { try record.checkHeld(LeaseToken(jobID: 7, token: "tok", attempt: 2), at: t0.addingTimeInterval(30)) }
        do {
            try record.checkHeld(LeaseToken(jobID: 7, token: "tok", attempt: 2), at: t0.addingTimeInterval(31))
            Issue.record("expected leaseLost")
        } catch {
            #expect(error.code == .leaseLost)
            #expect(error.message == "job 7: lease of attempt 2 is no longer held (state running)")
        }
        #expect(throws: TrainyardError.self) { try record.checkHeld(LeaseToken(jobID: 7, token: "other", attempt: 2), at: t0) }
    }
}
