import Foundation

/// What happens to a job whose attempt failed: the pure decision, tested without I/O; the
/// stores apply it inside their transactions.
public struct RetryPolicy: Sendable, Equatable {
    /// Delay before the first retry; doubles each attempt.
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// Fraction of the delay randomised (full jitter on that part), so retries of jobs that
    /// failed together do not stampede together.
    public var jitter: Double

    public init(baseDelay: Duration = .seconds(2), maxDelay: Duration = .seconds(300), jitter: Double = 0.5) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    public enum Decision: Sendable, Equatable {
        case retry(after: Duration)
        case fail
    }

    /// - Parameters:
    ///   - attempt: the attempt that just failed, 1-based.
    ///   - maxAttempts: 1 + retries.
    ///   - retryable: false for failures a retry cannot fix (bad data, bad parameters).
    ///   - unitRandom: a value in [0, 1) for the jitter.
    public func decide(attempt: Int, maxAttempts: Int, retryable: Bool, unitRandom: Double) -> Decision {
        guard retryable, attempt < maxAttempts else { return .fail }
        let exponent = min(attempt - 1, 30)
        let raw = min(baseDelay.seconds * pow(2, Double(exponent)), maxDelay.seconds)
        let delay = raw * (1 - jitter) + raw * jitter * unitRandom
        return .retry(after: .milliseconds(Int64(delay * 1000)))
    }
}
