import AsyncHTTPClient
import Foundation
import Logging

/// The credentials provider to use: asks its sources in order and keeps the first credentials
/// found, refreshing temporary ones before they expire.
///
/// ``default(environment:httpClient:logger:)`` is AWS's usual order: the environment, the
/// shared files' profile, an ECS task role, an EC2 instance profile. A source that is not set up
/// is passed over; one that is set up but fails stops the search with its error (a broken
/// profile is reported, not hidden behind another identity).
///
/// Credentials with an expiry are loaded again ``refreshMargin`` before it, by one task at a
/// time (concurrent callers wait for that one load). If a refresh fails while the cached
/// credentials have not expired yet, those are used and the failure is logged, so a metadata
/// endpoint's hiccup does not fail requests that could still be signed.
public actor AWSCredentialsChain: AWSCredentialsProvider {
    public nonisolated let sources: [any AWSCredentialsSource]
    public nonisolated let refreshMargin: TimeInterval
    private let now: @Sendable () -> Date
    private let logger: Logger
    private var cached: ExpiringCredentials?
    private var refresh: Task<ExpiringCredentials, any Error>?
    /// How many times the sources were asked (tests observe single-flight refreshes with it).
    public private(set) var loads = 0

    public init(sources: [any AWSCredentialsSource], refreshMargin: TimeInterval = 300,
                now: @escaping @Sendable () -> Date = { Date() }, logger: Logger = Logger(label: "trainyard.aws.credentials")) {
        self.sources = sources
        self.refreshMargin = refreshMargin
        self.now = now
        self.logger = logger
    }

    /// Environment, shared files (profile), ECS task role, EC2 instance metadata.
    public static func `default`(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 httpClient: HTTPClient = AWSHTTPClient.shared,
                                 logger: Logger = Logger(label: "trainyard.aws.credentials")) -> AWSCredentialsChain {
        AWSCredentialsChain(sources: [
            EnvironmentCredentialsSource(environment: environment),
            SharedFilesCredentialsSource(environment: environment),
            ContainerCredentialsSource(environment: environment, httpClient: httpClient),
            InstanceMetadataCredentialsSource(environment: environment, httpClient: httpClient),
        ], logger: logger)
    }

    public func credentials() async throws -> AWSCredentials {
        if let cached, !isDue(cached) { return cached.credentials }
        do {
            return try await refreshed().credentials
        } catch {
            if let cached, let expiration = cached.expiration, expiration > now() {
                logger.warning("refreshing AWS credentials failed; using the current ones until they expire",
                               metadata: ["source": "\(cached.source)", "expires": "\(expiration)", "error": "\(error)"])
                return cached.credentials
            }
            throw error
        }
    }

    public func invalidate() async {
        cached = nil
    }

    /// The credentials in use (for diagnostics: their source and expiry; the secret stays redacted).
    public var current: ExpiringCredentials? { cached }

    private func isDue(_ credentials: ExpiringCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration.timeIntervalSince(now()) <= refreshMargin
    }

    /// Joins the refresh in flight, or starts one.
    private func refreshed() async throws -> ExpiringCredentials {
        if let refresh { return try await refresh.value }
        let task = Task { try await self.loadFromSources() }
        refresh = task
        defer { refresh = nil }
        let loaded = try await task.value
        cached = loaded
        return loaded
    }

    private func loadFromSources() async throws -> ExpiringCredentials {
        loads += 1
        for source in sources {
            if let found = try await source.load() {
                logger.debug("loaded AWS credentials", metadata: [
                    "source": "\(found.source)", "expires": "\(found.expiration.map { "\($0)" } ?? "never")",
                ])
                return found
            }
        }
        throw AWSError(.credentials, "no AWS credentials found; looked in: \(sources.map(\.name).joined(separator: ", ")). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in ~/.aws/credentials (AWS_PROFILE), or run with an ECS task role or EC2 instance profile")
    }
}
