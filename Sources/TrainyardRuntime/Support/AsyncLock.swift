import Synchronization

/// A mutual-exclusion lock for async code: waiters suspend (never block a thread) and are let
/// in first come, first served.
///
/// The job runner holds it around each "take the buffered log lines, write them" step, so the
/// heartbeat's flushes and the attempt's final writes reach the store in the order the lines
/// were logged, and no heartbeat runs after the attempt's end was recorded.
final class AsyncLock: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func withLock<T>(_ body: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let enterNow = state.withLock { s in
                if s.held { s.waiters.append(waiter); return false }
                s.held = true
                return true
            }
            if enterNow { waiter.resume() }
        }
    }

    private func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.waiters.isEmpty else { s.held = false; return nil }
            return s.waiters.removeFirst() // the lock passes straight to the next waiter
        }
        next?.resume()
    }
}
