import Foundation
import PostgresNIO
import Synchronization
import TrainyardCore

/// A worker's next candidates, read by its completion in the completion's own statement
/// (`Statements.WriteTransitionReadingCandidates`), or left by its dequeue. Its next completion
/// leases from them in its own statement (`NextLeasePlan`), so a busy worker goes from one job
/// to the next in one round trip; a dequeue uses what a completion read (two round trips:
/// complete + read, lease), never what a dequeue left (a second dequeue has no round trip to
/// save, and reads the queue as it is).
///
/// Candidates are only a proposal: the lease is a compare-and-set on each candidate's row
/// version, so one taken meanwhile by another worker is passed over and, when all were, the
/// dequeue reads again. Kept candidates are used once, by the same worker, for the same kinds,
/// and only while fresh; a read that found no due job drops what was kept (the dequeue reads
/// again, so a job enqueued just after the completion is not missed), and this process's own enqueues
/// and cap changes drop what is kept, so its dequeues see them as before.
final class CandidatePrefetch: Sendable {
    private struct Kept {
        var kinds: [String]
        var rows: [PostgresRow]
        var at: Date
        /// What a dequeue left of its read: the worker's next completion may lease from it, but
        /// a second dequeue reads afresh (it has no completion's round trip to save).
        var forCompletionOnly: Bool
    }

    private struct State {
        /// The kinds each worker of this process last dequeued (sorted names).
        var kinds: [String: [String]] = [:]
        var kept: [String: Kept] = [:]
    }

    private let state = Mutex(State())
    /// The store's clock, whose times its statements use too.
    private let clock: any WallClock
    /// Older candidates are read again.
    static let freshness: TimeInterval = 1

    init(clock: any WallClock) {
        self.clock = clock
    }
    /// Workers remembered at most (a process runs a few; the map starts again when full).
    static let capacity = 1024

    /// Remembers the kinds `worker` dequeues, for its next completion's read.
    func dequeuing(_ kinds: [String], worker: String) {
        state.withLock { s in
            guard s.kinds[worker] != kinds else { return }
            if s.kinds.count >= Self.capacity { s.kinds.removeAll() }
            s.kinds[worker] = kinds
        }
    }

    /// The kinds `worker` last dequeued, if it did.
    func kinds(of worker: String) -> [String]? {
        state.withLock { $0.kinds[worker] }
    }

    /// Keeps a read for `worker`'s next dequeue or leasing completion, if it found a due job
    /// (the job columns of its first row are not NULL); otherwise drops what was kept.
    func keep(_ rows: [PostgresRow], kinds: [String], for worker: String, forCompletionOnly: Bool = false) {
        guard let first = rows.first, PostgresRows.candidateID(first) != nil else {
            state.withLock { _ = $0.kept.removeValue(forKey: worker) }
            return
        }
        state.withLock { s in
            if s.kept.count >= Self.capacity { s.kept.removeAll() }
            s.kept[worker] = Kept(kinds: kinds, rows: rows, at: clock.now(), forCompletionOnly: forCompletionOnly)
        }
    }

    /// How many candidate rows are kept for `worker` (for tests).
    func keptCount(for worker: String) -> Int {
        state.withLock { $0.kept[worker]?.rows.count ?? 0 }
    }

    /// Drops every kept read: this process enqueued or changed a running cap, and a dequeue it
    /// makes afterwards must see that (another process's change has no such order with it).
    func forgetAll() {
        state.withLock { $0.kept.removeAll() }
    }

    /// The candidates kept for `worker`, once, if read for these kinds within `freshness` (and,
    /// for a dequeue, not left by a dequeue).
    func take(for worker: String, kinds: [String], byDequeue: Bool) -> [PostgresRow]? {
        let now = clock.now()
        return state.withLock { s in
            // A clock set back makes them stale too.
            guard let kept = s.kept.removeValue(forKey: worker), kept.kinds == kinds, (0..<Self.freshness).contains(now.timeIntervalSince(kept.at)),
                  !(byDequeue && kept.forCompletionOnly) else { return nil }
            return kept.rows
        }
    }
}
