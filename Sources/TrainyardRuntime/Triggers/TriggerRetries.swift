import Foundation
import TrainyardCore

/// When a trigger may try again after failing to fire something (a bad template, a deleted
/// model, a folder that went away): the delay doubles from `base` up to `max` per failure of
/// the same thing, so a failure that lasts costs one attempt per `max`, never a busy loop.
/// Kept per thing (a file, a slot, a folder), in memory: a restarted process tries at once.
struct TriggerRetries {
    struct Entry {
        var failures: Int
        var notBefore: Date
    }

    let base: Duration
    let max: Duration
    private var entries: [String: Entry] = [:]

    init(base: Duration, max: Duration) {
        self.base = base
        self.max = max
    }

    func isDue(_ key: String, now: Date) -> Bool {
        guard let entry = entries[key] else { return true }
        return now >= entry.notBefore
    }

    /// Records a failure at `now`; returns when the next attempt is due.
    @discardableResult
    mutating func failed(_ key: String, now: Date) -> Date {
        let failures = (entries[key]?.failures ?? 0) + 1
        let delay = Swift.min(base.seconds * pow(2, Double(Swift.min(failures - 1, 30))), max.seconds)
        let entry = Entry(failures: failures, notBefore: now.addingTimeInterval(delay))
        entries[key] = entry
        return entry.notBefore
    }

    mutating func succeeded(_ key: String) { entries[key] = nil }

    /// Forgets every entry whose key does not satisfy `keep`.
    mutating func keepOnly(_ keep: (String) -> Bool) { entries = entries.filter { keep($0.key) } }
}
