import Foundation
import Synchronization
import Testing
@testable import TrainyardAWS

/// The transport against a scripted local server: what is retried, how often, and what the
/// error says when it gives up.
@Suite("AWSClient retries and errors")
struct AWSClientRetryTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let token = "FQoGZXIvYXdzEXAMPLETOKEN"

    /// Fast retries: the behaviour, not the waiting, is under test.
    static func client(_ server: FakeHTTPServer, service: String = "s3", attempts: Int = 4) throws -> AWSClient {
        let credentials = try AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: secret, sessionToken: token)
        return AWSClient(endpoint: try AWSEndpoint(service: service, region: "us-east-1", customURL: server.url),
                         credentials: StaticCredentialsProvider(credentials),
                         configuration: .init(retry: AWSRetryPolicy(maximumAttempts: attempts, baseDelay: .milliseconds(1),
                                                                    maximumDelay: .milliseconds(5))))
    }

    static func s3Error(_ code: String, _ message: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code><Message>\(message)</Message><RequestId>REQ-\(code)</RequestId></Error>"
    }

    @Test func slowDownTwiceThenSuccessSucceeds() async throws {
        let calls = Mutex(0)
        let server = try await FakeHTTPServer.start { _ in
            let call = calls.withLock { $0 += 1; return $0 }
            return call <= 2 ? .status(503, Self.s3Error("SlowDown", "Please reduce your request rate."))
                : .status(200, "hello", headers: [("x-amz-request-id", "OK-1")])
        }
        defer { Task { try? await server.stop() } }
        let response = try await Self.client(server).send(AWSRequest(operation: "GetObject", method: "GET", path: "/bucket/key"))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "hello")
        #expect(response.head.requestID == "OK-1")
        #expect(server.requests.count == 3)
        // Every attempt is signed afresh and carries the payload hash S3 requires.
        for request in server.requests {
            #expect(request.headers["authorization"]?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") == true)
            #expect(request.headers["x-amz-content-sha256"] == SigV4PayloadHash.emptyBody.value)
            #expect(request.headers["x-amz-security-token"] == Self.token)
        }
    }

    @Test func alwaysFailingFailsAfterTheConfiguredAttemptsWithAClearError() async throws {
        let server = try await FakeHTTPServer.start { _ in
            .status(500, Self.s3Error("InternalError", "We encountered an internal error. Please try again."))
        }
        defer { Task { try? await server.stop() } }
        do {
            _ = try await Self.client(server, attempts: 3).send(AWSRequest(operation: "PutObject", method: "PUT", path: "/bucket/a b.txt",
                                                                           body: Data("x".utf8)))
            Issue.record("expected an error")
        } catch let error as AWSError {
            #expect(error.kind == .service)
            #expect(error.status == 500)
            #expect(error.code == "InternalError")
            #expect(error.requestID == "REQ-InternalError")
            #expect(error.attempts == 3)
            let text = "\(error)"
            #expect(text.contains("PUT s3/bucket/a b.txt (PutObject)"))
            #expect(text.contains("InternalError: We encountered an internal error"))
            #expect(text.contains("after 3 attempts"))
            #expect(!text.contains(Self.secret) && !text.contains(Self.token))
        }
        #expect(server.requests.count == 3)
        // The path went out percent-encoded.
        #expect(server.requests.first?.path == "/bucket/a%20b.txt")
    }

    @Test func aClientErrorIsNotRetried() async throws {
        let server = try await FakeHTTPServer.start { _ in .status(404, Self.s3Error("NoSuchKey", "The specified key does not exist.")) }
        defer { Task { try? await server.stop() } }
        let error = await #expect(throws: AWSError.self) {
            _ = try await Self.client(server).send(AWSRequest(operation: "GetObject", method: "GET", path: "/bucket/missing"))
        }
        #expect(error?.isNotFound == true)
        #expect(error?.code == "NoSuchKey")
        #expect(server.requests.count == 1)
    }

    @Test func throttlingCodesAreRetriedWhateverTheStatus() async throws {
        let calls = Mutex(0)
        // SQS's JSON protocol: a 400 whose code says "throttled".
        let server = try await FakeHTTPServer.start { _ in
            let call = calls.withLock { $0 += 1; return $0 }
            if call == 1 {
                return .status(400, #"{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}"#,
                               headers: [("x-amzn-RequestId", "JSON-1")])
            }
            return .status(200, "{}")
        }
        defer { Task { try? await server.stop() } }
        let response = try await Self.client(server, service: "sqs").send(AWSRequest(
            operation: "ListQueues", method: "POST", headers: [HTTPField("X-Amz-Target", "AmazonSQS.ListQueues")], body: Data("{}".utf8)))
        #expect(response.status == 200)
        #expect(server.requests.count == 2)
        // Not S3: no content hash header.
        #expect(server.requests.first?.headers["x-amz-content-sha256"] == nil)
    }

    @Test func jsonAndQueryErrorsAreRead() async throws {
        let server = try await FakeHTTPServer.start { request in
            if request.path == "/json" {
                return .status(400, #"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#,
                               headers: [("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"), ("x-amzn-RequestId", "R-J")])
            }
            return .status(400, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>Bad &amp; wrong</Message></Error><RequestId>R-Q</RequestId></ErrorResponse>")
        }
        defer { Task { try? await server.stop() } }
        let client = try Self.client(server, service: "sqs")
        let json = await #expect(throws: AWSError.self) { _ = try await client.send(AWSRequest(operation: "GetQueueUrl", method: "POST", path: "/json")) }
        #expect(json?.code == "AWS.SimpleQueueService.NonExistentQueue")
        #expect(json?.message == "The specified queue does not exist.")
        #expect(json?.requestID == "R-J")
        #expect(json?.isNotFound == true)
        let query = await #expect(throws: AWSError.self) { _ = try await client.send(AWSRequest(operation: "SendMessage", method: "POST", path: "/query")) }
        #expect(query?.code == "InvalidParameterValue")
        #expect(query?.message == "Bad & wrong")
        #expect(query?.requestID == "R-Q")
    }

    @Test func droppedConnectionsAreRetriedThenReported() async throws {
        let calls = Mutex(0)
        let server = try await FakeHTTPServer.start { _ in
            calls.withLock { $0 += 1; return $0 } == 1 ? .dropConnection : .status(200, "ok")
        }
        defer { Task { try? await server.stop() } }
        let response = try await Self.client(server).send(AWSRequest(operation: "GetObject", method: "GET", path: "/b/k"))
        #expect(response.status == 200)
        #expect(server.requests.count == 2)

        let alwaysDropping = try await FakeHTTPServer.start { _ in .dropConnection }
        defer { Task { try? await alwaysDropping.stop() } }
        let error = await #expect(throws: AWSError.self) {
            _ = try await Self.client(alwaysDropping, attempts: 3).send(AWSRequest(operation: "GetObject", method: "GET", path: "/b/k"))
        }
        #expect(error?.kind == .connection)
        #expect(error?.attempts == 3)
        #expect(alwaysDropping.requests.count == 3)
    }

    @Test func nothingListeningIsAConnectionErrorAfterRetries() async throws {
        // A port that was just free: bind a server, note its port, stop it.
        let server = try await FakeHTTPServer.start { _ in .status(200) }
        let url = server.url
        try await server.stop()
        let credentials = try AWSCredentials(accessKeyID: "AKID", secretAccessKey: Self.secret)
        // HTTPClient keeps trying to connect until its connect timeout: keep that short here.
        let http = AWSHTTPClient.make(connectTimeout: .milliseconds(300))
        let client = AWSClient(endpoint: try AWSEndpoint(service: "s3", region: "us-east-1", customURL: url),
                               credentials: StaticCredentialsProvider(credentials), httpClient: http,
                               configuration: .init(retry: AWSRetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(1))))
        let error = await #expect(throws: AWSError.self) {
            _ = try await client.send(AWSRequest(operation: "HeadBucket", method: "HEAD", path: "/b"))
        }
        try await http.shutdown()
        #expect(error?.kind == .connection)
        #expect(error?.attempts == 2)
        #expect(!"\(error.map { "\($0)" } ?? "")".contains(Self.secret))
    }

    @Test func aSkewedClockIsCorrectedFromTheServersDate() async throws {
        let calls = Mutex(0)
        let server = try await FakeHTTPServer.start { _ in
            if calls.withLock({ $0 += 1; return $0 }) == 1 {
                return .status(403, Self.s3Error("RequestTimeTooSkewed", "The difference between the request time and the current time is too large."),
                               headers: [("Date", "Wed, 21 Oct 2015 07:28:00 GMT")])
            }
            return .status(200)
        }
        defer { Task { try? await server.stop() } }
        _ = try await Self.client(server).send(AWSRequest(operation: "GetObject", method: "GET", path: "/b/k"))
        #expect(server.requests.count == 2)
        #expect(server.requests.last?.headers["x-amz-date"]?.hasPrefix("20151021T") == true)
    }

    @Test func anExpiredTokenMakesTheProviderLoadAgain() async throws {
        final class CountingProvider: AWSCredentialsProvider {
            let invalidations = Mutex(0)
            func credentials() async throws -> AWSCredentials {
                try AWSCredentials(accessKeyID: "AKID\(invalidations.withLock { $0 })", secretAccessKey: "s")
            }
            func invalidate() async { invalidations.withLock { $0 += 1 } }
        }
        let calls = Mutex(0)
        let server = try await FakeHTTPServer.start { _ in
            calls.withLock { $0 += 1; return $0 } == 1 ? .status(400, Self.s3Error("ExpiredToken", "The provided token has expired.")) : .status(200)
        }
        defer { Task { try? await server.stop() } }
        let provider = CountingProvider()
        let client = AWSClient(endpoint: try AWSEndpoint(service: "s3", region: "us-east-1", customURL: server.url), credentials: provider,
                               configuration: .init(retry: AWSRetryPolicy(maximumAttempts: 3, baseDelay: .milliseconds(1))))
        _ = try await client.send(AWSRequest(operation: "GetObject", method: "GET", path: "/b/k"))
        #expect(provider.invalidations.withLock { $0 } == 1)
        #expect(server.requests.last?.headers["authorization"]?.contains("Credential=AKID1/") == true)
    }

    @Test func fullJitterStaysUnderTheExponentialCeiling() {
        let policy = AWSRetryPolicy(maximumAttempts: 10, baseDelay: .milliseconds(100), maximumDelay: .seconds(2))
        #expect(policy.delay(afterAttempt: 1, random: 1) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 3, random: 1) == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 3, random: 0.5) == .milliseconds(200))
        #expect(policy.delay(afterAttempt: 9, random: 1) == .seconds(2))
        #expect(policy.delay(afterAttempt: 9, random: 0) == .zero)
        for attempt in 1...12 {
            let delay = policy.delay(afterAttempt: attempt)
            #expect(delay >= .zero && delay <= .seconds(2))
        }
    }

    @Test func endpointsFollowTheAWSConventions() throws {
        let aws = try AWSEndpoint.resolve(service: "s3", environment: ["AWS_REGION": "eu-west-3"])
        #expect(aws.url.absoluteString == "https://s3.eu-west-3.amazonaws.com")
        #expect(!aws.isCustom)
        let general = try AWSEndpoint.resolve(service: "sqs", environment: ["AWS_DEFAULT_REGION": "us-west-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"])
        #expect(general.url.absoluteString == "http://127.0.0.1:5000")
        #expect(general.region == "us-west-2")
        #expect(general.isCustom)
        let specific = try AWSEndpoint.resolve(service: "s3", environment: ["AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "http://b:2"])
        #expect(specific.url.absoluteString == "http://b:2")
        let explicit = try AWSEndpoint.resolve(service: "s3", region: "ap-south-1", url: URL(string: "https://minio.local")!,
                                               environment: ["AWS_ENDPOINT_URL_S3": "http://b:2", "AWS_REGION": "us-east-2"])
        #expect(explicit.url.absoluteString == "https://minio.local")
        #expect(explicit.region == "ap-south-1")
        #expect(try AWSEndpoint.resolve(service: "s3", environment: ["AWS_CONFIG_FILE": "/nonexistent/config"]).region == "us-east-1")
        #expect(throws: AWSError.self) { try AWSEndpoint(service: "s3", region: "us east", customURL: nil) }
        #expect(throws: AWSError.self) { try AWSEndpoint(service: "s3", region: "us-east-1", customURL: URL(string: "ftp://x")!) }
    }
}
