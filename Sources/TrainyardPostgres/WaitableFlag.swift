import Synchronization

/// A Boolean a task can wait to see true. `ChangeListener` keeps three: whether anyone in the
/// process waits for a change, whether its connection has closed, whether a `LISTEN` was
/// answered. One task waits at a time (the listener's loop); its wait ends at once when that
/// task is cancelled.
final class WaitableFlag: Sendable {
    private struct State {
        var value = false
        var changedAt = ContinuousClock.now
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// The value, and when it last changed.
    var current: (value: Bool, changedAt: ContinuousClock.Instant) {
        state.withLock { ($0.value, $0.changedAt) }
    }

    /// Sets the value (a change is timed); setting it true ends the wait in progress. Quick and
    /// non-blocking, so it may be called under another lock.
    func set(_ value: Bool) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.value != value else { return nil }
            s.value = value
            s.changedAt = .now
            return value ? s.waiter.take() : nil
        }
        waiter?.resume()
    }

    /// Returns once the value is true (true), or once the task is cancelled (false).
    func waitUntilTrue() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Cancellation is checked under the lock the handler takes: cancelled before
                // the continuation is stored, the handler found nothing to resume.
                let now = state.withLock { s -> Bool in
                    if s.value || Task.isCancelled { return true }
                    s.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            return !Task.isCancelled
        } onCancel: {
            state.withLock { $0.waiter.take() }?.resume()
        }
    }
}
