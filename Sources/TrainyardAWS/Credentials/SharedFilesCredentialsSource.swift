import Foundation

/// Static keys of a profile in the shared files: `AWS_SHARED_CREDENTIALS_FILE` (default
/// `~/.aws/credentials`, sections `[name]`) and `AWS_CONFIG_FILE` (default `~/.aws/config`,
/// sections `[profile name]`), the profile named by `AWS_PROFILE` (or `AWS_DEFAULT_PROFILE`),
/// else `default`. A key in the credentials file wins over the same key in the config file.
///
/// Only `aws_access_key_id`, `aws_secret_access_key` and `aws_session_token` are understood.
/// A profile that gets its credentials otherwise (`role_arn` to assume a role, `sso_*`,
/// `credential_process`, `web_identity_token_file`) is refused with an error saying so, rather
/// than silently passed over for another source's credentials.
public struct SharedFilesCredentialsSource: AWSCredentialsSource {
    public let environment: [String: String]
    public let homeDirectory: URL
    public var name: String { "shared credentials files" }

    /// Settings that mean "credentials come from elsewhere", which this reader does not do.
    static let unsupportedSettings: [(key: String, what: String)] = [
        ("role_arn", "role_arn (assuming a role through STS)"),
        ("sso_session", "sso_session (IAM Identity Center)"),
        ("sso_start_url", "sso_start_url (IAM Identity Center)"),
        ("sso_account_id", "sso_account_id (IAM Identity Center)"),
        ("credential_process", "credential_process (an external program)"),
        ("web_identity_token_file", "web_identity_token_file (web identity federation)"),
        ("login_session", "login_session (console sign-in)"),
    ]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                homeDirectory: URL = FileManager.default.homeDirectoryForCurrentUser) {
        self.environment = environment
        self.homeDirectory = homeDirectory
    }

    func setting(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// The profile asked for, and whether it was asked for explicitly (then a missing one is an error).
    public var profileName: (name: String, explicit: Bool) {
        if let name = setting("AWS_PROFILE") ?? setting("AWS_DEFAULT_PROFILE") { return (name, true) }
        return ("default", false)
    }

    public var credentialsFile: URL { file(setting("AWS_SHARED_CREDENTIALS_FILE"), default: ".aws/credentials") }
    public var configFile: URL { file(setting("AWS_CONFIG_FILE"), default: ".aws/config") }

    private func file(_ path: String?, default relative: String) -> URL {
        guard let path else { return homeDirectory.appendingPathComponent(relative) }
        if path == "~" || path.hasPrefix("~/") {
            return homeDirectory.appendingPathComponent(String(path.dropFirst(min(2, path.count))))
        }
        return URL(fileURLWithPath: path)
    }

    /// The profile's settings, credentials file over config file; `nil` if neither has it.
    public func settings() throws(AWSError) -> [String: String]? {
        let (profile, _) = profileName
        let fromCredentials = try AWSProfileFile.load(credentialsFile, kind: .credentials)?.profiles[profile]
        let fromConfig = try AWSProfileFile.load(configFile, kind: .config)?.profiles[profile]
        guard fromCredentials != nil || fromConfig != nil else { return nil }
        return (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { _, credentials in credentials }
    }

    /// The profile's `region` (for endpoint resolution), if it names one.
    public func region() -> String? {
        guard let region = (try? settings())??["region"], !region.isEmpty else { return nil }
        return region
    }

    public func load() async throws -> ExpiringCredentials? {
        let (profile, explicit) = profileName
        guard let settings = try settings() else {
            if explicit {
                throw AWSError(.credentials, "the AWS profile '\(profile)' (AWS_PROFILE) is in neither \(credentialsFile.path) nor \(configFile.path)")
            }
            return nil
        }
        let id = settings["aws_access_key_id"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = settings["aws_secret_access_key"].flatMap { $0.isEmpty ? nil : $0 }
        let token = settings["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
        let source = "profile \(profile) in the shared files"
        guard let id, let secret else {
            if let unsupported = Self.unsupportedSettings.first(where: { settings[$0.key] != nil }) {
                throw AWSError(.credentials, "the AWS profile '\(profile)' gets its credentials through \(unsupported.what), which Trainyard does not support: only static keys (aws_access_key_id, aws_secret_access_key, aws_session_token) are read from profiles; use such keys, the AWS_* environment variables, an ECS task role or an EC2 instance profile")
            }
            if id != nil || secret != nil {
                throw AWSError(.credentials, "the AWS profile '\(profile)' has \(id == nil ? "aws_secret_access_key but no aws_access_key_id" : "aws_access_key_id but no aws_secret_access_key")")
            }
            if explicit {
                throw AWSError(.credentials, "the AWS profile '\(profile)' (AWS_PROFILE) holds no aws_access_key_id / aws_secret_access_key")
            }
            // A default profile with only settings (a region) is no source of credentials.
            return nil
        }
        do {
            return ExpiringCredentials(try AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token), source: source)
        } catch {
            throw AWSError(.credentials, "the keys of AWS profile '\(profile)' cannot be used: \(error.message)")
        }
    }
}
