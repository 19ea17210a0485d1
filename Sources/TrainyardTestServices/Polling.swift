/// Waiting in tests for something another task or process does, without a wall-clock
/// assertion: `condition` is polled until it holds or `timeout` has passed.
///
/// The condition is checked once more after the deadline. A test process starved of CPU (two
/// cores, hundreds of tests in flight) may wake from its sleep only after the deadline, and a
/// condition that came true meanwhile must not be reported as a timeout.
public enum Polling {
    /// Whether `condition` held within `timeout` (or at the check after it).
    public static func until(timeout: Duration, every interval: Duration = .milliseconds(25),
                             _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: interval)
        }
        return try await condition()
    }
}
