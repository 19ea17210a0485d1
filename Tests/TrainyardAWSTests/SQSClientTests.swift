import Foundation
import Synchronization
import Testing
@testable import TrainyardAWS
import TrainyardTestServices

/// `SQSClient`: the JSON protocol on the wire (against a scripted local server: target header,
/// body, signature scope, answers and errors), and the calls against moto_server with boto3 as
/// the independent client: long polling, receive counts, visibility, deletes.
@Suite("SQS client")
struct SQSClientTests {
    static func client(_ url: URL) throws -> SQSClient {
        let credentials = try AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        return SQSClient(client: AWSClient(endpoint: try AWSEndpoint(service: "sqs", region: "eu-west-1", customURL: url),
                                           credentials: StaticCredentialsProvider(credentials),
                                           configuration: .init(retry: AWSRetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(1),
                                                                                      maximumDelay: .milliseconds(5)))))
    }

    static func md5(_ text: String) -> String { SQSClient.md5Hex(text) }

    // MARK: The wire

    @Test func receiveSpeaksTheJSONProtocolAndReadsTheMessages() async throws {
        let answer = #"""
            {"Messages": [
              {"MessageId": "5fea7756-0ea4-451a-a703-a558b933e274", "ReceiptHandle": "AQEB-first", "MD5OfBody": "\#(Self.md5("héllo"))",
               "Body": "héllo", "Attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1"}},
              {"MessageId": "m2", "ReceiptHandle": "AQEB-second", "Body": "{\"a\": 1}"}]}
            """#
        let server = try await FakeHTTPServer.start { _ in .status(200, answer, headers: [("Content-Type", "application/x-amz-json-1.0")]) }
        defer { Task { try? await server.stop() } }
        let queue = "\(server.url.absoluteString)/123456789012/inbox"
        let messages = try await Self.client(server.url).receiveMessages(queueURL: queue, maxMessages: 10, waitSeconds: 20, visibilityTimeout: 90)
        #expect(messages == [
            SQSClient.ReceivedMessage(messageID: "5fea7756-0ea4-451a-a703-a558b933e274", receiptHandle: "AQEB-first", body: "héllo", receiveCount: 3),
            SQSClient.ReceivedMessage(messageID: "m2", receiptHandle: "AQEB-second", body: #"{"a": 1}"#, receiveCount: 1),
        ])
        let request = try #require(server.requests.first)
        #expect(request.method == "POST" && request.path == "/")
        #expect(request.headers["x-amz-target"] == "AmazonSQS.ReceiveMessage")
        #expect(request.headers["content-type"] == "application/x-amz-json-1.0")
        #expect(request.headers["authorization"]?.contains("/eu-west-1/sqs/aws4_request") == true)
        let body = try JSONSerialization.jsonObject(with: request.body) as? [String: Any]
        #expect(body?["QueueUrl"] as? String == queue)
        #expect(body?["MaxNumberOfMessages"] as? Int == 10 && body?["WaitTimeSeconds"] as? Int == 20 && body?["VisibilityTimeout"] as? Int == 90)
        #expect(body?["MessageSystemAttributeNames"] as? [String] == ["ApproximateReceiveCount"])
        #expect(body?["AttributeNames"] as? [String] == ["ApproximateReceiveCount"])
    }

    @Test func deleteSendAndErrorsAreReadAsSQSSaysThem() async throws {
        let server = try await FakeHTTPServer.start { request in
            switch request.headers["x-amz-target"] {
            case "AmazonSQS.DeleteMessage": .status(200, "")
            case "AmazonSQS.SendMessage": .status(200, #"{"MessageId": "sent-1", "MD5OfMessageBody": "x"}"#)
            case "AmazonSQS.ChangeMessageVisibility": .status(200, "{}")
            default:
                .status(400, #"{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "The specified queue does not exist."}"#,
                        headers: [("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"), ("x-amzn-RequestId", "req-42")])
            }
        }
        defer { Task { try? await server.stop() } }
        let sqs = try Self.client(server.url)
        let queue = "\(server.url.absoluteString)/1/q"
        try await sqs.deleteMessage(queueURL: queue, receiptHandle: "AQEB-x")
        #expect(try await sqs.sendMessage(queueURL: queue, body: "hi") == "sent-1")
        try await sqs.changeMessageVisibility(queueURL: queue, receiptHandle: "AQEB-x", timeout: 0)
        let deleted = try JSONSerialization.jsonObject(with: server.requests[0].body) as? [String: String]
        #expect(deleted == ["QueueUrl": queue, "ReceiptHandle": "AQEB-x"])
        do {
            _ = try await sqs.receiveMessages(queueURL: queue)
            Issue.record("expected an error")
        } catch let error as AWSError {
            #expect(error.isNotFound && error.code == "AWS.SimpleQueueService.NonExistentQueue" && error.requestID == "req-42")
            #expect(error.description.contains("The specified queue does not exist.") && error.description.contains("(ReceiveMessage)"))
        }
        let sent = server.requests.count
        // Out of SQS's ranges: refused before anything is sent.
        await #expect(throws: AWSError.self) { _ = try await sqs.receiveMessages(queueURL: queue, maxMessages: 11) }
        await #expect(throws: AWSError.self) { _ = try await sqs.receiveMessages(queueURL: queue, waitSeconds: 21) }
        #expect(server.requests.count == sent)
    }

    @Test func aDamagedOrUnreadableAnswerIsAnError() async throws {
        let answers = Mutex([
            #"{"Messages": [{"MessageId": "m", "ReceiptHandle": "r", "MD5OfBody": "00000000000000000000000000000000", "Body": "x"}]}"#,
            #"{"Messages": [{"MessageId": "m", "Body": "x"}]}"#,
            #"{"Messages": [{"MessageId": "a", "ReceiptHandle": "r", "Body": "x"}, {"MessageId": "b", "ReceiptHandle": "r", "Body": "y"}]}"#,
        ])
        let server = try await FakeHTTPServer.start { _ in .status(200, answers.withLock { $0.removeFirst() }) }
        defer { Task { try? await server.stop() } }
        let sqs = try Self.client(server.url)
        for expected in ["does not match its MD5", "missing ReceiptHandle", "at most 1 were asked for"] {
            do {
                _ = try await sqs.receiveMessages(queueURL: "\(server.url.absoluteString)/1/q", maxMessages: 1)
                Issue.record("expected: \(expected)")
            } catch let error as AWSError {
                #expect(error.kind == .invalidResponse && error.description.contains(expected), "\(error)")
            }
        }
    }

    // MARK: Against moto

    @Test(.enabled(if: TestService.aws.shouldRun, "\(TestService.aws.skipReason)"))
    func receiveCountsVisibilityAndDeletesOnMoto() async throws {
        let endpoint = try TestService.aws.require()
        let sqs = try MotoSQS.client(endpoint)
        let name = "trainyard-sqs-\(UUID().uuidString.prefix(8).lowercased())"
        let queue = try await sqs.createQueue(name: name, attributes: ["VisibilityTimeout": "30"])
        #expect(try await sqs.queueURL(name: name) == queue)
        do {
            // Sent by boto3, received by us.
            let sent = try await MotoSQS.boto3("""
                ids = [sqs.send_message(QueueUrl=sys.argv[1], MessageBody=body)["MessageId"] for body in ["first é", '{"name": "m"}']]
                print(" ".join(ids))
                """, [queue]).split(separator: " ").map(String.init)
            var received: [SQSClient.ReceivedMessage] = []
            for _ in 0..<10 where received.count < 2 {
                received += try await sqs.receiveMessages(queueURL: queue, maxMessages: 10, waitSeconds: 1)
            }
            #expect(Set(received.map(\.messageID)) == Set(sent))
            #expect(Set(received.map(\.body)) == ["first é", #"{"name": "m"}"#])
            #expect(received.allSatisfy { $0.receiveCount == 1 })
            // Hidden while in flight; made visible again, it comes back with the same id and a higher count.
            #expect(try await sqs.receiveMessages(queueURL: queue, maxMessages: 10).isEmpty)
            let first = received[0]
            try await sqs.changeMessageVisibility(queueURL: queue, receiptHandle: first.receiptHandle, timeout: 0)
            let again = try await sqs.receiveMessages(queueURL: queue, maxMessages: 10, waitSeconds: 1)
            #expect(again.map(\.messageID) == [first.messageID] && again.first?.receiveCount == 2)
            try await sqs.deleteMessage(queueURL: queue, receiptHandle: again[0].receiptHandle)
            try await sqs.deleteMessage(queueURL: queue, receiptHandle: received[1].receiptHandle)
            let counts = try await sqs.queueAttributes(queueURL: queue, names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
            #expect(counts == ["ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"])
            // boto3 sees the queue empty too.
            await #expect(try MotoSQS.boto3(#"print(len(sqs.receive_message(QueueUrl=sys.argv[1], WaitTimeSeconds=0).get("Messages", [])))"#, [queue]) == "0")
        } catch {
            try? await sqs.deleteQueue(queueURL: queue)
            throw error
        }
        try await sqs.deleteQueue(queueURL: queue)
        await #expect(throws: AWSError.self) { _ = try await sqs.receiveMessages(queueURL: queue) }
    }
}
