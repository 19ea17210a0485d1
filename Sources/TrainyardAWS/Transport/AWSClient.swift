import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Sends signed requests to one AWS service endpoint, retrying what is worth retrying.
///
/// Every attempt fetches credentials from the provider (so refreshed ones are used as soon as
/// they exist), signs the request with Signature Version 4 as of now, and sends it through a
/// shared `HTTPClient`. Connection errors, timeouts, 5xx, 429 and AWS's throttling codes are
/// retried with exponential backoff and full jitter up to ``AWSRetryPolicy/maximumAttempts``;
/// a refused clock (`RequestTimeTooSkewed`) is corrected from the service's `Date` header and an
/// expired token makes the provider load new credentials before the next attempt. Anything else
/// fails at once with an ``AWSError`` naming the request, status, AWS code, message and request id.
///
/// ```swift
/// let client = AWSClient(endpoint: try .resolve(service: "sqs"), credentials: AWSCredentialsChain.default())
/// let answer = try await client.send(AWSRequest(operation: "ListQueues", method: "POST", path: "/",
///     headers: [HTTPField("Content-Type", "application/x-amz-json-1.0"), HTTPField("X-Amz-Target", "AmazonSQS.ListQueues")],
///     body: Data("{}".utf8)))
/// ```
///
/// The client is a value to share: one per endpoint, used by any number of tasks at once. It
/// does not own the `HTTPClient` it is given (by default the process-wide
/// ``AWSHTTPClient/shared``); whoever created an `HTTPClient` shuts it down.
public final class AWSClient: Sendable {
    public struct Configuration: Sendable {
        public var retry: AWSRetryPolicy
        /// Per attempt, until the answer's status line and headers have arrived (so it includes
        /// sending the body: leave room for a part of a multipart upload on a slow link). Reading
        /// a streamed body is bounded by the `HTTPClient`'s read timeout instead.
        public var requestTimeout: Duration
        /// The largest answer ``AWSClient/send(_:)`` reads into memory; larger ones fail (use
        /// ``AWSClient/send(_:streamingResponse:)`` for objects).
        public var maximumBufferedResponseBytes: Int
        /// The most of an error answer read to find its code and message.
        public var maximumErrorBodyBytes: Int
        /// Sent as `User-Agent` (never signed: proxies rewrite it).
        public var userAgent: String

        public init(retry: AWSRetryPolicy = .default, requestTimeout: Duration = .seconds(300),
                    maximumBufferedResponseBytes: Int = 64 << 20, maximumErrorBodyBytes: Int = 64 << 10,
                    userAgent: String = "trainyard") {
            self.retry = retry
            self.requestTimeout = requestTimeout
            self.maximumBufferedResponseBytes = maximumBufferedResponseBytes
            self.maximumErrorBodyBytes = maximumErrorBodyBytes
            self.userAgent = userAgent
        }
    }

    public let endpoint: AWSEndpoint
    public let credentialsProvider: any AWSCredentialsProvider
    public let configuration: Configuration
    let httpClient: HTTPClient
    let logger: Logger
    let signerOptions: SigV4Signer.Options
    private let keyCache = SigV4SigningKeyCache()
    /// Seconds to add to the local clock, learnt from a `RequestTimeTooSkewed` answer.
    private let clockOffset = Mutex<Double>(0)

    public init(endpoint: AWSEndpoint, credentials: any AWSCredentialsProvider, httpClient: HTTPClient = AWSHTTPClient.shared,
                configuration: Configuration = Configuration(), signerOptions: SigV4Signer.Options? = nil,
                logger: Logger = Logger(label: "trainyard.aws")) {
        self.endpoint = endpoint
        self.credentialsProvider = credentials
        self.httpClient = httpClient
        self.configuration = configuration
        self.signerOptions = signerOptions ?? .defaults(forService: endpoint.service)
        self.logger = logger
    }

    // MARK: - Sending

    /// Sends `request` and reads the whole answer (up to
    /// ``Configuration/maximumBufferedResponseBytes``). Throws ``AWSError`` for an error status.
    public func send(_ request: AWSRequest) async throws -> AWSResponse {
        let limit = configuration.maximumBufferedResponseBytes
        return try await perform(request) { head, body in
            AWSResponse(head: head, body: try await Self.collect(body, upTo: limit, what: "the answer to \(request.operation)"))
        }
    }

    /// Sends `request` and hands a successful answer's head and body stream to `consume`,
    /// which reads as much of the body as it wants, chunk by chunk, while the connection stays
    /// open. Retries happen only before `consume` is called: once it has the answer, an error
    /// (its own, or the connection's while it reads) is thrown as is.
    public func send<Result>(_ request: AWSRequest,
                             streamingResponse consume: (AWSResponseHead, AWSResponseBody) async throws -> Result) async throws -> Result {
        try await perform(request) { head, body in try await consume(head, AWSResponseBody(body)) }
    }

    /// The request line of errors and logs: `PUT s3 /bucket/key (PutObject)`.
    func label(_ request: AWSRequest) -> String {
        let host = request.hostPrefix.isEmpty ? "" : "/\(request.hostPrefix.dropLast())"
        return "\(request.method) \(endpoint.service)\(host)\(request.path) (\(request.operation))"
    }

    private func perform<Result>(_ request: AWSRequest,
                                 _ handle: (AWSResponseHead, HTTPClientResponse.Body) async throws -> Result) async throws -> Result {
        let what = label(request)
        let url = try url(for: request)
        let payloadHash = request.payloadHash ?? .sha256(of: request.body)
        let policy = configuration.retry
        var attempt = 0
        while true {
            attempt += 1
            try Task.checkCancellation()
            let credentials: AWSCredentials
            do {
                credentials = try await credentialsProvider.credentials()
            } catch let error as AWSError {
                throw error.after(attempts: attempt - 1, request: what)
            }
            let httpRequest = try signedRequest(request, url: url, payloadHash: payloadHash, credentials: credentials)

            let response: HTTPClientResponse
            do {
                response = try await httpClient.execute(httpRequest, timeout: TimeAmount(configuration.requestTimeout), logger: logger)
            } catch {
                if Task.isCancelled || error is CancellationError { throw CancellationError() }
                guard Self.isRetryableTransportError(error) else {
                    throw AWSError(.connection, Self.describe(error), request: what, attempts: attempt)
                }
                if attempt < policy.maximumAttempts {
                    try await pause(after: attempt, what: what, because: Self.describe(error), retryAfter: nil)
                    continue
                }
                throw AWSError(.connection, Self.describe(error), request: what, attempts: attempt)
            }

            let head = AWSResponseHead(status: Int(response.status.code), headers: Self.headers(response.headers))
            if (200..<300).contains(head.status) {
                return try await handle(head, response.body)
            }

            let failure: AWSError
            do {
                failure = try await serviceError(head: head, body: response.body, request: request)
            } catch {
                // The error answer broke off: as good as no answer.
                if Task.isCancelled || error is CancellationError { throw CancellationError() }
                if attempt < policy.maximumAttempts {
                    try await pause(after: attempt, what: what, because: Self.describe(error), retryAfter: nil)
                    continue
                }
                throw AWSError(.connection, Self.describe(error), status: head.status, request: what, attempts: attempt)
            }
            if attempt < policy.maximumAttempts, AWSRetryPolicy.isRetryable(status: head.status, code: failure.code) {
                await prepareRetry(after: failure, head: head)
                try await pause(after: attempt, what: what, because: failure.description,
                                retryAfter: head.header("retry-after").flatMap { Double($0) })
                continue
            }
            throw failure.after(attempts: attempt, request: what)
        }
    }

    /// Waits before the next attempt (cancellable), logging why.
    private func pause(after attempt: Int, what: String, because reason: String, retryAfter: Double?) async throws {
        let policy = configuration.retry
        var delay = policy.delay(afterAttempt: attempt)
        if let retryAfter, retryAfter > 0 {
            // A server's Retry-After is a floor, still capped so a hostile answer cannot park us.
            delay = min(max(delay, .milliseconds(Int64(retryAfter * 1000))), policy.maximumDelay)
        }
        logger.debug("retrying AWS request", metadata: [
            "request": "\(what)", "reason": "\(reason)", "attempt": "\(attempt)",
            "max_attempts": "\(policy.maximumAttempts)", "delay": "\(delay)",
        ])
        try await Task.sleep(for: delay)
    }

    /// What to fix before sending again: the clock for `RequestTimeTooSkewed`, the credentials
    /// for an expired token.
    private func prepareRetry(after failure: AWSError, head: AWSResponseHead) async {
        switch failure.code {
        case "RequestTimeTooSkewed", "RequestExpired":
            if let serverDate = head.header("date").flatMap(Self.parseHTTPDate) {
                let offset = serverDate.timeIntervalSinceNow
                clockOffset.withLock { $0 = offset }
                logger.notice("the local clock differs from \(endpoint.service)'s; correcting signatures",
                              metadata: ["offset_seconds": "\(Int(offset))"])
            }
        case "ExpiredToken", "ExpiredTokenException":
            await credentialsProvider.invalidate()
        default:
            break
        }
    }

    // MARK: - Building the request

    /// The full URL: endpoint (with the host prefix) + its base path + the encoded path + query.
    func url(for request: AWSRequest) throws(AWSError) -> URL {
        guard request.path.hasPrefix("/") else {
            throw AWSError(.configuration, "the path \(quotedForError(request.path)) does not start with '/'", request: label(request))
        }
        guard let components = URLComponents(url: endpoint.url, resolvingAgainstBaseURL: false),
              let scheme = components.scheme, let host = components.percentEncodedHost else {
            throw AWSError(.configuration, "the endpoint \(endpoint.url.absoluteString) has no host", request: label(request))
        }
        var basePath = components.percentEncodedPath
        while basePath.hasSuffix("/") { basePath.removeLast() }
        var text = "\(scheme)://\(request.hostPrefix)\(host)"
        if let port = components.port { text += ":\(port)" }
        text += basePath + SigV4URIEncoding.encodePath(request.path)
        if !request.query.isEmpty {
            text += "?" + request.query.map { item in
                let name = SigV4URIEncoding.encode(item.name)
                return item.value.map { "\(name)=\(SigV4URIEncoding.encode($0))" } ?? name
            }.joined(separator: "&")
        }
        guard let url = URL(string: text) else {
            throw AWSError(.configuration, "the request does not form a URL", request: label(request))
        }
        return url
    }

    private func signedRequest(_ request: AWSRequest, url: URL, payloadHash: SigV4PayloadHash,
                               credentials: AWSCredentials) throws -> HTTPClientRequest {
        let now = Date().addingTimeInterval(clockOffset.withLock { $0 })
        let signer = try SigV4Signer(credentials: credentials, region: endpoint.region, service: endpoint.service,
                                     options: signerOptions, keyCache: keyCache)
        let signed = try signer.sign(try SigV4Request(method: request.method, url: url, headers: request.headers),
                                     payloadHash: payloadHash, date: now)
        var httpRequest = HTTPClientRequest(url: url.absoluteString)
        httpRequest.method = HTTPMethod(rawValue: request.method)
        // HTTPClient writes Host itself, from the same URL the signature used.
        for field in signed.headers where field.name.lowercased() != "host" {
            httpRequest.headers.add(name: field.name, value: field.value)
        }
        httpRequest.headers.replaceOrAdd(name: "User-Agent", value: configuration.userAgent)
        if !request.body.isEmpty || ["PUT", "POST"].contains(request.method) {
            // An empty PUT/POST still says `Content-Length: 0` (S3 refuses a PUT without it).
            httpRequest.body = .bytes(ByteBuffer(bytes: request.body))
        }
        return httpRequest
    }

    // MARK: - Reading answers

    /// The error an answer with a non-2xx status stands for.
    private func serviceError(head: AWSResponseHead, body: HTTPClientResponse.Body, request: AWSRequest) async throws -> AWSError {
        let bytes = try await Self.collectPrefix(body, upTo: configuration.maximumErrorBodyBytes)
        let parsed = AWSErrorBody.parse(status: head.status, headers: head.headers, body: bytes)
        var message = parsed.message ?? HTTPStatusText.reason(head.status)
        if let region = head.header("x-amz-bucket-region"), region != endpoint.region, [301, 400, 403].contains(head.status) {
            message += " (the bucket is in \(region), this client signs for \(endpoint.region): set the region to \(region))"
        }
        return AWSError(.service, message, status: head.status, code: parsed.code, requestID: parsed.requestID ?? head.requestID,
                        request: label(request))
    }

    /// The whole body, refused beyond `limit` bytes.
    static func collect(_ body: HTTPClientResponse.Body, upTo limit: Int, what: String) async throws -> Data {
        var data = Data()
        for try await buffer in body {
            guard data.count + buffer.readableBytes <= limit else {
                throw AWSError(.invalidResponse, "\(what) is larger than \(limit) bytes")
            }
            data.append(contentsOf: buffer.readableBytesView)
        }
        return data
    }

    /// At most `limit` bytes of the body; the rest is read and dropped so the connection can be reused.
    static func collectPrefix(_ body: HTTPClientResponse.Body, upTo limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await buffer in body where bytes.count < limit {
            bytes.append(contentsOf: buffer.readableBytesView.prefix(limit - bytes.count))
        }
        return bytes
    }

    static func headers(_ headers: HTTPHeaders) -> [String: String] {
        var merged: [String: String] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            merged[key] = merged[key].map { "\($0),\(value)" } ?? value
        }
        return merged
    }

    // MARK: - Transport errors

    /// HTTPClient errors that mean this request can never be sent (a bad URL, a client already
    /// shut down); everything else (refused, reset, timed out, TLS failure mid-way) may pass later.
    private static let permanentHTTPClientErrors: [HTTPClientError] = [
        .invalidURL, .emptyHost, .emptyScheme, .unsupportedScheme(""), .alreadyShutdown, .invalidHeaderFieldNames([]),
        .invalidHeaderFieldValues([]), .bodyLengthMismatch, .missingSocketPath,
    ]

    static func isRetryableTransportError(_ error: any Error) -> Bool {
        if error is AWSError { return false }
        if let clientError = error as? HTTPClientError {
            if clientError == .cancelled { return false }
            let name = String(describing: clientError)
            // Cases with associated values compare by value: match them by name instead.
            return !permanentHTTPClientErrors.contains { String(describing: $0).prefix(while: { $0 != "(" }) == name.prefix(while: { $0 != "(" }) }
        }
        return true
    }

    static func describe(_ error: any Error) -> String {
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .connectTimeout: return "could not connect in time (connect timeout)"
            case .readTimeout: return "no data arrived in time (read timeout)"
            case .writeTimeout: return "the request could not be written in time (write timeout)"
            case .deadlineExceeded: return "no answer within the request timeout"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return "HTTP client error: \(clientError)"
            }
        }
        return "connection failed: \(error)"
    }

    /// `Wed, 21 Oct 2015 07:28:00 GMT`.
    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
