import Synchronization

/// An attempt's heartbeat task, started only at its first tick (by `SharedTimer`): most no-op
/// or tiny jobs end before the first heartbeat is due, and a task started at once for each of
/// them cost the worker a thread wake-up and a timer per job. Stopping it before the first tick
/// just forgets the tick; after, it cancels the task and waits for it, as a task of its own was
/// cancelled and awaited before.
final class DeferredHeartbeat: Sendable {
    private enum Phase {
        case waiting(tick: UInt64)
        case running(Task<Void, Never>)
        case stopped
    }

    private let phase = Mutex<Phase>(.stopped)
    private let body: @Sendable () async -> Void
    /// The attempt's priority: the task is created on the timer's, not the attempt's.
    private let priority: TaskPriority?

    /// Runs `body` in a task of its own from `firstTick` on, unless stopped before.
    init(firstTick: ContinuousClock.Instant, _ body: @escaping @Sendable () async -> Void) {
        self.body = body
        priority = Task.currentPriority
        // Scheduled under the phase's lock: a tick due at once waits for `.waiting` to be set.
        phase.withLock { p in
            p = .waiting(tick: SharedTimer.shared.schedule(at: firstTick) { [self] in start() })
        }
    }

    private func start() {
        phase.withLock { p in
            // Stopped meanwhile: the attempt ended as the tick came.
            guard case .waiting = p else { return }
            p = .running(Task(priority: priority) { [body] in await body() })
        }
    }

    /// Stops the heartbeat: forgets its first tick, or cancels its task and waits for its end.
    func stop() async {
        let task = phase.withLock { p -> Task<Void, Never>? in
            defer { p = .stopped }
            switch p {
            case .waiting(let tick):
                SharedTimer.shared.cancel(tick)
                return nil
            case .running(let task):
                return task
            case .stopped:
                return nil
            }
        }
        task?.cancel()
        await task?.value
    }
}
