import Foundation
import Synchronization

/// A worker's next lease, decided on the candidates kept for it (`CandidatePrefetch`) and
/// written by its completion's statement (`Statements.WriteTransitionLeasingNext`): the
/// proposals as `LeaseFirstUnheld` reads them, the token they carry, and the job leased, if
/// one of them was still free.
final class NextLeasePlan: Sendable {
    let proposals: String
    let token: String
    /// The kinds the worker dequeues (sorted names), for the candidates read after the lease.
    let kinds: [String]
    private let leasedRow = Mutex<StoredJob?>(nil)

    init(proposals: String, token: String, kinds: [String]) {
        self.proposals = proposals
        self.token = token
        self.kinds = kinds
    }

    var leased: StoredJob? {
        get { leasedRow.withLock { $0 } }
        set { leasedRow.withLock { $0 = newValue } }
    }
}
