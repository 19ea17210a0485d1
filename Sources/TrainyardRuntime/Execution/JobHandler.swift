import Foundation
import TrainyardCore

/// What one kind of job does inside an attempt; the execution shell (`JobRunner`) owns the
/// rest: lease, heartbeat, timeout, cancellation, and recording how the attempt ended.
///
/// `perform` is the interruptible work (under the spec's timeout; it should check
/// `attempt.recorder.isCancelled` or let cancellation through). `commit` writes what the work
/// produced and records success with the fenced `attempt.complete`; it runs under the heartbeat
/// but not the timeout, and once it starts the attempt is no longer cancelled. An error from
/// `commit` fails the attempt (a `TrainingFailure` carries its retryability; anything else is
/// retried); `leaseLost` abandons it.
protocol JobHandler: Sendable {
    associatedtype Output: Sendable
    func perform(_ attempt: AttemptContext) async throws -> Output
    /// Returns whether the job's log is worth archiving beside what the job left behind.
    func commit(_ output: Output, _ attempt: AttemptContext) async throws -> Bool
}
