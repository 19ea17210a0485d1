import Foundation
import TrainyardAWS
import TrainyardCore

/// The `MessageQueue` port on one SQS queue: receives with long polling (asking for each
/// message's `ApproximateReceiveCount`) and deletes by receipt handle, through ``SQSClient``
/// (signed, retried by the shared AWS transport). Opened by ``SQSMessageQueues``.
public struct SQSMessageQueue: MessageQueue {
    public let sqs: SQSClient
    public let queueURL: String

    public init(sqs: SQSClient, queueURL: String) {
        self.sqs = sqs
        self.queueURL = queueURL
    }

    public func receive(max: Int, wait: Duration, visibilityTimeout: Duration?) async throws -> [QueueMessage] {
        // The port's ranges are SQS's: clamp rather than send what SQS would refuse.
        let count = Swift.min(Swift.max(max, 1), SQSClient.maximumMessagesPerReceive)
        let waitSeconds = Swift.min(Swift.max(Int(wait.seconds.rounded()), 0), SQSClient.maximumWaitSeconds)
        let visibility = visibilityTimeout.map { Swift.min(Swift.max(Int($0.seconds.rounded()), 0), SQSSource.maxVisibilityTimeoutSeconds) }
        return try await sqs.receiveMessages(queueURL: queueURL, maxMessages: count, waitSeconds: waitSeconds, visibilityTimeout: visibility)
            .map { QueueMessage(id: $0.messageID, body: $0.body, receipt: .init($0.receiptHandle), receiveCount: $0.receiveCount) }
    }

    public func delete(_ receipt: QueueMessage.Receipt) async throws {
        try await sqs.deleteMessage(queueURL: queueURL, receiptHandle: receipt.handle)
    }
}
