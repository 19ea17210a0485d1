import Foundation
import Synchronization

/// The latest instant, on this machine's monotonic clock, at which the running attempt surely
/// still holds its lease: when the last successful heartbeat was *sent* plus the lease
/// duration (the store measured its extension from a later moment, so this is on the safe
/// side, and needs no agreement between this clock and the store's).
///
/// While the store is unreachable the attempt keeps running until this passes; after it,
/// another worker may hold the job, so the attempt is abandoned.
final class LeaseDeadline: Sendable {
    private let instant: Mutex<ContinuousClock.Instant>
    let leaseDuration: Duration

    /// - Parameter leasedAt: when the lease was taken (at the latest: when the attempt started).
    init(leasedAt: ContinuousClock.Instant, leaseDuration: Duration) {
        instant = Mutex(leasedAt + leaseDuration)
        self.leaseDuration = leaseDuration
    }

    var deadline: ContinuousClock.Instant { instant.withLock { $0 } }
    var hasPassed: Bool { ContinuousClock.now >= deadline }

    /// A heartbeat sent at `sentAt` extended the lease.
    func extended(sentAt: ContinuousClock.Instant) {
        instant.withLock { $0 = max($0, sentAt + leaseDuration) }
    }
}
