import Testing
@testable import TrainyardPostgres

/// How many candidates the PostgreSQL store reads for the next lease follows the competition
/// its leases meet (no database needed).
@Suite("Candidate depth")
struct CandidateDepthTests {
    @Test func startsAtTheMinimumAndStaysThereWhileTheFirstCandidateIsFree() {
        let depth = CandidateDepth(minimum: 4, maximum: 64, window: 8)
        #expect(depth.current == 4)
        for _ in 0..<100 { depth.leased(passedOver: 0) }
        #expect(depth.current == 4)
        depth.leased(passedOver: 1)
        #expect(depth.current == 4)
    }

    @Test func growsAtOnceWithTheCandidatesALeasePassedOver() {
        let depth = CandidateDepth(minimum: 4, maximum: 64, window: 8)
        depth.leased(passedOver: 5)
        #expect(depth.current == 12)
        // A smaller need does not shrink it before the window ends.
        depth.leased(passedOver: 0)
        #expect(depth.current == 12)
        depth.leased(passedOver: 100)
        #expect(depth.current == 64)
    }

    @Test func doublesWhenEveryCandidateWasTakenUpToTheMaximum() {
        let depth = CandidateDepth(minimum: 4, maximum: 20, window: 8)
        depth.exhausted()
        #expect(depth.current == 8)
        depth.exhausted()
        depth.exhausted()
        #expect(depth.current == 20)
    }

    @Test func comesBackDownToWhatAWindowOfLeasesNeeded() {
        let depth = CandidateDepth(minimum: 4, maximum: 64, window: 8)
        depth.exhausted()
        depth.exhausted()
        depth.exhausted()
        #expect(depth.current == 32)
        // A window in which no lease passed over more than two candidates: 2 × (2 + 1).
        for i in 0..<8 { depth.leased(passedOver: i == 3 ? 2 : 0) }
        #expect(depth.current == 6)
        for _ in 0..<8 { depth.leased(passedOver: 0) }
        #expect(depth.current == 4)
    }
}
