import Foundation
import Synchronization
import TrainyardCore

/// A `MessageQueue` in memory that behaves as SQS does where triggers depend on it: a received
/// message is hidden until its visibility timeout passes on the injected clock, then delivered
/// again with the same id, a new receipt handle and a higher receive count; only the latest
/// receipt of a message deletes it (an older one succeeds and deletes nothing, as SQS
/// documents); deleting twice is fine. `receive` waits (real time, up to `wait`) for a message
/// to be sent when none is visible.
///
/// Fault injection for tests: `failNextReceives` and `failNextDeletes` make that many calls
/// throw before doing anything.
public final class InMemoryMessageQueue: MessageQueue {
    struct Stored {
        var id: String
        var body: String
        var receiveCount = 0
        var visibleAt: Date
        var receipt: String?
    }

    struct State {
        var messages: [Stored] = []
        var nextID = 1
        var nextReceipt = 1
        var failReceives = 0
        var failDeletes = 0
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }

    /// Thrown by an injected failure.
    public struct InjectedFailure: Error, CustomStringConvertible {
        public var operation: String
        public var description: String { "injected failure of \(operation)" }
    }

    public let url: String
    public let defaultVisibilityTimeout: Duration
    let clock: any WallClock
    private let state = Mutex(State())

    public init(url: String, clock: any WallClock = SystemClock(), defaultVisibilityTimeout: Duration = .seconds(30)) {
        self.url = url
        self.clock = clock
        self.defaultVisibilityTimeout = defaultVisibilityTimeout
    }

    /// Sends `body`; returns the message id.
    @discardableResult
    public func send(_ body: String, id: String? = nil) -> String {
        let (messageID, waiters) = state.withLock { s -> (String, [CheckedContinuation<Void, Never>]) in
            let messageID = id ?? "m-\(s.nextID)"
            s.nextID += 1
            s.messages.append(Stored(id: messageID, body: body, visibleAt: clock.now()))
            let waiting = Array(s.waiters.values)
            s.waiters.removeAll()
            return (messageID, waiting)
        }
        for waiter in waiters { waiter.resume() }
        return messageID
    }

    /// Messages not deleted (visible or in flight).
    public var count: Int { state.withLock { $0.messages.count } }
    /// The ids of the messages not deleted, in the order they were sent.
    public var ids: [String] { state.withLock { $0.messages.map(\.id) } }
    /// How many times each message not deleted was received.
    public var receiveCounts: [String: Int] { state.withLock { Dictionary($0.messages.map { ($0.id, $0.receiveCount) }, uniquingKeysWith: max) } }

    public func failNextReceives(_ n: Int) { state.withLock { $0.failReceives = n } }
    public func failNextDeletes(_ n: Int) { state.withLock { $0.failDeletes = n } }

    public func receive(max: Int, wait: Duration, visibilityTimeout: Duration?) async throws -> [QueueMessage] {
        let deadline = ContinuousClock.now + wait
        while true {
            let taken = try take(max: max, visibilityTimeout: visibilityTimeout ?? defaultVisibilityTimeout)
            if !taken.isEmpty || ContinuousClock.now >= deadline { return taken }
            try await waitForSend(until: deadline)
        }
    }

    private func take(max: Int, visibilityTimeout: Duration) throws -> [QueueMessage] {
        try state.withLock { s in
            if s.failReceives > 0 {
                s.failReceives -= 1
                throw InjectedFailure(operation: "ReceiveMessage")
            }
            let now = clock.now()
            var out: [QueueMessage] = []
            for i in s.messages.indices where out.count < max && s.messages[i].visibleAt <= now {
                let receipt = "r-\(s.nextReceipt)-\(s.messages[i].id)"
                s.nextReceipt += 1
                s.messages[i].receiveCount += 1
                s.messages[i].receipt = receipt
                s.messages[i].visibleAt = now.addingTimeInterval(visibilityTimeout.seconds)
                out.append(QueueMessage(id: s.messages[i].id, body: s.messages[i].body, receipt: .init(receipt),
                                        receiveCount: s.messages[i].receiveCount))
            }
            return out
        }
    }

    /// Returns when a message is sent, at `deadline`, or (throwing) when cancelled.
    private func waitForSend(until deadline: ContinuousClock.Instant) async throws {
        let id = UUID()
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            self?.wake(id)
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    // A message sent since `take` looked: no wait (its wake-up went before we listened).
                    if Task.isCancelled || s.messages.contains(where: { $0.visibleAt <= clock.now() }) { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            wake(id)
        }
        try Task.checkCancellation()
    }

    private func wake(_ id: UUID) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.resume()
    }

    public func delete(_ receipt: QueueMessage.Receipt) async throws {
        try state.withLock { s in
            if s.failDeletes > 0 {
                s.failDeletes -= 1
                throw InjectedFailure(operation: "DeleteMessage")
            }
            s.messages.removeAll { $0.receipt == receipt.handle }
        }
    }
}

/// Serves in-memory queues by URL (`TrainyardServices.messageQueues` in tests); a URL with no
/// queue made is refused as the SQS backend refuses a host it does not call.
public final class InMemoryMessageQueues: MessageQueueProvider {
    private let queues = Mutex<[String: InMemoryMessageQueue]>([:])
    let clock: any WallClock

    public init(clock: any WallClock = SystemClock()) { self.clock = clock }

    /// Makes (or returns) the queue at `url`.
    @discardableResult
    public func make(_ url: String, defaultVisibilityTimeout: Duration = .seconds(30)) -> InMemoryMessageQueue {
        queues.withLock { queues in
            if let existing = queues[url] { return existing }
            let queue = InMemoryMessageQueue(url: url, clock: clock, defaultVisibilityTimeout: defaultVisibilityTimeout)
            queues[url] = queue
            return queue
        }
    }

    public func queue(url: String) throws -> any MessageQueue {
        guard let queue = queues.withLock({ $0[url] }) else {
            throw TrainyardError(.invalidArgument, "sqs.queue_url \(url) is not a queue this test serves")
        }
        return queue
    }
}
