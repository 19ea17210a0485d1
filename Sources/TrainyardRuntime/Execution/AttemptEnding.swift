import Foundation
import TrainyardCore

/// How an attempt's work ended, before anything is recorded.
enum AttemptEnding<Output: Sendable>: Sendable {
    case succeeded(Output)
    case failed(String, retryable: Bool)
    case cancelled
    case timedOut
    case leaseLost
    case shutdown

    /// Why work stopped early when it was told to: its lease was lost, the worker is shutting
    /// down, or the job was cancelled.
    static func stopped(leaseLost: Bool, shuttingDown: Bool) -> Self {
        leaseLost ? .leaseLost : (shuttingDown ? .shutdown : .cancelled)
    }

    /// The pure classification of how the work ended (no I/O): its result or error, read
    /// against what the shell knew at that moment. A lost lease ends the attempt whatever the
    /// work made of it (another worker may hold the job), unless the timeout came first.
    /// - Parameters:
    ///   - result: nil output = the timeout fired first.
    ///   - timedOut: the timeout flag (the work may have thrown because the timeout cancelled it).
    ///   - stopRequested: the work was told to stop (cancel, shutdown or lost lease).
    static func classify(_ result: Result<Output?, any Error>, timedOut: Bool, stopRequested: Bool,
                         leaseLost: Bool, shuttingDown: Bool) -> Self {
        let stopped = Self.stopped(leaseLost: leaseLost, shuttingDown: shuttingDown)
        if leaseLost && !timedOut { return .leaseLost }
        switch result {
        case .success(let output):
            guard let output, !timedOut else { return .timedOut }
            return stopRequested ? stopped : .succeeded(output)
        case .failure(let error):
            if timedOut { return .timedOut }
            if error is CancellationError || stopRequested { return stopped }
            switch error {
            case let failure as TrainingFailure: return .failed(failure.reason, retryable: failure.retryable)
            case let error as TrainyardError: return .failed(error.message, retryable: !error.code.isClientError)
            default: return .failed(describe(error), retryable: true)
            }
        }
    }
}

/// An error as a job's failure reason: the message of our own errors, the system's words for
/// file-system errors.
func describe(_ error: any Error) -> String {
    switch error {
    case let error as TrainyardError: return error.message
    case let error as TrainingFailure: return error.reason
    case let error as POSIXError: return String(cString: strerror(error.code.rawValue))
    default:
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let underlying, underlying.domain == NSPOSIXErrorDomain {
            return "\(String(cString: strerror(Int32(underlying.code)))): \(error.localizedDescription)"
        }
        return "\(error)"
    }
}
