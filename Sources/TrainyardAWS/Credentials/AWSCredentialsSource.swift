/// One place credentials may come from (the environment, the shared files, an ECS task role,
/// an EC2 instance profile), asked in turn by ``AWSCredentialsChain``.
public protocol AWSCredentialsSource: Sendable {
    /// What the source is, for logs and the "no credentials" error (`environment`, `EC2 instance metadata`).
    var name: String { get }
    /// The credentials this source holds now; `nil` when it is not set up here (the chain asks
    /// the next source). Throws ``AWSError`` (kind `credentials`) when it is set up but
    /// cannot give credentials (a profile that names a missing file, an unreachable ECS
    /// endpoint): a misconfiguration is reported, not skipped over.
    func load() async throws -> ExpiringCredentials?
}
