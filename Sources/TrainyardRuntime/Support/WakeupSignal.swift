import Foundation

/// Wakes in-process workers the moment a job is enqueued (or a slot frees), so a worker
/// sharing a process with the queue never sleeps on a poll interval.
///
/// A signal that arrives while nobody waits is remembered (one pending wake-up), so a worker
/// that checks the queue, finds it empty and then waits cannot miss an enqueue in between.
///
/// Whether anyone waits is reported to an observer (`observeWaiting`): a store shared by
/// several processes hears about the other processes' changes only while someone here waits
/// (`MetadataStore.changeInterest`), so busy processes are not sent a wake-up per job.
public final class WakeupSignal: Sendable {
    private let state = Mutex(State())

    struct State {
        var pending = false
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        var observer: (@Sendable (Bool) -> Void)?

        /// Tells the observer when the waiters went from none to some or back. Called under
        /// the lock, so the observer sees the changes in the order they happened.
        mutating func update(_ change: (inout [UUID: CheckedContinuation<Void, Never>]) -> Void) {
            let wasWaiting = !waiters.isEmpty
            change(&waiters)
            if wasWaiting != !waiters.isEmpty { observer?(!waiters.isEmpty) }
        }
    }

    public init() {}

    /// Calls `observer` with true when a first waiter starts waiting and with false when the
    /// last one stops, in that order, under the signal's lock: it must be quick and must not
    /// call back into this signal. It is called at once with whether anyone waits now.
    public func observeWaiting(_ observer: @escaping @Sendable (Bool) -> Void) {
        state.withLock { s in
            s.observer = observer
            observer(!s.waiters.isEmpty)
        }
    }

    /// Wakes every waiting worker (or leaves a pending wake-up for the next one).
    public func signal() {
        let toResume = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            if s.waiters.isEmpty { s.pending = true; return [] }
            let all = Array(s.waiters.values)
            s.update { $0.removeAll() }
            return all
        }
        for c in toResume { c.resume() }
    }

    /// Returns when signalled, when `timeout` passes, or when the task is cancelled.
    public func wait(timeout: Duration) async {
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let resumeNow = self.state.withLock { s -> Bool in
                            // Cancelled before registering (the cancellation handler already ran
                            // and found nothing to resume): do not wait for a signal that may never come.
                            if Task.isCancelled { return true }
                            if s.pending { s.pending = false; return true }
                            s.update { $0[id] = c }
                            return false
                        }
                        if resumeNow { c.resume() }
                    }
                } onCancel: {
                    self.resume(id)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
            }
            await group.next()
            group.cancelAll()
            self.resume(id)
        }
    }

    private func resume(_ id: UUID) {
        let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
            var removed: CheckedContinuation<Void, Never>?
            s.update { removed = $0.removeValue(forKey: id) }
            return removed
        }
        c?.resume()
    }
}

import Synchronization
