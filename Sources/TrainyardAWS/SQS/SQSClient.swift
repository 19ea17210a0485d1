import Crypto
import Foundation

/// Amazon SQS (or a compatible endpoint such as moto) spoken directly over ``AWSClient``, in
/// SQS's JSON protocol (`POST /`, `X-Amz-Target: AmazonSQS.<Operation>`,
/// `Content-Type: application/x-amz-json-1.0`): receiving with long polling, deleting,
/// changing a message's visibility, sending, and the queue calls tests and tools need.
///
/// ```swift
/// let sqs = SQSClient(client: AWSClient(endpoint: try .resolve(service: "sqs"), credentials: AWSCredentialsChain.default()))
/// for message in try await sqs.receiveMessages(queueURL: url, maxMessages: 10, waitSeconds: 20) {
///     …
///     try await sqs.deleteMessage(queueURL: url, receiptHandle: message.receiptHandle)
/// }
/// ```
///
/// Every call is retried by the transport on connection errors, 5xx and throttling; a body
/// received is checked against the MD5 SQS sends with it. Safe to share between tasks; one per
/// endpoint.
public struct SQSClient: Sendable {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// A message as one receive delivered it.
    public struct ReceivedMessage: Sendable, Equatable {
        public var messageID: String
        /// What deleting (or changing the visibility of) this delivery takes.
        public var receiptHandle: String
        public var body: String
        /// `ApproximateReceiveCount`: 1 on the first delivery.
        public var receiveCount: Int
    }

    /// The most messages one receive returns, and the longest long poll (SQS's limits).
    public static let maximumMessagesPerReceive = 10
    public static let maximumWaitSeconds = 20

    // MARK: - Messages

    /// Up to `maxMessages` (1–10) messages, waiting up to `waitSeconds` (0–20) for the first
    /// (long polling: an empty answer only once the wait is over). `visibilityTimeout` (seconds)
    /// overrides the queue's for these messages.
    public func receiveMessages(queueURL: String, maxMessages: Int = 1, waitSeconds: Int = 0,
                                visibilityTimeout: Int? = nil) async throws -> [ReceivedMessage] {
        guard (1...Self.maximumMessagesPerReceive).contains(maxMessages) else {
            throw AWSError(.configuration, "MaxNumberOfMessages \(maxMessages) is outside 1–\(Self.maximumMessagesPerReceive)")
        }
        guard (0...Self.maximumWaitSeconds).contains(waitSeconds) else {
            throw AWSError(.configuration, "WaitTimeSeconds \(waitSeconds) is outside 0–\(Self.maximumWaitSeconds)")
        }
        struct Request: Encodable {
            var QueueUrl: String
            var MaxNumberOfMessages: Int
            var WaitTimeSeconds: Int
            var VisibilityTimeout: Int?
            // `AttributeNames` is the older name of `MessageSystemAttributeNames`; endpoints
            // that know only one of them read that one.
            var AttributeNames = ["ApproximateReceiveCount"]
            var MessageSystemAttributeNames = ["ApproximateReceiveCount"]
        }
        struct Message: Decodable {
            var MessageId: String
            var ReceiptHandle: String
            var Body: String
            var MD5OfBody: String?
            var Attributes: [String: String]?
        }
        struct Response: Decodable { var Messages: [Message]? }
        let response: Response = try await call("ReceiveMessage", Request(QueueUrl: queueURL, MaxNumberOfMessages: maxMessages,
                                                                         WaitTimeSeconds: waitSeconds, VisibilityTimeout: visibilityTimeout))
        let messages = response.Messages ?? []
        guard messages.count <= maxMessages else {
            throw AWSError(.invalidResponse, "ReceiveMessage returned \(messages.count) messages; at most \(maxMessages) were asked for")
        }
        return try messages.map { m in
            if let md5 = m.MD5OfBody, md5.lowercased() != Self.md5Hex(m.Body) {
                throw AWSError(.invalidResponse, "message \(m.MessageId): the body does not match its MD5 (damaged on the way)")
            }
            let count = m.Attributes?["ApproximateReceiveCount"].flatMap { Int($0) } ?? 1
            return ReceivedMessage(messageID: m.MessageId, receiptHandle: m.ReceiptHandle, body: m.Body, receiveCount: max(1, count))
        }
    }

    /// Deletes the message delivered with `receiptHandle`.
    public func deleteMessage(queueURL: String, receiptHandle: String) async throws {
        struct Request: Encodable {
            var QueueUrl: String
            var ReceiptHandle: String
        }
        let _: Empty = try await call("DeleteMessage", Request(QueueUrl: queueURL, ReceiptHandle: receiptHandle))
    }

    /// Hides the delivered message for `timeout` more seconds from now (0: visible again at once).
    public func changeMessageVisibility(queueURL: String, receiptHandle: String, timeout: Int) async throws {
        struct Request: Encodable {
            var QueueUrl: String
            var ReceiptHandle: String
            var VisibilityTimeout: Int
        }
        let _: Empty = try await call("ChangeMessageVisibility", Request(QueueUrl: queueURL, ReceiptHandle: receiptHandle, VisibilityTimeout: timeout))
    }

    /// Sends `body`; returns the message id. `groupID` and `deduplicationID` are for FIFO queues.
    @discardableResult
    public func sendMessage(queueURL: String, body: String, groupID: String? = nil, deduplicationID: String? = nil) async throws -> String {
        struct Request: Encodable {
            var QueueUrl: String
            var MessageBody: String
            var MessageGroupId: String?
            var MessageDeduplicationId: String?
        }
        struct Response: Decodable { var MessageId: String }
        let response: Response = try await call("SendMessage", Request(QueueUrl: queueURL, MessageBody: body, MessageGroupId: groupID,
                                                                      MessageDeduplicationId: deduplicationID))
        return response.MessageId
    }

    // MARK: - Queues

    /// Creates the queue `name` (or returns the URL of the existing one with the same
    /// attributes); `attributes` such as `VisibilityTimeout`, `RedrivePolicy`.
    public func createQueue(name: String, attributes: [String: String] = [:]) async throws -> String {
        struct Request: Encodable {
            var QueueName: String
            var Attributes: [String: String]?
        }
        struct Response: Decodable { var QueueUrl: String }
        let response: Response = try await call("CreateQueue", Request(QueueName: name, Attributes: attributes.isEmpty ? nil : attributes))
        return response.QueueUrl
    }

    /// The URL of the queue `name`.
    public func queueURL(name: String) async throws -> String {
        struct Request: Encodable { var QueueName: String }
        struct Response: Decodable { var QueueUrl: String }
        let response: Response = try await call("GetQueueUrl", Request(QueueName: name))
        return response.QueueUrl
    }

    /// The queue's attributes named (`ApproximateNumberOfMessages`, `ApproximateNumberOfMessagesNotVisible`, …).
    public func queueAttributes(queueURL: String, names: [String]) async throws -> [String: String] {
        struct Request: Encodable {
            var QueueUrl: String
            var AttributeNames: [String]
        }
        struct Response: Decodable { var Attributes: [String: String]? }
        let response: Response = try await call("GetQueueAttributes", Request(QueueUrl: queueURL, AttributeNames: names))
        return response.Attributes ?? [:]
    }

    public func deleteQueue(queueURL: String) async throws {
        struct Request: Encodable { var QueueUrl: String }
        let _: Empty = try await call("DeleteQueue", Request(QueueUrl: queueURL))
    }

    // MARK: - The protocol

    struct Empty: Decodable {}

    /// The answers SQS gives are small (10 messages of at most 1 MiB, with their receipts): a
    /// client made for SQS need not buffer more (``AWSClient/Configuration/maximumBufferedResponseBytes``).
    public static let maximumAnswerBytes = 16 << 20

    func call<Body: Encodable, Answer: Decodable>(_ operation: String, _ body: Body) async throws -> Answer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let request = AWSRequest(operation: operation, method: "POST", path: "/",
                                 headers: [HTTPField("Content-Type", "application/x-amz-json-1.0"),
                                           HTTPField("X-Amz-Target", "AmazonSQS.\(operation)")],
                                 body: try encoder.encode(body))
        let response = try await client.send(request)
        guard response.body.count <= Self.maximumAnswerBytes else {
            throw AWSError(.invalidResponse, "the answer to \(operation) is larger than \(Self.maximumAnswerBytes) bytes")
        }
        // Some operations answer with an empty body rather than `{}`.
        let data = response.body.isEmpty ? Data("{}".utf8) : response.body
        do {
            return try JSONDecoder().decode(Answer.self, from: data)
        } catch {
            throw AWSError(.invalidResponse, "the answer to \(operation) is not the JSON SQS sends (\(Self.describe(error)))",
                           status: response.status, requestID: response.head.requestID, request: client.label(request))
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing \(key.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            "\(c.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        default: "unreadable"
        }
    }

    static func md5Hex(_ text: String) -> String {
        Insecure.MD5.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
