import Dispatch
import Synchronization

/// Asks blocking work to stop: set by a deadline or by cancellation, checked by the work between
/// chunks (it cannot interrupt a system call already waiting).
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .acquiring) }
    public func set() { flag.store(true, ordering: .releasing) }
}

/// Runs blocking work (reads of files a spec names) on a Dispatch thread, off the cooperative
/// pool, and returns as soon as the first of these happens:
/// - the work finishes (its result or error),
/// - `deadline` passes (`onDeadline()` is thrown),
/// - the calling task is cancelled (`CancellationError`, as on shutdown).
///
/// In the last two cases the caller does not wait for the work: it is told to stop (`StopSignal`)
/// and ends on its own at its next check, or when its read returns. So a source that never ends or
/// never answers cannot hold a submit, a request or a shutdown.
public func runBlocking<T: Sendable>(deadline: Duration, onDeadline: @escaping @Sendable () -> any Error,
                                     _ work: @escaping @Sendable (StopSignal) throws -> T) async throws -> T {
    let stop = StopSignal()
    let outcome = FirstOutcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            outcome.attach(continuation)
            DispatchQueue.global(qos: .userInitiated).async {
                outcome.finish(Result { try work(stop) })
            }
            // Not cancelled when the work ends first: finishing twice is a no-op, and a stop
            // signal nobody reads any more is harmless.
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + deadline.dispatchInterval) {
                stop.set()
                outcome.finish(.failure(onDeadline()))
            }
        }
    } onCancel: {
        stop.set()
        outcome.finish(.failure(CancellationError()))
    }
}

/// The first result handed to a continuation that may not be attached yet (cancellation can
/// come before it is).
private final class FirstOutcome<T: Sendable>: Sendable {
    private enum State {
        case waiting
        case attached(CheckedContinuation<T, any Error>)
        case early(Result<T, any Error>)
        case done
    }
    private let state = Mutex(State.waiting)

    func attach(_ continuation: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = state.withLock { state in
            if case .early(let result) = state {
                state = .done
                return result
            }
            state = .attached(continuation)
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func finish(_ result: Result<T, any Error>) {
        let continuation: CheckedContinuation<T, any Error>? = state.withLock { state in
            switch state {
            case .waiting:
                state = .early(result)
                return nil
            case .attached(let continuation):
                state = .done
                return continuation
            case .early, .done:
                return nil
            }
        }
        continuation?.resume(with: result)
    }
}

extension Duration {
    /// This duration for Dispatch, at millisecond precision.
    var dispatchInterval: DispatchTimeInterval {
        let (seconds, attoseconds) = components
        return .milliseconds(Int(min(seconds, Int64(Int.max / 1000 - 1))) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
