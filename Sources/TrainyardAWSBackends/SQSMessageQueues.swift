import Foundation
import Logging
import Synchronization
import TrainyardAWS
import TrainyardCore

/// Opens the SQS queues `sqs` triggers name, deciding which hosts this process may call:
///
/// - AWS's SQS endpoints, over https: `sqs.REGION.amazonaws.com` (`.com.cn` in China),
///   `REGION.queue.amazonaws.com` and `queue.amazonaws.com` (us-east-1); signed for the region
///   in the host;
/// - the configured endpoint (`AWS_ENDPOINT_URL_SQS`, then `AWS_ENDPOINT_URL`: a local moto or
///   ElasticMQ, a VPC endpoint), when the queue URL's scheme, host and port are its own; signed
///   for the configured region (`AWS_REGION`, `AWS_DEFAULT_REGION`, else us-east-1).
///
/// Any other host is refused when the trigger is created: a queue URL must not make the server
/// send signed requests (naming its access key) to a host of the trigger creator's choosing.
/// Credentials come from one provider (by default AWS's chain: environment, shared files, ECS
/// task role, EC2 instance metadata); one `SQSClient` is kept per endpoint.
public final class SQSMessageQueues: MessageQueueProvider {
    /// The custom endpoint queues may also live at, and the region it is signed for.
    public let endpoint: AWSEndpoint
    public let credentials: any AWSCredentialsProvider
    let logger: Logger
    private let clients = Mutex<[String: SQSClient]>([:])

    /// - Parameter endpoint: the SQS endpoint as configured (``AWSEndpoint/resolve(service:region:url:environment:)``);
    ///   when it is custom, queues at its host are served too.
    public init(endpoint: AWSEndpoint, credentials: any AWSCredentialsProvider, logger: Logger = Logger(label: "trainyard.sqs")) {
        self.endpoint = endpoint
        self.credentials = credentials
        self.logger = logger
    }

    /// The endpoint and credentials AWS's conventions name in `environment`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment,
                                       logger: Logger = Logger(label: "trainyard.sqs")) throws -> SQSMessageQueues {
        SQSMessageQueues(endpoint: try AWSEndpoint.resolve(service: "sqs", environment: environment),
                         credentials: AWSCredentialsChain.default(environment: environment), logger: logger)
    }

    public func queue(url: String) throws -> any MessageQueue {
        let endpoint = try endpoint(for: try SQSSource.parts(of: url))
        let key = "\(endpoint.region) \(endpoint.url.absoluteString)"
        let sqs = clients.withLock { clients in
            if let existing = clients[key] { return existing }
            // A long poll answers within 20 s; the rest of the minute is for a slow network.
            let configuration = AWSClient.Configuration(requestTimeout: .seconds(60), maximumBufferedResponseBytes: SQSClient.maximumAnswerBytes)
            let made = SQSClient(client: AWSClient(endpoint: endpoint, credentials: credentials, configuration: configuration, logger: logger))
            clients[key] = made
            return made
        }
        return SQSMessageQueue(sqs: sqs, queueURL: url)
    }

    /// Where requests for the queue at `parts` go, or `.invalidArgument` when that host is not
    /// one this process calls.
    func endpoint(for parts: SQSSource.QueueURLParts) throws(TrainyardError) -> AWSEndpoint {
        if endpoint.isCustom, Self.sameOrigin(parts, endpoint.url) { return endpoint }
        if parts.scheme == "https", parts.port == nil || parts.port == 443, let region = Self.awsRegion(host: parts.host) {
            do {
                let standard = try AWSEndpoint(service: "sqs", region: region)
                if standard.url.host == parts.host { return standard }
                return try AWSEndpoint(service: "sqs", region: region, customURL: URL(string: "https://\(parts.host)")!)
            } catch {
                throw TrainyardError(.invalidArgument, "sqs.queue_url: \(error.message)")
            }
        }
        let configured = endpoint.isCustom ? " or the configured endpoint \(endpoint.url.absoluteString)" : ""
        throw TrainyardError(.invalidArgument, "sqs.queue_url host \(parts.host)\(parts.port.map { ":\($0)" } ?? "") is not an SQS endpoint this server calls: "
                             + "AWS's (https://sqs.REGION.amazonaws.com)\(configured); set AWS_ENDPOINT_URL_SQS where the server runs for another")
    }

    /// The region in an AWS SQS host name, nil for any other host.
    static func awsRegion(host: String) -> String? {
        let labels = host.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func isRegion(_ s: String) -> Bool { !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D } }
        if labels == ["queue", "amazonaws", "com"] { return "us-east-1" }
        if labels.count == 4, labels[0] == "sqs", labels[2...] == ["amazonaws", "com"], isRegion(labels[1]) { return labels[1] }
        if labels.count == 5, labels[0] == "sqs", labels[2...] == ["amazonaws", "com", "cn"], isRegion(labels[1]) { return labels[1] }
        if labels.count == 4, labels[1...] == ["queue", "amazonaws", "com"], isRegion(labels[0]) { return labels[0] }
        return nil
    }

    static func sameOrigin(_ parts: SQSSource.QueueURLParts, _ url: URL) -> Bool {
        guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return false }
        let defaultPort = scheme == "https" ? 443 : 80
        return scheme == parts.scheme && host == parts.host && (url.port ?? defaultPort) == (parts.port ?? defaultPort)
    }
}
