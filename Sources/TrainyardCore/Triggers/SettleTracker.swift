import Foundation

/// Decides when a file in a watched folder has finished arriving: it is ready once two looks
/// at least `settle` apart saw the same size and modification time (a file still being written
/// changes between looks and waits; a burst of files settles together and fires in one pass).
/// An object under a watched `s3://` prefix likewise, by its size and ETag (its identity: an
/// object overwritten in quick succession waits until the uploads stop).
/// The first look at a file never makes it ready, whatever `settle` is. Empty files wait: many
/// writers create a file first and fill it afterwards.
///
/// A value with no I/O: the watcher feeds it what each listing saw, with the service's clock.
public struct SettleTracker: Sendable {
    struct Observation: Sendable {
        var bytes: Int64
        var modified: Double
        var etag: String?
        /// When this size and modification time (ETag) were first seen.
        var since: Date

        /// Whether `file` is what was seen: the same size and ETag for an object (its bytes
        /// are the same whenever it was uploaded), else the same size and modification time.
        func isUnchanged(_ file: WatchedFile) -> Bool {
            guard bytes == file.bytes, etag == file.etag else { return false }
            return etag != nil || modified == file.modified
        }
    }

    private var observations: [String: Observation] = [:]

    public init() {}

    /// Records what a look at `now` saw of `file`; true when the file is ready.
    public mutating func observe(_ file: WatchedFile, at now: Date, settle: Double) -> Bool {
        guard let seen = observations[file.path], seen.isUnchanged(file) else {
            observations[file.path] = Observation(bytes: file.bytes, modified: file.modified, etag: file.etag, since: now)
            return false
        }
        return file.bytes > 0 && now.timeIntervalSince(seen.since) >= settle
    }

    /// Forgets every file whose path is not in `present` (gone from the folder).
    public mutating func keepOnly(_ present: Set<String>) {
        observations = observations.filter { present.contains($0.key) }
    }

    /// Forgets every file whose path `isGone` (an object gone from the part of a prefix a look
    /// listed).
    public mutating func forget(where isGone: (String) -> Bool) {
        observations = observations.filter { !isGone($0.key) }
    }

    /// Forgets `path` (fired: nothing more to wait for).
    public mutating func forget(_ path: String) {
        observations[path] = nil
    }

    /// Whether `path` is being tracked.
    public func isTracking(_ path: String) -> Bool { observations[path] != nil }

    /// Files being tracked.
    public var count: Int { observations.count }
}
