import Foundation

/// Wakes in-process workers the moment a job is enqueued (or a slot frees), so a worker
/// sharing a process with the queue never sleeps on a poll interval.
///
/// A signal that arrives while nobody waits is remembered (one pending wake-up), so a worker
/// that checks the queue, finds it empty and then waits cannot miss an enqueue in between.
public final class WakeupSignal: Sendable {
    private let state = Mutex(State())

    struct State {
        var pending = false
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }

    public init() {}

    /// Wakes every waiting worker (or leaves a pending wake-up for the next one).
    public func signal() {
        let toResume = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            if s.waiters.isEmpty { s.pending = true; return [] }
            let all = Array(s.waiters.values)
            s.waiters.removeAll()
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
                            s.waiters[id] = c
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
        let c = state.withLock { $0.waiters.removeValue(forKey: id) }
        c?.resume()
    }
}

import Synchronization
