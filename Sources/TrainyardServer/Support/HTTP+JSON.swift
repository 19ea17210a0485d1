import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TrainyardCore

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}

/// Responses and request reading shared by the routes.
enum HTTPHelpers {
    static let jsonContentType = "application/json; charset=utf-8"

    /// `value` as JSON (the project's encoder: sorted keys, ISO-8601 dates).
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let data = try JSON.encode(value)
        var fields = headers
        fields[.contentType] = jsonContentType
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads the whole body, refusing more than `limit` bytes with 413.
    static func readBody(_ request: Request, limit: Int) async throws -> Data {
        var buffer = ByteBuffer()
        for try await chunk in request.body {
            guard buffer.readableBytes + chunk.readableBytes <= limit else { throw tooLarge(limit) }
            var chunk = chunk
            buffer.writeBuffer(&chunk)
        }
        return Data(buffer.readableBytesView)
    }

    static func tooLarge(_ limit: Int) -> TrainyardError {
        TrainyardError(.payloadTooLarge, "the request body is larger than the server's limit of \(limit) bytes (server.max_body_bytes)")
    }

    /// Decodes a JSON body into `T`, turning decoding failures into a 400 naming the field.
    static func decodeBody<T: Decodable>(_ type: T.Type, from data: Data, what: String) throws -> T {
        guard !data.isEmpty else { throw TrainyardError(.invalidArgument, "\(what): the request body is empty; expected a JSON object") }
        do {
            return try JSON.decode(type, from: data)
        } catch let error as DecodingError {
            // The decoder reports some type problems (a number that is not an integer) as a
            // corrupt document: call the body invalid JSON only when it is.
            if case .dataCorrupted(let c) = error, c.codingPath.isEmpty, (try? JSON.decode(JSONValue.self, from: data)) != nil {
                throw TrainyardError(.invalidArgument, "\(what): the body does not have the expected shape (\(clientEcho(c.debugDescription)))")
            }
            throw TrainyardError(.invalidArgument, "\(what): \(describe(error))")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String {
            let s = p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return s.isEmpty ? "the body" : "\"\(s)\""
        }
        switch error {
        case .typeMismatch(let type, let c): return "\(path(c.codingPath)) must be \(typeName(type))"
        case .valueNotFound(let type, let c): return "\(path(c.codingPath)) must be \(typeName(type)), not null"
        case .keyNotFound(let key, let c): return "missing key \(path(c.codingPath + [key]))"
        case .dataCorrupted(let c):
            if c.codingPath.isEmpty { return "the body is not valid JSON" }
            return "\(path(c.codingPath)): \(clientEcho(c.debugDescription))"
        @unknown default: return "the body does not have the expected shape"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type: return "an integer"
        case is String.Type: return "a string"
        case is Double.Type: return "a number"
        case is Bool.Type: return "a boolean"
        default: return "\(type)".hasPrefix("Dictionary") ? "an object" : "of type \(type)"
        }
    }

    /// The media type of the request without parameters, lowercased (`application/json`).
    static func mediaType(_ request: Request) -> String? {
        guard let raw = request.headers[.contentType] else { return nil }
        return mediaType(raw)
    }

    /// The media type of a Content-Type value: before any `;`, trimmed, lowercased; nil if empty.
    /// Works on bytes (it runs on every inference request; Foundation's trimming and
    /// lowercasing cost several percent of a single-row prediction).
    static func mediaType(_ raw: String) -> String? {
        var utf8 = Substring(raw).utf8
        if let semicolon = utf8.firstIndex(of: UInt8(ascii: ";")) { utf8 = utf8[..<semicolon] }
        while let first = utf8.first, first == 0x20 || first == 0x09 { utf8 = utf8.dropFirst() }
        while let last = utf8.last, last == 0x20 || last == 0x09 { utf8 = utf8.dropLast() }
        guard !utf8.isEmpty else { return nil }
        if utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) {
            return String(decoding: utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
        }
        return String(Substring(utf8))
    }
}

/// Typed, validated access to path and query parameters: bad values are 400s that name the
/// parameter, the rule and the value.
enum Params {
    /// A path parameter, percent-decoded (`iris%2Dspecies` is `iris-species`): the router hands
    /// over the raw segment. An invalid escape is a 400 naming the parameter.
    static func path(_ context: TrainyardRequestContext, _ name: String) throws -> String {
        let raw = context.parameters.get(name) ?? ""
        guard raw.contains("%") else { return raw }
        guard let decoded = raw.removingPercentEncoding else {
            throw TrainyardError(.invalidArgument, "path parameter \(name) \"\(clientEcho(raw))\" is not valid percent-encoding")
        }
        return decoded
    }

    static func jobID(_ context: TrainyardRequestContext, _ name: String = "id") throws -> JobID {
        let raw = try path(context, name)
        guard let id = JobID(raw), id >= 1 else {
            throw TrainyardError(.invalidArgument, "job id \"\(clientEcho(raw))\" must be a positive integer")
        }
        return id
    }

    static func model(_ context: TrainyardRequestContext) throws -> ModelName {
        try ModelName(try path(context, "name"))
    }

    static func alias(_ context: TrainyardRequestContext) throws -> AliasName {
        try AliasName(try path(context, "alias"))
    }

    static func version(_ context: TrainyardRequestContext) throws -> Int {
        let raw = try path(context, "version")
        guard let v = Int(raw), v >= 1 else {
            throw TrainyardError(.invalidArgument, "version \"\(clientEcho(raw))\" must be a positive integer")
        }
        return v
    }

    /// Every value of a query parameter; repeated (`?state=a&state=b`) and comma-separated (`?state=a,b`) both work.
    static func all(_ request: Request, _ name: String) -> [String] {
        request.uri.queryParameters[values: Substring(name)]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    static func string(_ request: Request, _ name: String) -> String? {
        guard let v = request.uri.queryParameters[Substring(name)] else { return nil }
        return String(v)
    }

    static func int(_ request: Request, _ name: String, in range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let raw = string(request, name) else { return nil }
        guard let v = Int(raw) else { throw TrainyardError(.invalidArgument, "query parameter \(name)=\"\(clientEcho(raw))\" must be an integer") }
        if let range, !range.contains(v) {
            throw TrainyardError(.invalidArgument, "query parameter \(name)=\(v) must be in [\(range.lowerBound), \(range.upperBound)]")
        }
        return v
    }

    static func bool(_ request: Request, _ name: String) throws -> Bool? {
        guard let raw = string(request, name)?.lowercased() else { return nil }
        switch raw {
        case "", "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw TrainyardError(.invalidArgument, "query parameter \(name)=\"\(clientEcho(raw))\" must be true or false")
        }
    }

    static func enumValue<T: RawRepresentable & CaseIterable>(_ raw: String, _ name: String, as: T.Type) throws -> T where T.RawValue == String {
        guard let v = T(rawValue: raw) else {
            throw TrainyardError(.invalidArgument, "query parameter \(name)=\"\(clientEcho(raw))\" must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }
}
