import Foundation
import Synchronization
import TrainyardCore

/// The `ProgressReporter` a trainer writes to during one attempt. It buffers log lines and the
/// latest progress in memory (cheap, any thread); the job runner flushes them to the store on
/// its heartbeat, and sets `isCancelled` when cancellation or the timeout arrives.
final class JobProgressRecorder: ProgressReporter {
    private struct State {
        var lines: [String] = []
        var progress: JobProgress?
        var progressChanged = false
        var cancelled = false
        var startedAt = ContinuousClock.now
        var tail: [String] = []
    }
    private let state = Mutex(State())
    static let tailLength = 40

    func report(_ progress: JobProgress) {
        state.withLock { s in
            var p = progress
            // Fill in an ETA from the epoch rate when the trainer did not give one.
            if p.etaSeconds == nil, let epoch = p.epoch, let total = p.totalEpochs, epoch > 0, total >= epoch {
                let elapsed = (ContinuousClock.now - s.startedAt).seconds
                p.etaSeconds = elapsed / Double(epoch) * Double(total - epoch)
            }
            s.progress = p
            s.progressChanged = true
        }
    }

    func log(_ line: String) {
        state.withLock { s in
            s.lines.append(line)
            s.tail.append(line)
            if s.tail.count > Self.tailLength { s.tail.removeFirst(s.tail.count - Self.tailLength) }
        }
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    func cancel() { state.withLock { $0.cancelled = true } }

    /// Lines logged since the last call, and the progress if it changed.
    func drain() -> (lines: [String], progress: JobProgress?) {
        state.withLock { s in
            let lines = s.lines
            s.lines.removeAll()
            let progress = s.progressChanged ? s.progress : nil
            s.progressChanged = false
            return (lines, progress)
        }
    }

    /// Puts back what `drain` returned when it could not be written (the store was unreachable),
    /// before anything logged since, so the job's log keeps its order. Keeps at most
    /// `maxBufferedLines`: during a long outage the oldest lines give way, and a line says so.
    func restore(lines: [String], progress: JobProgress?) {
        state.withLock { s in
            var all = lines + s.lines
            if all.count > Self.maxBufferedLines {
                let dropped = all.count - Self.maxBufferedLines + 1
                all = ["(\(dropped) log line(s) dropped: the metadata store was unreachable)"] + all.suffix(Self.maxBufferedLines - 1)
            }
            s.lines = all
            if let progress, !s.progressChanged {
                s.progress = progress
                s.progressChanged = true
            }
        }
    }

    static let maxBufferedLines = 10_000

    /// The last lines logged (for a failure reason).
    var tail: [String] { state.withLock { $0.tail } }
}
