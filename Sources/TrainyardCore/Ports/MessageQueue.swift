import Foundation

/// A queue of messages with at-least-once delivery and visibility timeouts, as SQS has them:
/// what an `sqs` trigger reads. A received message is hidden from other receivers until its
/// visibility timeout passes; unless it is deleted by then, it is delivered again (same id,
/// a new receipt handle, a higher receive count), and a queue with a redrive policy moves it to
/// its dead-letter queue after enough receives.
///
/// Implementations: the SQS client (`TrainyardAWSBackends.SQSMessageQueue`) and an in-memory
/// queue for tests (`TrainyardTestSupport.InMemoryMessageQueue`).
public protocol MessageQueue: Sendable {
    /// Up to `max` messages (1–10), waiting up to `wait` (0–20 s) for the first one to arrive
    /// (long polling); empty when none came. `visibilityTimeout` overrides the queue's for the
    /// messages received (nil: the queue's own).
    func receive(max: Int, wait: Duration, visibilityTimeout: Duration?) async throws -> [QueueMessage]
    /// Deletes the message received with `receipt` (acknowledges it). Deleting a message that
    /// is already gone is not an error.
    func delete(_ receipt: QueueMessage.Receipt) async throws
}

/// One delivery of a message.
public struct QueueMessage: Sendable, Equatable {
    /// The receipt handle of one delivery: what deleting it takes.
    public struct Receipt: Sendable, Hashable, CustomStringConvertible {
        public var handle: String
        public init(_ handle: String) { self.handle = handle }
        /// Not the handle itself: it grants deleting the message.
        public var description: String { "receipt(\(handle.utf8.count) bytes)" }
    }

    /// The queue's id of the message: the same on every delivery.
    public var id: String
    /// The body as text (SQS bodies are text).
    public var body: String
    public var receipt: Receipt
    /// How many times the message has been received, this delivery included (1 the first time).
    public var receiveCount: Int

    public init(id: String, body: String, receipt: Receipt, receiveCount: Int) {
        self.id = id
        self.body = body
        self.receipt = receipt
        self.receiveCount = receiveCount
    }
}

/// Opens the queue a trigger names. The application wires one (`TrainyardApp`): it decides which
/// queue URLs this process may call (AWS's SQS endpoints, a configured endpoint such as a local
/// moto or ElasticMQ) and with which credentials.
public protocol MessageQueueProvider: Sendable {
    /// The queue at `url` (an `SQSSource.queueURL`). `.invalidArgument` for a URL this process
    /// does not serve (another host), naming it; no network call is made.
    func queue(url: String) throws -> any MessageQueue
}
