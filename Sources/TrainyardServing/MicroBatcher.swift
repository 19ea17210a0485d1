import Synchronization

/// Adaptive micro-batching: concurrent requests for one model are scored by one model call.
///
/// No timer at low load: a request that finds the model idle runs at once (adding only a lock
/// round trip to its latency). Requests that arrive while a call is running queue up, and when
/// it finishes the queue is scored together, up to `maxBatchRows` rows per call. So batches
/// grow with load by themselves, and `maxWait` (default zero) can hold a drain back a little
/// to let a batch fill further.
///
/// `execute` gets the concatenated inputs and must return exactly one output per input.
public final class MicroBatcher<Input: Sendable, Output: Sendable>: Sendable {
    public typealias Execute = @Sendable ([Input]) throws -> [Output]

    struct Waiter {
        var items: [Input]
        var continuation: CheckedContinuation<[Output], any Error>
    }

    struct State {
        var busy = false
        var queue: [Waiter] = []
        var queuedRows = 0
    }

    private let state = Mutex(State())
    let maxBatchRows: Int
    let maxWait: Duration
    let execute: Execute
    let onBatch: @Sendable (Int) -> Void

    public init(maxBatchRows: Int, maxWait: Duration = .zero, onBatch: @escaping @Sendable (Int) -> Void = { _ in },
                execute: @escaping Execute) {
        precondition(maxBatchRows >= 1)
        self.maxBatchRows = maxBatchRows
        self.maxWait = maxWait
        self.execute = execute
        self.onBatch = onBatch
    }

    /// Scores `items` at once on the calling thread, without waiting for or joining a batch
    /// (requests that are batches already).
    public func runDirectly(_ items: [Input]) throws -> [Output] {
        onBatch(items.count)
        return try execute(items)
    }

    /// Scores `items`, together with whatever else is waiting.
    public func submit(_ items: [Input]) async throws -> [Output] {
        // Large requests are batches already: run them directly.
        if items.count >= maxBatchRows { return try runDirectly(items) }
        let leader = state.withLock { s -> Bool in
            if s.busy { return false }
            s.busy = true
            return true
        }
        if leader {
            defer { handOff() }
            onBatch(items.count)
            return try execute(items)
        }
        return try await withCheckedThrowingContinuation { continuation in
            let runNow = state.withLock { s -> Bool in
                if !s.busy { s.busy = true; return true }
                s.queue.append(Waiter(items: items, continuation: continuation))
                s.queuedRows += items.count
                return false
            }
            if runNow {
                onBatch(items.count)
                continuation.resume(with: Result { try execute(items) })
                handOff()
            }
        }
    }

    /// Called by whoever held the model: release it, or start draining the queue.
    private func handOff() {
        let more = state.withLock { s -> Bool in
            if s.queue.isEmpty { s.busy = false; return false }
            return true
        }
        if more { Task { await self.drain() } }
    }

    private func drain() async {
        while true {
            if maxWait > .zero, state.withLock({ $0.queuedRows < maxBatchRows }) {
                try? await Task.sleep(for: maxWait)
            }
            let batch = state.withLock { s -> [Waiter] in
                guard !s.queue.isEmpty else { s.busy = false; return [] }
                var taken: [Waiter] = []
                var rows = 0
                while let first = s.queue.first, taken.isEmpty || rows + first.items.count <= maxBatchRows {
                    taken.append(s.queue.removeFirst())
                    rows += first.items.count
                }
                s.queuedRows -= rows
                return taken
            }
            if batch.isEmpty { return }
            run(batch)
        }
    }

    private func run(_ batch: [Waiter]) {
        if batch.count == 1 {
            onBatch(batch[0].items.count)
            batch[0].continuation.resume(with: Result { try execute(batch[0].items) })
            return
        }
        let all = batch.flatMap(\.items)
        onBatch(all.count)
        do {
            let outputs = try execute(all)
            precondition(outputs.count == all.count, "MicroBatcher: execute returned \(outputs.count) outputs for \(all.count) inputs")
            var offset = 0
            for waiter in batch {
                waiter.continuation.resume(returning: Array(outputs[offset..<offset + waiter.items.count]))
                offset += waiter.items.count
            }
        } catch {
            // One bad request must not fail its neighbours: score each on its own.
            for waiter in batch { waiter.continuation.resume(with: Result { try execute(waiter.items) }) }
        }
    }
}
