import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The plain (unsigned) HTTP calls the ECS and EC2 metadata endpoints take, bounded in time and
/// size, and the JSON document both answer with.
enum CredentialsEndpointHTTP {
    /// The largest answer read from a metadata endpoint (a credentials document is ~1.5 KB).
    static let maximumBytes = 64 << 10

    struct Answer {
        let status: Int
        let body: Data
    }

    /// One request; throws the HTTP client's error when no answer came (refused, timed out).
    static func fetch(_ client: HTTPClient, method: HTTPMethod, url: URL, headers: [(String, String)],
                      timeout: Duration) async throws -> Answer {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if method == .PUT { request.body = .bytes(ByteBuffer()) }
        let response = try await client.execute(request, timeout: TimeAmount(timeout))
        var body = Data()
        for try await buffer in response.body {
            guard body.count + buffer.readableBytes <= maximumBytes else {
                throw AWSError(.invalidResponse, "the answer of \(url.absoluteString) is larger than \(maximumBytes) bytes")
            }
            body.append(contentsOf: buffer.readableBytesView)
        }
        return Answer(status: Int(response.status.code), body: body)
    }

    /// `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}` (EC2 adds `"Code": "Success"`).
    /// Errors name the field and the source, never a value.
    static func credentials(from body: Data, source: String) throws(AWSError) -> ExpiringCredentials {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw AWSError(.invalidResponse, "\(source) answered with something other than a JSON credentials document")
        }
        if let code = object["Code"] as? String, code != "Success" {
            throw AWSError(.credentials, "\(source) answered Code '\(quotedForError(code, limit: 40))' instead of Success")
        }
        guard let id = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String else {
            throw AWSError(.invalidResponse, "\(source) answered without AccessKeyId and SecretAccessKey")
        }
        let token = object["Token"] as? String
        var expiration: Date?
        if let text = object["Expiration"] as? String {
            guard let date = parseTimestamp(text) else {
                throw AWSError(.invalidResponse, "\(source) answered an Expiration that is not an ISO 8601 time: \(quotedForError(text, limit: 40))")
            }
            expiration = date
        }
        do {
            return ExpiringCredentials(try AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token),
                                       expiration: expiration, source: source)
        } catch {
            throw AWSError(.credentials, "\(source) answered credentials that cannot be used: \(error.message)")
        }
    }

    /// `2024-05-10T12:00:00Z`, with or without fractional seconds.
    static func parseTimestamp(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
