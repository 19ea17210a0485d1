import AsyncHTTPClient
import NIOHTTP1
import Foundation

/// The credentials of an ECS task role (or EKS Pod Identity), from the container credentials
/// endpoint the agent announces:
///
/// - `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`: a path on `http://169.254.170.2` (ECS);
/// - `AWS_CONTAINER_CREDENTIALS_FULL_URI`: a whole URL, `https`, or `http` to a loopback address or
///   one of the container agents' own addresses (so the token is never sent elsewhere in clear),
///   with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `AWS_CONTAINER_AUTHORIZATION_TOKEN` as the
///   `Authorization` header.
///
/// The credentials are temporary; ``AWSCredentialsChain`` refreshes them before they expire.
public struct ContainerCredentialsSource: AWSCredentialsSource {
    public let environment: [String: String]
    /// The host of relative URIs; a test points it at its own server.
    public let relativeBase: URL
    public let httpClient: HTTPClient
    public let timeout: Duration
    public let attempts: Int
    public var name: String { "ECS container credentials endpoint" }

    /// http hosts a full URI may use besides loopback addresses: the ECS and EKS agents'.
    static let agentHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "[fd00:ec2::23]"]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                relativeBase: URL = URL(string: "http://169.254.170.2")!, httpClient: HTTPClient = AWSHTTPClient.shared,
                timeout: Duration = .seconds(2), attempts: Int = 3) {
        self.environment = environment
        self.relativeBase = relativeBase
        self.httpClient = httpClient
        self.timeout = timeout
        self.attempts = max(1, attempts)
    }

    func setting(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// The endpoint and the authorization header value, or `nil` when not in a container with a role.
    func target() throws(AWSError) -> (url: URL, authorization: String?)? {
        if let relative = setting("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            guard relative.hasPrefix("/"), let url = URL(string: relativeBase.absoluteString + relative) else {
                throw AWSError(.credentials, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path starting with '/'")
            }
            return (url, nil)
        }
        guard let full = setting("AWS_CONTAINER_CREDENTIALS_FULL_URI") else { return nil }
        guard let url = URL(string: full), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else {
            throw AWSError(.credentials, "AWS_CONTAINER_CREDENTIALS_FULL_URI \(quotedForError(full)) is not a URL")
        }
        guard scheme == "https" || (scheme == "http" && (Self.isLoopback(host) || Self.agentHosts.contains(host))) else {
            throw AWSError(.credentials, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback address or the ECS/EKS agent (169.254.170.2, 169.254.170.23), not \(host)")
        }
        var authorization: String?
        if let tokenFile = setting("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            do {
                let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: tokenFile))
                defer { try? handle.close() }
                let data = try handle.read(upToCount: 16 << 10) ?? Data()
                authorization = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw AWSError(.credentials, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(tokenFile): \(error.localizedDescription)")
            }
        } else {
            authorization = setting("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        }
        if let authorization, authorization.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw AWSError(.credentials, "the container authorization token holds a control character")
        }
        return (url, authorization)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    public func load() async throws -> ExpiringCredentials? {
        guard let (url, authorization) = try target() else { return nil }
        var lastProblem = ""
        for attempt in 1...attempts {
            do {
                let answer = try await CredentialsEndpointHTTP.fetch(
                    httpClient, method: .GET, url: url, headers: authorization.map { [("Authorization", $0)] } ?? [], timeout: timeout)
                if answer.status == 200 {
                    return try CredentialsEndpointHTTP.credentials(from: answer.body, source: "ECS task role")
                }
                lastProblem = "HTTP \(answer.status)"
                // 4xx: the agent refused (wrong token, no role); asking again will not change it.
                if (400..<500).contains(answer.status), answer.status != 429 { break }
            } catch let error as AWSError {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                lastProblem = AWSClient.describe(error)
            }
            if attempt < attempts { try await Task.sleep(for: .milliseconds(100 * attempt)) }
        }
        throw AWSError(.credentials, "the ECS container credentials endpoint \(url.host ?? "") gave no credentials: \(lastProblem)")
    }
}
