import AsyncHTTPClient
import NIOHTTP1
import Foundation

/// The credentials of an EC2 instance profile, from the instance metadata service with IMDSv2
/// sessions: `PUT /latest/api/token` (a session token), then
/// `GET /latest/meta-data/iam/security-credentials/` (the role's name), then
/// `GET …/security-credentials/{role}` (the credentials), each with the session token.
///
/// Off EC2 the service does not answer: short timeouts and a single retry keep the chain from
/// hanging there. `AWS_EC2_METADATA_DISABLED=true` turns the source off;
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves it (e.g. to the IPv6 address, or a test server).
/// IMDSv1 (no session token) is not used.
public struct InstanceMetadataCredentialsSource: AWSCredentialsSource {
    public let environment: [String: String]
    public let baseURL: URL
    public let httpClient: HTTPClient
    public let timeout: Duration
    public let attempts: Int
    public var name: String { "EC2 instance metadata (IMDSv2)" }

    /// How long a metadata session token lives (the service allows up to 6 hours).
    static let tokenLifetimeSeconds = 21_600

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, baseURL: URL? = nil,
                httpClient: HTTPClient = AWSHTTPClient.shared, timeout: Duration = .seconds(1), attempts: Int = 2) {
        self.environment = environment
        let configured = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : URL(string: $0) }
        self.baseURL = baseURL ?? configured ?? URL(string: "http://169.254.169.254")!
        self.httpClient = httpClient
        self.timeout = timeout
        self.attempts = max(1, attempts)
    }

    public var isDisabled: Bool { environment["AWS_EC2_METADATA_DISABLED"]?.trimmingCharacters(in: .whitespaces).lowercased() == "true" }

    private func url(_ path: String) -> URL {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + path)!
    }

    public func load() async throws -> ExpiringCredentials? {
        guard !isDisabled else { return nil }
        // No answer to the token request means no metadata service: not on EC2.
        guard let token = try await sessionToken() else { return nil }
        let listing = try await get("/latest/meta-data/iam/security-credentials/", token: token)
        guard listing.status == 200 else {
            if listing.status == 404 { return nil } // an instance without a role
            throw AWSError(.credentials, "the EC2 instance metadata service answered HTTP \(listing.status) when asked for the instance's role")
        }
        guard let role = String(decoding: listing.body, as: UTF8.self).split(whereSeparator: \.isNewline).first
            .map({ $0.trimmingCharacters(in: .whitespaces) }), !role.isEmpty,
            role.unicodeScalars.allSatisfy({ $0.isVisibleASCII && $0 != "/" && $0 != "?" && $0 != "#" })
        else {
            throw AWSError(.credentials, "the EC2 instance metadata service named no usable IAM role for this instance")
        }
        let answer = try await get("/latest/meta-data/iam/security-credentials/\(role)", token: token)
        guard answer.status == 200 else {
            throw AWSError(.credentials, "the EC2 instance metadata service answered HTTP \(answer.status) for the credentials of role \(role)")
        }
        return try CredentialsEndpointHTTP.credentials(from: answer.body, source: "EC2 instance profile \(role)")
    }

    /// The IMDSv2 session token, or `nil` when the service does not answer at all.
    func sessionToken() async throws -> String? {
        let answer: CredentialsEndpointHTTP.Answer
        do {
            answer = try await request(.PUT, "/latest/api/token", headers: [("X-aws-ec2-metadata-token-ttl-seconds", "\(Self.tokenLifetimeSeconds)")])
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return nil
        }
        guard answer.status == 200 else {
            throw AWSError(.credentials, "the EC2 instance metadata service refused a session token (HTTP \(answer.status)); IMDSv1 is not used")
        }
        let token = String(decoding: answer.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, token.unicodeScalars.allSatisfy(\.isVisibleASCII) else {
            throw AWSError(.credentials, "the EC2 instance metadata service gave an unusable session token")
        }
        return token
    }

    private func get(_ path: String, token: String) async throws -> CredentialsEndpointHTTP.Answer {
        do {
            return try await request(.GET, path, headers: [("X-aws-ec2-metadata-token", token)])
        } catch let error as AWSError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw AWSError(.credentials, "the EC2 instance metadata service stopped answering: \(AWSClient.describe(error))")
        }
    }

    /// One call, retried on no answer and on 5xx.
    private func request(_ method: HTTPMethod, _ path: String, headers: [(String, String)]) async throws -> CredentialsEndpointHTTP.Answer {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let answer = try await CredentialsEndpointHTTP.fetch(httpClient, method: method, url: url(path), headers: headers, timeout: timeout)
                if answer.status >= 500, attempt < attempts { continue }
                return answer
            } catch {
                if Task.isCancelled { throw CancellationError() }
                if error is AWSError || attempt >= attempts { throw error }
            }
        }
    }
}
