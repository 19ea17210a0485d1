import Foundation

/// Where an eligible queued job stands in line: the order `dequeue` hands jobs out in, declared
/// once for every store (a SQL store may also encode it in an index; it must agree with this).
///
/// Higher priority first; among equal priorities the one due earliest (`runAfter`); then the
/// lowest id, so jobs submitted together run in submission order.
public struct QueuePosition: Comparable, Sendable {
    public var priority: Int
    public var runAfter: Date
    public var id: JobID

    public init(priority: Int, runAfter: Date, id: JobID) {
        self.priority = priority
        self.runAfter = runAfter
        self.id = id
    }

    /// `a < b`: `a` is leased before `b`.
    public static func < (a: QueuePosition, b: QueuePosition) -> Bool {
        if a.priority != b.priority { return a.priority > b.priority }
        if a.runAfter != b.runAfter { return a.runAfter < b.runAfter }
        return a.id < b.id
    }
}

extension Job {
    public var queuePosition: QueuePosition { QueuePosition(priority: priority, runAfter: runAfter, id: id) }
}

/// The per-kind cap on concurrently running jobs (`MetadataStore.setRunningCap`).
public enum RunningCap {
    /// Whether one more job of a kind may start with `running` already running; no cap admits
    /// any number, a cap of 0 admits none.
    public static func admits(running: Int, cap: Int?) -> Bool {
        guard let cap else { return true }
        return running < cap
    }
}
