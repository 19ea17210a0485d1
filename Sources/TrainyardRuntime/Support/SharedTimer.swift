import Synchronization

/// Sleeps that share one timer.
///
/// `Task.sleep` arms a timer of the global executor per call: dispatch's manager thread is
/// woken to arm it, and again to fire it at its deadline even when the sleep was cancelled long
/// before. Every attempt's heartbeat sleeps for a heartbeat interval, so a worker running a
/// thousand short jobs a second armed and fired a thousand timers a second, a tenth of its CPU.
/// Here the sleepers wait in one table and one timer is armed for the earliest of them: a
/// sleeper whose deadline is not the earliest arms nothing, a cancelled one is resumed at once
/// and forgotten, and a timer that fires resumes everyone due and arms the next.
///
/// A sleeper is resumed at its deadline or later (as with `Task.sleep`), never earlier unless
/// its task is cancelled. An action can be scheduled without a task waiting for it (`schedule`):
/// an attempt's heartbeat starts its task only at its first tick, so a job that ends before
/// then costs neither a timer nor a task.
final class SharedTimer: Sendable {
    /// The process's timer (the heartbeats of every worker share it).
    static let shared = SharedTimer()

    private struct Entry {
        let deadline: ContinuousClock.Instant
        let action: @Sendable () -> Void
        /// A task waits on it (`sleep`): only its cancellation may remove it early.
        var sleeper = false
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        /// Sleepers whose task was cancelled before they were registered.
        var cancelledEarly: Set<UInt64> = []
        /// The deadline the armed timer fires at, and the task that waits for it.
        var armed: (at: ContinuousClock.Instant, timer: Task<Void, Never>)?
    }

    private let state = Mutex(State())

    /// Sleepers and scheduled actions waiting now (for tests).
    var waiting: Int { state.withLock { $0.entries.count } }

    /// Returns once `duration` has passed, or at once when the task is (or gets) cancelled.
    func sleep(for duration: Duration) async {
        await sleep(until: .now + duration)
    }

    /// Returns once `deadline` has passed, or at once when the task is (or gets) cancelled.
    func sleep(until deadline: ContinuousClock.Instant) async {
        guard deadline > .now, !Task.isCancelled else { return }
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.cancelledEarly.remove(id) != nil { return true }
                    add(id, Entry(deadline: deadline, action: { continuation.resume() }, sleeper: true), &s)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let entry = state.withLock { s -> Entry? in
                guard let entry = s.entries.removeValue(forKey: id) else {
                    s.cancelledEarly.insert(id)
                    return nil
                }
                return entry
            }
            entry?.action()
        }
        // Cancelled just after the timer resumed it: the handler found no entry and noted the
        // id for a registration that will never come.
        state.withLock { _ = $0.cancelledEarly.remove(id) }
    }

    /// Runs `action` once `deadline` has passed (on the timer's task: it must be quick), unless
    /// `cancel` comes first. Returns the id `cancel` takes.
    func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) -> UInt64 {
        state.withLock { s in
            s.nextID += 1
            add(s.nextID, Entry(deadline: deadline, action: action), &s)
            return s.nextID
        }
    }

    /// Forgets a scheduled action; false when it ran (or runs now) already. A sleeper is
    /// ended by cancelling its task, never here (its continuation would never be resumed).
    @discardableResult
    func cancel(_ id: UInt64) -> Bool {
        state.withLock { s in
            guard let entry = s.entries[id], !entry.sleeper else { return false }
            s.entries[id] = nil
            return true
        }
    }

    /// Registers an entry (under the lock), arming the timer when it is the earliest.
    private func add(_ id: UInt64, _ entry: Entry, _ s: inout State) {
        s.entries[id] = entry
        if s.armed == nil || entry.deadline < s.armed!.at { arm(entry.deadline, &s) }
    }

    /// Arms the timer for `deadline` (under the lock), replacing an armed later one.
    private func arm(_ deadline: ContinuousClock.Instant, _ s: inout State) {
        s.armed?.timer.cancel()
        let timer = Task.detached { [self] in
            do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }  // replaced by an earlier one
            fire(armedAt: deadline)
        }
        s.armed = (deadline, timer)
    }

    /// Runs every entry that is due and arms the timer for the earliest one left.
    private func fire(armedAt deadline: ContinuousClock.Instant) {
        let due = state.withLock { s -> [Entry] in
            // A timer replaced after its sleep ended has nothing to do: its successor is armed.
            guard let armed = s.armed, armed.at == deadline else { return [] }
            s.armed = nil
            let now = ContinuousClock.now
            var dueIDs: [UInt64] = []
            var earliest: ContinuousClock.Instant?
            for (id, entry) in s.entries {
                if entry.deadline <= now {
                    dueIDs.append(id)
                } else if earliest == nil || entry.deadline < earliest! {
                    earliest = entry.deadline
                }
            }
            let due = dueIDs.compactMap { s.entries.removeValue(forKey: $0) }
            if let earliest { arm(earliest, &s) }
            return due
        }
        for entry in due { entry.action() }
    }
}
