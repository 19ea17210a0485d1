import Foundation

/// Decides when a file in a watched folder has finished arriving: it is ready once two looks
/// at least `settle` apart saw the same size and modification time (a file still being written
/// changes between looks and waits; a burst of files settles together and fires in one pass).
/// The first look at a file never makes it ready, whatever `settle` is. Empty files wait: many
/// writers create a file first and fill it afterwards.
///
/// A value with no I/O: the watcher feeds it what each listing saw, with the service's clock.
public struct SettleTracker: Sendable {
    struct Observation: Sendable {
        var bytes: Int64
        var modified: Double
        /// When this size and modification time were first seen.
        var since: Date
    }

    private var observations: [String: Observation] = [:]

    public init() {}

    /// Records what a look at `now` saw of `file`; true when the file is ready.
    public mutating func observe(_ file: WatchedFile, at now: Date, settle: Double) -> Bool {
        guard let seen = observations[file.path], seen.bytes == file.bytes, seen.modified == file.modified else {
            observations[file.path] = Observation(bytes: file.bytes, modified: file.modified, since: now)
            return false
        }
        return file.bytes > 0 && now.timeIntervalSince(seen.since) >= settle
    }

    /// Forgets every file whose path is not in `present` (gone from the folder).
    public mutating func keepOnly(_ present: Set<String>) {
        observations = observations.filter { present.contains($0.key) }
    }

    /// Files being tracked.
    public var count: Int { observations.count }
}
