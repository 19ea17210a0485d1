import Foundation
import Synchronization
import TrainyardCore

/// Bounded calls to the metadata store for the operations side (`/readyz`, `/metrics`, workers
/// waiting for an outage to end): none of them may hang on a store that accepted a connection
/// and never answers.
public enum StoreReachability {
    /// nil when the store answered `ping` within `timeout`; else why not (its error, or a timeout).
    public static func check(_ store: any MetadataStore, timeout: Duration) async -> (any Error)? {
        do {
            try await bounded(timeout, what: "the metadata store's ping") { try await store.ping() }
            return nil
        } catch {
            return error
        }
    }

    /// `work`'s result, or a `.timeout` error at `timeout`. Returns at `timeout` even if `work`
    /// ignores cancellation: it is cancelled and left to end on its own.
    public static func bounded<T: Sendable>(_ timeout: Duration, what: String, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let resumed = Mutex(false)
            let timer = Mutex<Task<Void, Never>?>(nil)
            let finish: @Sendable (Result<T, any Error>) -> Void = { outcome in
                guard resumed.withLock({ done in defer { done = true }; return !done }) else { return }
                continuation.resume(with: outcome)
            }
            let call = Task {
                do { finish(.success(try await work())) } catch { finish(.failure(error)) }
                timer.withLock { $0?.cancel() }
            }
            timer.withLock { slot in
                slot = Task {
                    try? await Task.sleep(for: timeout)
                    guard !Task.isCancelled else { return }
                    finish(.failure(TrainyardError(.timeout, "\(what) did not answer within \(DurationText.format(timeout))")))
                    call.cancel()
                }
                // The call may have ended before the timer existed: then nobody else stops it.
                if resumed.withLock({ $0 }) { slot?.cancel() }
            }
        }
    }
}
