import Synchronization

/// How many due jobs a dequeue or a worker's completion reads as candidates for the next lease:
/// enough that one is still free when the lease is written, and no more, since every candidate
/// is sent back as a proposal (`LeaseProposal`), parsed and joined by the statement that leases.
///
/// Between a worker's read and its lease, the other workers of the namespace take jobs from
/// the same head of the queue, so the candidates needed grow with the workers competing. The
/// depth follows what the last `window` leases met: twice one more than the candidates passed
/// over (taken or changed) by three in four of them, within `minimum...maximum`. A lease that
/// found every candidate taken counts as passing over all of them. The quantile, not the most:
/// a worker whose candidates aged (a long job, a pause) finds them all taken however many it
/// read, and following those few doubled the depth for everyone, up to the maximum.
final class CandidateDepth: Sendable {
    let minimum: Int
    let maximum: Int

    private struct State {
        var depth: Int
        /// The candidates passed over by the last leases, oldest overwritten first.
        var passedOver: [Int]
        var next = 0
    }
    private let state: Mutex<State>

    init(minimum: Int = 4, maximum: Int = 64, window: Int = 32) {
        precondition(0 < minimum && minimum <= maximum && window > 0)
        self.minimum = minimum
        self.maximum = maximum
        state = Mutex(State(depth: minimum, passedOver: Array(repeating: 0, count: window)))
    }

    /// The candidates to read now.
    var current: Int { state.withLock { $0.depth } }

    /// A lease chose the candidate after `passedOver` others that were taken or had changed.
    func leased(passedOver: Int) {
        record(max(0, passedOver))
    }

    /// Every one of the `candidates` proposed was taken by the time the lease was written.
    func exhausted(candidates: Int) {
        record(max(0, candidates))
    }

    private func record(_ passed: Int) {
        state.withLock { s in
            s.passedOver[s.next] = passed
            s.next = (s.next + 1) % s.passedOver.count
            let quantile = s.passedOver.sorted()[s.passedOver.count * 3 / 4]
            s.depth = min(maximum, max(minimum, 2 * (quantile + 1)))
        }
    }
}
