import Foundation

/// Hands out the credentials to sign the next request with. Implementations that load
/// temporary credentials (an ECS task role, an EC2 instance profile) cache them and refresh
/// them before they expire; see ``AWSCredentialsChain``.
public protocol AWSCredentialsProvider: Sendable {
    /// Credentials valid for at least the next few minutes.
    func credentials() async throws -> AWSCredentials
    /// The service refused the credentials as expired: forget any cached ones so that the next
    /// ``credentials()`` loads fresh ones. Does nothing for fixed credentials.
    func invalidate() async
}

extension AWSCredentialsProvider {
    public func invalidate() async {}
}

/// The same credentials every time: given in code or configuration, or in tests.
public struct StaticCredentialsProvider: AWSCredentialsProvider, CustomStringConvertible {
    public let fixed: AWSCredentials

    public init(_ credentials: AWSCredentials) { self.fixed = credentials }

    public func credentials() async throws -> AWSCredentials { fixed }

    public var description: String { "StaticCredentialsProvider(\(fixed))" }
}

/// Credentials and, for temporary ones, when they stop working.
public struct ExpiringCredentials: Sendable, CustomStringConvertible {
    public let credentials: AWSCredentials
    /// `nil` for long-term keys (they do not expire on their own).
    public let expiration: Date?
    /// Where they came from (`environment`, `profile default in /home/u/.aws/credentials`,
    /// `ECS task role`, `EC2 instance profile web-role`), for logs and errors.
    public let source: String

    public init(_ credentials: AWSCredentials, expiration: Date? = nil, source: String) {
        self.credentials = credentials
        self.expiration = expiration
        self.source = source
    }

    public var description: String {
        "\(credentials) from \(source)" + (expiration.map { ", expiring \($0.formatted(.iso8601))" } ?? "")
    }
}
