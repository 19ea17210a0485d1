import Synchronization

/// How many due jobs a dequeue or a worker's completion reads as candidates for the next lease:
/// enough that one is still free when the lease is written, and no more, since every candidate
/// is sent back as a proposal (`LeaseProposal`), parsed and joined by the statement that leases.
///
/// Between a worker's read and its lease, the other workers of the namespace take jobs from
/// the same head of the queue, so the candidates needed grow with the workers competing. The
/// depth follows what the leases show: a lease that had to pass over `n` taken candidates asks
/// for at least `2 (n + 1)` next time, one that found every candidate taken doubles the depth at
/// once, and once per `window` leases the depth comes back down to what that window needed.
final class CandidateDepth: Sendable {
    let minimum: Int
    let maximum: Int
    /// Leases between two decreases.
    let window: Int

    private struct State {
        var depth: Int
        /// The most candidates passed over by one lease in the current window.
        var passedOverMost = 0
        var leases = 0
    }
    private let state: Mutex<State>

    init(minimum: Int = 4, maximum: Int = 64, window: Int = 64) {
        precondition(0 < minimum && minimum <= maximum && window > 0)
        self.minimum = minimum
        self.maximum = maximum
        self.window = window
        state = Mutex(State(depth: minimum))
    }

    /// The candidates to read now.
    var current: Int { state.withLock { $0.depth } }

    /// A lease chose the candidate after `passedOver` others that were taken or had changed.
    func leased(passedOver: Int) {
        state.withLock { s in
            let needed = min(maximum, max(minimum, 2 * (max(0, passedOver) + 1)))
            s.depth = max(s.depth, needed)
            s.passedOverMost = max(s.passedOverMost, passedOver)
            s.leases += 1
            if s.leases >= window {
                s.depth = min(maximum, max(minimum, 2 * (s.passedOverMost + 1)))
                s.leases = 0
                s.passedOverMost = 0
            }
        }
    }

    /// Every candidate read was taken by the time the lease was written.
    func exhausted() {
        state.withLock { s in
            s.depth = min(maximum, s.depth * 2)
            s.leases = 0
            s.passedOverMost = 0
        }
    }
}
