import Foundation

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, for temporary keys, `AWS_SESSION_TOKEN`
/// (the older `AWS_ACCESS_KEY` / `AWS_SECRET_KEY` names too, as the SDKs accept them).
public struct EnvironmentCredentialsSource: AWSCredentialsSource {
    public let environment: [String: String]
    public var name: String { "environment" }

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    public func load() async throws -> ExpiringCredentials? {
        func value(_ names: String...) -> String? {
            for name in names {
                if let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { return value }
            }
            return nil
        }
        let id = value("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY")
        let secret = value("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
        switch (id, secret) {
        case (nil, nil):
            return nil
        case (.some, nil):
            throw AWSError(.credentials, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or neither")
        case (nil, .some):
            throw AWSError(.credentials, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or neither")
        case (let id?, let secret?):
            do {
                let credentials = try AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN"))
                return ExpiringCredentials(credentials, source: name)
            } catch {
                throw AWSError(.credentials, "the AWS_* credentials in the environment cannot be used: \(error.message)")
            }
        }
    }
}
