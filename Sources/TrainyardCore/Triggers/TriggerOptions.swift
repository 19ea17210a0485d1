import Configuration
import Foundation

/// Tunables of the trigger service, all defaulted: the `triggers` section of
/// `TrainyardConfiguration` (environment `TRAINYARD_TRIGGERS_*`).
public struct TriggerOptions: Sendable, Equatable {
    /// How often every trigger is looked at (`triggers.poll_ms`).
    public var pollInterval: Duration
    /// Most files of one watched folder examined per look (`triggers.max_files`); a larger
    /// backlog is worked through in name order, this many per look.
    public var maxFilesPerLook: Int
    /// The longest delay before a failed firing is tried again (`triggers.retry_max_s`); the
    /// delay doubles from 5 s up to it.
    public var retryMax: Duration
    /// Most keys listed from one watched `s3://` prefix per look (`triggers.max_keys_per_pass`):
    /// a larger prefix is listed a slice per look, each continuing after the persisted listing
    /// cursor where the last look (in any process) stopped, and starting again at the
    /// beginning once the end is reached.
    public var maxKeysPerPass: Int

    public init(pollInterval: Duration = .seconds(1), maxFilesPerLook: Int = 10_000, retryMax: Duration = .seconds(300),
                maxKeysPerPass: Int = 1_000) {
        self.pollInterval = pollInterval
        self.maxFilesPerLook = maxFilesPerLook
        self.retryMax = retryMax
        self.maxKeysPerPass = maxKeysPerPass
    }

    /// `triggers.poll_ms` (50–3 600 000), `triggers.max_files` (≥ 1), `triggers.retry_max_s`
    /// (5–86 400), `triggers.max_keys_per_pass` (1–1 000 000). A value out of range is an error
    /// naming its key.
    static func load(_ config: ConfigReader) throws(TrainyardError) -> TriggerOptions {
        var o = TriggerOptions()
        func int(_ key: String, in range: ClosedRange<Int>) throws(TrainyardError) -> Int? {
            guard let value = config.int(forKey: ConfigKey(["triggers", key])) else { return nil }
            guard range.contains(value) else {
                throw TrainyardError(.invalidArgument, "triggers.\(key) must be in \(range.lowerBound)–\(range.upperBound); got \(value)")
            }
            return value
        }
        if let v = try int("poll_ms", in: 50...3_600_000) { o.pollInterval = .milliseconds(v) }
        if let v = try int("max_files", in: 1...10_000_000) { o.maxFilesPerLook = v }
        if let v = try int("retry_max_s", in: 5...86_400) { o.retryMax = .seconds(v) }
        if let v = try int("max_keys_per_pass", in: 1...1_000_000) { o.maxKeysPerPass = v }
        return o
    }
}
