import Dispatch

/// Runs CPU-bound or blocking work (training, process waits) on a Dispatch thread, off the
/// cooperative pool that serves HTTP and async I/O, and awaits its result.
public func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try work() })
        }
    }
}
