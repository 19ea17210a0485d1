import Foundation
import Synchronization
import TrainyardCore

/// A worker's next lease, decided on the candidates kept for it (`CandidatePrefetch`) and
/// written by its completion's statement (`Statements.WriteTransitionLeasingNext`): the
/// proposals as `LeaseFirstUnheld` reads them, the token they carry, and what the statement
/// leased, if one of them was still free.
final class NextLeasePlan: Sendable {
    let proposals: String
    let token: String
    /// The jobs proposed (the one leased, if any, is among them).
    let candidateIDs: [JobID]
    /// The kinds the worker dequeues (sorted names), for the candidates read after the lease.
    let kinds: [String]

    private struct Outcome {
        var leasedByStatement = false
        var leased: StoredJob?
    }
    private let outcome = Mutex(Outcome())

    init(proposals: String, token: String, candidateIDs: [JobID], kinds: [String]) {
        self.proposals = proposals
        self.token = token
        self.candidateIDs = candidateIDs
        self.kinds = kinds
    }

    /// The statement leased a job (whether or not its row could be read back).
    var leasedByStatement: Bool { outcome.withLock { $0.leasedByStatement } }
    /// The job leased, as read back.
    var leased: StoredJob? { outcome.withLock { $0.leased } }

    func statementLeased(_ row: StoredJob?) {
        outcome.withLock { $0 = Outcome(leasedByStatement: true, leased: row) }
    }
}
