import Foundation

/// `sqs`: a queue to long-poll and how. Every message received becomes jobs (a spec body, an
/// older system's `{"name": …, "epochs": …}` message through the trigger's spec template, or an
/// S3 event notification) and is deleted once they are enqueued.
public struct SQSSource: Sendable, Equatable, Codable {
    /// The queue URL as SQS gives it (`https://sqs.eu-west-1.amazonaws.com/123456789012/inbox`):
    /// `http(s)://host[:port]/ACCOUNT/QUEUE`. Which hosts this process may call is decided by the
    /// message-queue backend (`MessageQueueProvider`), not here.
    public let queueURL: String
    /// How long one receive waits for a message (long polling): 0–20 s, SQS's range.
    public let waitSeconds: Int
    /// Most messages one receive returns: 1–10, SQS's range.
    public let maxMessages: Int
    /// How long a received message stays hidden from other receivers (SQS's range 0–43 200 s);
    /// nil for the queue's own setting. A message whose job could not be enqueued comes back
    /// after it.
    public let visibilityTimeoutSeconds: Int?

    public static let defaultWaitSeconds = 20
    public static let maxWaitSeconds = 20
    public static let defaultMaxMessages = 10
    public static let maxMaxMessages = 10
    public static let maxVisibilityTimeoutSeconds = 43_200
    /// The longest queue URL accepted (SQS's are well under 200 bytes).
    public static let maxURLBytes = 1024

    /// - Throws: `.invalidArgument` naming the problem: not an http(s) URL, credentials or a
    ///   query in it, a path that is not `/ACCOUNT/QUEUE`, a setting out of SQS's range.
    public init(queueURL: String, waitSeconds: Int = SQSSource.defaultWaitSeconds, maxMessages: Int = SQSSource.defaultMaxMessages,
                visibilityTimeoutSeconds: Int? = nil) throws(TrainyardError) {
        self.queueURL = try Self.checkQueueURL(queueURL)
        guard (0...Self.maxWaitSeconds).contains(waitSeconds) else {
            throw TrainyardError(.invalidArgument, "sqs.wait_seconds must be in 0–\(Self.maxWaitSeconds) (SQS long polling); got \(waitSeconds)")
        }
        guard (1...Self.maxMaxMessages).contains(maxMessages) else {
            throw TrainyardError(.invalidArgument, "sqs.max_messages must be in 1–\(Self.maxMaxMessages) (SQS receives at most 10 at once); got \(maxMessages)")
        }
        if let v = visibilityTimeoutSeconds, !(0...Self.maxVisibilityTimeoutSeconds).contains(v) {
            throw TrainyardError(.invalidArgument, "sqs.visibility_timeout_seconds must be in 0–\(Self.maxVisibilityTimeoutSeconds) (12 hours); got \(v)")
        }
        self.waitSeconds = waitSeconds
        self.maxMessages = maxMessages
        self.visibilityTimeoutSeconds = visibilityTimeoutSeconds
    }

    /// The parts of a queue URL.
    public struct QueueURLParts: Sendable, Equatable {
        /// `http` or `https`.
        public var scheme: String
        /// Lowercased.
        public var host: String
        public var port: Int?
        public var account: String
        public var queueName: String

        /// `scheme://host[:port]`: where requests for the queue go.
        public var endpoint: String { "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")" }
    }

    /// The queue URL's parts, or `.invalidArgument` saying what is wrong with it.
    public static func parts(of text: String) throws(TrainyardError) -> QueueURLParts {
        func refuse(_ why: String) -> TrainyardError {
            TrainyardError(.invalidArgument, "sqs.queue_url \"\(clientEcho(text))\" \(why); expected https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE")
        }
        guard !text.isEmpty, text.utf8.count <= maxURLBytes else { throw refuse("must be 1–\(maxURLBytes) bytes") }
        guard text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            throw refuse("may hold only printable ASCII without spaces")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme) else {
            throw refuse("is not an http(s) URL")
        }
        guard components.user == nil, components.password == nil else { throw refuse("must not hold credentials") }
        guard components.query == nil, components.fragment == nil else { throw refuse("must not have a query or fragment") }
        guard let host = components.host?.lowercased(), !host.isEmpty else { throw refuse("has no host") }
        if let port = components.port, !(1...65_535).contains(port) { throw refuse("has an invalid port") }
        let segments = components.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard segments.count == 2, let account = segments.first, let name = segments.last else {
            throw refuse("must have the path /ACCOUNT/QUEUE")
        }
        guard !account.isEmpty, account.utf8.count <= 64, account.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw refuse("has an invalid account \"\(clientEcho(account))\" (letters and digits)")
        }
        guard isQueueName(name) else {
            throw refuse("has an invalid queue name \"\(clientEcho(name))\" (1–80 letters, digits, - and _, optionally ending in .fifo)")
        }
        return QueueURLParts(scheme: scheme, host: host, port: components.port, account: String(account), queueName: String(name))
    }

    /// SQS's rule: 1–80 characters of letters, digits, `-` and `_`; a FIFO queue's ends in `.fifo`.
    public static func isQueueName(_ name: some StringProtocol) -> Bool {
        let text = String(name)
        let base = text.hasSuffix(".fifo") ? text.dropLast(".fifo".count) : Substring(text)
        return (1...80).contains(text.count) && !base.isEmpty
            && base.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }
    }

    static func checkQueueURL(_ text: String) throws(TrainyardError) -> String {
        _ = try parts(of: text)
        return text
    }

    enum CodingKeys: String, CodingKey {
        case queueURL = "queue_url"
        case waitSeconds = "wait_seconds"
        case maxMessages = "max_messages"
        case visibilityTimeoutSeconds = "visibility_timeout_seconds"
    }

    public init(from decoder: any Decoder) throws {
        try TriggerCoding.refuseUnknownKeys(decoder, allowed: ["queue_url", "wait_seconds", "max_messages", "visibility_timeout_seconds"], in: "sqs")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(queueURL: try c.decode(String.self, forKey: .queueURL),
                          waitSeconds: try c.decodeIfPresent(Int.self, forKey: .waitSeconds) ?? Self.defaultWaitSeconds,
                          maxMessages: try c.decodeIfPresent(Int.self, forKey: .maxMessages) ?? Self.defaultMaxMessages,
                          visibilityTimeoutSeconds: try c.decodeIfPresent(Int.self, forKey: .visibilityTimeoutSeconds))
        } catch let error as TrainyardError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(queueURL, forKey: .queueURL)
        try c.encode(waitSeconds, forKey: .waitSeconds)
        try c.encode(maxMessages, forKey: .maxMessages)
        try c.encodeIfPresent(visibilityTimeoutSeconds, forKey: .visibilityTimeoutSeconds)
    }
}
