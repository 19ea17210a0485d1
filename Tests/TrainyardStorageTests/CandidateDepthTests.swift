import Testing
@testable import TrainyardPostgres

/// How many candidates the PostgreSQL store reads for the next lease follows the competition
/// its last leases met (no database needed).
@Suite("Candidate depth")
struct CandidateDepthTests {
    @Test func startsAtTheMinimumAndStaysThereWhileTheFirstOrSecondCandidateIsFree() {
        let depth = CandidateDepth(minimum: 4, maximum: 64, window: 8)
        #expect(depth.current == 4)
        for i in 0..<100 { depth.leased(passedOver: i % 2) }
        #expect(depth.current == 4)
    }

    @Test func followsWhatThreeInFourLeasesPassedOver() {
        let depth = CandidateDepth(minimum: 4, maximum: 64, window: 8)
        // One lease in eight passing over many is an outlier (candidates that aged).
        depth.leased(passedOver: 50)
        for _ in 0..<7 { depth.leased(passedOver: 1) }
        #expect(depth.current == 4)
        // Two in eight passing over five: the quantile is five.
        depth.leased(passedOver: 5)
        depth.leased(passedOver: 5)
        #expect(depth.current == 12)
        // Once those leave the window, back down.
        for _ in 0..<8 { depth.leased(passedOver: 0) }
        #expect(depth.current == 4)
    }

    @Test func leasesThatOftenFindEveryCandidateTakenDoubleItUpToTheMaximum() {
        let depth = CandidateDepth(minimum: 4, maximum: 40, window: 4)
        depth.exhausted(candidates: 4)
        depth.exhausted(candidates: 4)
        #expect(depth.current == 10)
        depth.exhausted(candidates: 10)
        depth.exhausted(candidates: 10)
        #expect(depth.current == 22)
        for _ in 0..<2 { depth.exhausted(candidates: 22) }
        #expect(depth.current == 40)
    }
}
