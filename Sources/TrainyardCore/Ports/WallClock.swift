import Foundation

/// The time source of stores and workers, injected so tests can move time (lease expiry,
/// backoff) without sleeping.
public protocol WallClock: Sendable {
    func now() -> Date
}

public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock tests move by hand.
public final class ManualClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = start }

    public func now() -> Date { lock.withLock { current } }
    public func advance(by duration: Duration) { lock.withLock { current = current.addingTimeInterval(duration.seconds) } }
}
