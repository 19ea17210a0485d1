import Foundation

/// One of AWS's shared files (`~/.aws/credentials`, `~/.aws/config`) read into sections of
/// `key = value` pairs, as the CLI and SDKs read them:
///
/// - `[name]` in the credentials file, `[profile name]` in the config file (where the default
///   profile is `[default]`, and `[sso-session x]` / `[services x]` sections are not profiles);
/// - `#` and `;` start a comment line, and a comment after a value when preceded by whitespace;
/// - keys are case-insensitive; an indented line continues the previous key (sub-settings such
///   as `s3 =` + `  max_concurrent_requests = 10`), which credentials never use and are skipped.
public struct AWSProfileFile: Sendable, Equatable {
    public enum Kind: Sendable {
        case credentials
        case config
    }

    /// Profile name → its settings (keys lower-cased). A profile repeated in one file merges,
    /// later values winning.
    public let profiles: [String: [String: String]]

    /// The longest file read: these files hold a few profiles, so more is a mistake or an attack.
    public static let maximumBytes = 1 << 20

    public init(parsing text: String, kind: Kind) {
        var profiles: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                current = nil
                guard let close = line.firstIndex(of: "]") else { continue }
                let header = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                switch kind {
                case .credentials:
                    current = header
                case .config:
                    if header == "default" {
                        current = "default"
                    } else if header.hasPrefix("profile ") || header.hasPrefix("profile\t") {
                        current = header.dropFirst("profile".count).trimmingCharacters(in: .whitespaces)
                    }
                }
                if let name = current, name.isEmpty { current = nil }
                if let name = current, profiles[name] == nil { profiles[name] = [:] }
                continue
            }
            // Continuation lines (indented) belong to a sub-setting: not a key of the profile.
            if rawLine.first == " " || rawLine.first == "\t" { continue }
            guard let profile = current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if let comment = value.firstMatchingCommentStart { value = String(value[..<comment]).trimmingCharacters(in: .whitespaces) }
            guard !key.isEmpty else { continue }
            profiles[profile, default: [:]][key] = value
        }
        self.profiles = profiles
    }

    /// Reads `file`; `nil` when it does not exist.
    public static func load(_ file: URL, kind: Kind) throws(AWSError) -> AWSProfileFile? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            data = try handle.read(upToCount: maximumBytes + 1) ?? Data()
        } catch {
            throw AWSError(.credentials, "cannot read the AWS \(kind) file \(file.path): \(error.localizedDescription)")
        }
        guard data.count <= maximumBytes else {
            throw AWSError(.credentials, "the AWS \(kind) file \(file.path) is larger than \(maximumBytes) bytes")
        }
        return AWSProfileFile(parsing: String(decoding: data, as: UTF8.self), kind: kind)
    }
}

extension String {
    /// Where an inline comment starts: `#` or `;` preceded by whitespace.
    fileprivate var firstMatchingCommentStart: String.Index? {
        var previous: Character?
        for index in indices {
            let character = self[index]
            if (character == "#" || character == ";"), let previous, previous == " " || previous == "\t" { return index }
            previous = character
        }
        return nil
    }
}
