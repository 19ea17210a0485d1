import Foundation

/// Where requests for one AWS service go and how they are signed: the signing name
/// (`s3`, `sqs`), the region, and the base URL (AWS's own, or a custom one such as an
/// S3-compatible store or moto's `http://127.0.0.1:PORT`).
public struct AWSEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// The signing name, also the first label of AWS's host names: `s3`, `sqs`.
    public let service: String
    public let region: String
    /// Scheme, host, optional port and optional base path; never a query.
    public let url: URL
    /// Whether `url` was given (an S3-compatible store, a local emulator) rather than derived
    /// from the region. S3 uses path-style addressing on custom endpoints, whose host names
    /// rarely resolve per bucket.
    public let isCustom: Bool

    /// AWS's endpoint for `service` in `region` (`https://s3.eu-west-1.amazonaws.com`), or
    /// `customURL` when given.
    public init(service: String, region: String, customURL: URL? = nil) throws(AWSError) {
        guard !service.isEmpty, service.unicodeScalars.allSatisfy({ $0.isVisibleASCII && $0 != "/" && $0 != "." }) else {
            throw AWSError(.configuration, "the service name \(quotedForError(service)) is not a signing name such as s3 or sqs")
        }
        guard !region.isEmpty, region.utf8.allSatisfy({ byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }) else {
            throw AWSError(.configuration, "the region \(quotedForError(region)) is not a region name such as us-east-1")
        }
        self.service = service
        self.region = region
        if let customURL {
            guard let components = URLComponents(url: customURL, resolvingAgainstBaseURL: false),
                  let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  let host = components.host, !host.isEmpty,
                  components.query == nil, components.fragment == nil, components.user == nil
            else {
                throw AWSError(.configuration, "the \(service) endpoint \(quotedForError(customURL.absoluteString)) is not an http(s)://host[:port][/path] URL")
            }
            self.url = customURL
            self.isCustom = true
        } else {
            // China's partition has its own domain; every other commercial region shares one.
            let domain = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
            self.url = URL(string: "https://\(service).\(region).\(domain)")!
            self.isCustom = false
        }
    }

    /// The endpoint the AWS conventions name: `AWS_ENDPOINT_URL_<SERVICE>` (e.g.
    /// `AWS_ENDPOINT_URL_S3`), then `AWS_ENDPOINT_URL`, then AWS's own; `explicitURL` (a
    /// setting of the application, such as `TRAINYARD_S3_ENDPOINT`) comes before all of them.
    /// The region: `explicitRegion`, then `AWS_REGION`, `AWS_DEFAULT_REGION`, the `region` of the
    /// profile in the shared config files (`AWS_PROFILE`, else `default`), then `us-east-1`.
    public static func resolve(service: String, region explicitRegion: String? = nil, url explicitURL: URL? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(AWSError) -> AWSEndpoint {
        func nonEmpty(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        let region = explicitRegion.flatMap { $0.isEmpty ? nil : $0 } ?? nonEmpty("AWS_REGION") ?? nonEmpty("AWS_DEFAULT_REGION")
            ?? SharedFilesCredentialsSource(environment: environment).region() ?? "us-east-1"
        let serviceVariable = "AWS_ENDPOINT_URL_" + service.uppercased().replacingOccurrences(of: "-", with: "_")
        var url = explicitURL
        for variable in [serviceVariable, "AWS_ENDPOINT_URL"] where url == nil {
            guard let text = nonEmpty(variable) else { continue }
            guard let parsed = URL(string: text) else {
                throw AWSError(.configuration, "\(variable) \(quotedForError(text)) is not a URL")
            }
            url = parsed
        }
        return try AWSEndpoint(service: service, region: region, customURL: url)
    }

    public var description: String { "\(service) in \(region) at \(url.absoluteString)" }
}
