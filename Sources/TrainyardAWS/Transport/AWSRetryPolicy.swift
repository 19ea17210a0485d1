/// When a failed request is sent again, and after how long: at most ``maximumAttempts`` sends,
/// waiting a random time between zero and `min(maximumDelay, baseDelay × 2^(attempt-1))`
/// before each retry ("full jitter", which spreads many clients throttled at once better than
/// a fixed or equal-jitter backoff).
///
/// Retried: connection errors and timeouts, HTTP 500/502/503/504, 429, and the AWS codes that
/// mean "slow down" or "try again" (``retryableCodes``) whatever their status. Everything
/// else (a 4xx that sending again cannot fix) fails at once.
public struct AWSRetryPolicy: Sendable, Equatable {
    /// Total sends, the first included; 1 means no retry.
    public var maximumAttempts: Int
    public var baseDelay: Duration
    public var maximumDelay: Duration

    public init(maximumAttempts: Int = 5, baseDelay: Duration = .milliseconds(100), maximumDelay: Duration = .seconds(20)) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.baseDelay = max(.zero, baseDelay)
        self.maximumDelay = max(self.baseDelay, maximumDelay)
    }

    public static let `default` = AWSRetryPolicy()
    /// Sends once: for callers that retry on their own terms.
    public static let never = AWSRetryPolicy(maximumAttempts: 1)

    /// AWS error codes that a later identical request may not get: throttling, transient
    /// service failures, and a request the clock or the credentials made stale (it is signed
    /// again, with fresh credentials, before it is resent).
    public static let retryableCodes: Set<String> = [
        "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
        "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "ProvisionedThroughputExceededException", "TransactionInProgressException", "PriorRequestNotComplete",
        "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "ServiceUnavailable",
        "EC2ThrottledException", "IDPCommunicationError", "OperationAborted",
        "RequestTimeTooSkewed", "RequestExpired", "ExpiredToken", "ExpiredTokenException",
        "AWS.SimpleQueueService.RequestThrottled",
    ]

    /// Statuses retried whatever the body says.
    public static let retryableStatuses: Set<Int> = [429, 500, 502, 503, 504]

    /// Whether an answer with `status` and `code` is worth sending again.
    public static func isRetryable(status: Int, code: String?) -> Bool {
        retryableStatuses.contains(status) || code.map(retryableCodes.contains) == true
    }

    /// The wait before send number `attempt + 1` (`attempt` ≥ 1 sends have failed):
    /// uniformly random in `0 … min(maximumDelay, baseDelay × 2^(attempt-1))`.
    public func delay(afterAttempt attempt: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(maximumDelay, baseDelay * (1 << exponent))
        return ceiling * min(max(random, 0), 1)
    }
}
