/// Why a call to AWS failed, in words a person can act on: what was asked (service, method,
/// path), what the service answered (HTTP status, AWS error code, message, request id) or what
/// went wrong on the way, and how many attempts were made.
///
/// Never holds a secret: messages are built from the service's `Code`/`Message`/`RequestId`
/// and the request line, never from headers, signatures or credentials.
public struct AWSError: Error, Sendable, CustomStringConvertible {
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The service answered with an error status (see ``AWSError/status`` and ``AWSError/code``).
        public static let service = Kind("service")
        /// No answer: the connection could not be made, broke, or timed out.
        public static let connection = Kind("connection")
        /// An answer that could not be read (malformed XML or JSON, missing fields, too large).
        public static let invalidResponse = Kind("invalidResponse")
        /// No credentials could be found or loaded.
        public static let credentials = Kind("credentials")
        /// An endpoint, region or request that cannot be sent as configured.
        public static let configuration = Kind("configuration")

        public var description: String { name }
    }

    public let kind: Kind
    /// The HTTP status of the answer, when there was one.
    public let status: Int?
    /// AWS's error code (`NoSuchKey`, `SlowDown`, `AWS.SimpleQueueService.NonExistentQueue`),
    /// or one derived from the status for answers without a body (HEAD: `NotFound`).
    public let code: String?
    public let message: String
    /// `x-amz-request-id` / `x-amzn-RequestId` / the body's `RequestId`: what AWS support asks for.
    public let requestID: String?
    /// `GET s3 /bucket/key`: which request failed (never its query, which may be presigned).
    public let request: String?
    /// How many times the request was sent.
    public let attempts: Int

    public init(_ kind: Kind, _ message: String, status: Int? = nil, code: String? = nil, requestID: String? = nil,
                request: String? = nil, attempts: Int = 0) {
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        self.requestID = requestID
        self.request = request
        self.attempts = attempts
    }

    /// The same error, said of `request` after `attempts` tries.
    func after(attempts: Int, request: String) -> AWSError {
        AWSError(kind, message, status: status, code: code, requestID: requestID, request: request, attempts: attempts)
    }

    public var description: String {
        var text = request.map { "\($0): " } ?? ""
        if let status { text += "HTTP \(status) " }
        if let code { text += "\(code): " }
        text += message
        if let requestID { text += " (request id \(requestID))" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        return text
    }

    /// Whether the service said the object, bucket or queue does not exist.
    public var isNotFound: Bool {
        status == 404 || ["NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchUpload", "AWS.SimpleQueueService.NonExistentQueue",
                          "QueueDoesNotExist"].contains(code ?? "")
    }

    /// Whether a condition (`If-None-Match`, `If-Match`) did not hold: someone else wrote first.
    public var isPreconditionFailed: Bool { status == 412 || code == "PreconditionFailed" }
}
