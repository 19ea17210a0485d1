import Foundation
import Hummingbird
import TrainyardCore

/// One HTTP route: what the router registers and what `/openapi.json` documents, declared once
/// so the two cannot drift (a test compares `Router.routes` with the document).
public struct APIRoute: Sendable {
    public typealias Handler = @Sendable (Request, TrainyardRequestContext) async throws -> Response

    public var method: HTTPRequest.Method
    /// Path template with `{parameter}` captures, as in OpenAPI: `/api/v1/jobs/{id}`.
    public var path: String
    /// The scope a bearer token needs when auth is on; nil = open (health, readiness, the document).
    public var scope: AccessToken.Scope?
    public var operationID: String
    public var summary: String
    public var tag: String
    public var query: [APIParameter]
    public var requestBody: APIRequestBody?
    public var responses: [APIResponse]
    public var handler: Handler

    public init(_ method: HTTPRequest.Method, _ path: String, scope: AccessToken.Scope?, operationID: String, summary: String,
                tag: String, query: [APIParameter] = [], requestBody: APIRequestBody? = nil, responses: [APIResponse],
                handler: @escaping Handler) {
        self.method = method
        self.path = path
        self.scope = scope
        self.operationID = operationID
        self.summary = summary
        self.tag = tag
        self.query = query
        self.requestBody = requestBody
        self.responses = responses
        self.handler = handler
    }

    /// Names of the `{captures}` in `path`, in order.
    public var pathParameters: [String] {
        path.split(separator: "/").compactMap { part in
            // `{name}` or a capture with a suffix, as in TF Serving's `{name}:predict`.
            guard part.hasPrefix("{"), let close = part.firstIndex(of: "}") else { return nil }
            return String(part[part.index(after: part.startIndex)..<close])
        }
    }
}

/// A query (or header) parameter of a route, for the OpenAPI document.
public struct APIParameter: Sendable {
    public var name: String
    public var location: String
    public var description: String
    public var schema: JSONValue
    public var required: Bool

    public init(_ name: String, in location: String = "query", _ description: String, schema: JSONValue = Schema.string, required: Bool = false) {
        self.name = name
        self.location = location
        self.description = description
        self.schema = schema
        self.required = required
    }
}

public struct APIRequestBody: Sendable {
    /// Media type → schema.
    public var content: [String: JSONValue]
    public var description: String
    public var required: Bool

    public init(_ content: [String: JSONValue], description: String, required: Bool = true) {
        self.content = content
        self.description = description
        self.required = required
    }
}

public struct APIResponse: Sendable {
    public var status: Int
    public var description: String
    /// Media type → schema; empty for no body.
    public var content: [String: JSONValue]

    public init(_ status: Int, _ description: String, content: [String: JSONValue] = [:]) {
        self.status = status
        self.description = description
        self.content = content
    }

    public static func json(_ status: Int, _ description: String, _ schema: JSONValue) -> APIResponse {
        APIResponse(status, description, content: ["application/json": schema])
    }

    public static func error(_ status: Int, _ description: String) -> APIResponse {
        .json(status, description, Schema.ref("Error"))
    }
}

/// Small builders for JSON Schema fragments.
public enum Schema {
    public static let string: JSONValue = .object(["type": .string("string")])
    public static let integer: JSONValue = .object(["type": .string("integer")])
    public static let number: JSONValue = .object(["type": .string("number")])
    public static let boolean: JSONValue = .object(["type": .string("boolean")])
    public static let dateTime: JSONValue = .object(["type": .string("string"), "format": .string("date-time")])
    public static let anyValue: JSONValue = .object([:])

    public static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }
    public static func array(_ items: JSONValue) -> JSONValue { .object(["type": .string("array"), "items": items]) }
    public static func nullable(_ schema: JSONValue) -> JSONValue { .object(["oneOf": .array([schema, .object(["type": .string("null")])])]) }
    public static func enumeration(_ values: [String]) -> JSONValue {
        .object(["type": .string("string"), "enum": .array(values.map { .string($0) })])
    }
    public static func map(_ values: JSONValue) -> JSONValue { .object(["type": .string("object"), "additionalProperties": values]) }
    public static func object(_ properties: [String: JSONValue], required: [String] = [], description: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["type": .string("object"), "properties": .object(properties)]
        if !required.isEmpty { o["required"] = .array(required.map { .string($0) }) }
        if let description { o["description"] = .string(description) }
        return .object(o)
    }
    public static func with(_ schema: JSONValue, description: String) -> JSONValue {
        guard case .object(var o) = schema else { return schema }
        o["description"] = .string(description)
        return .object(o)
    }
}
