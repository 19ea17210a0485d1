import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TrainyardCore
import TrainyardServing

/// How each client protocol shapes an error body, so its own client libraries can read it.
///
/// - Trainyard (control API, native, `/predict`, `/ner`): `{"error": {"code", "message", "details"}}`.
/// - KServe V2 (`/v2…`) and TensorFlow Serving (`/v1/models…`): `{"error": "message"}`, as their REST specs define.
/// - MLflow / SageMaker (`/invocations`, `/ping`, `/health`): `{"error_code": "BAD_REQUEST", "message": "…"}`.
///
/// The dialect follows from the request path alone, so every error on a protocol's paths comes in
/// its shape: the route's own errors, a missing token (401), an unknown route (404), a body over
/// the limit (413) and a server fault (500). The status code is the same in every dialect, and
/// the non-Trainyard ones keep the per-field `details` list (and the Trainyard `code`) as extra
/// keys, which their clients ignore. `/openapi.json` declares each route's shape the same way.
enum ErrorDialect: Sendable {
    case trainyard
    case kserveV2
    case tfServing
    case mlflow

    /// The dialect of the routes under `path` (a request path or a route template).
    init(path: String) {
        if path == "/v2" || path.hasPrefix("/v2/") {
            self = .kserveV2
        } else if path == "/v1/models" || path.hasPrefix("/v1/models/") {
            self = .tfServing
        } else if path == "/invocations" || path == "/ping" || path == "/health" {
            self = .mlflow
        } else {
            self = .trainyard
        }
    }

    /// The component schema (`#/components/schemas/…`) of this dialect's error body.
    var schemaName: String {
        switch self {
        case .trainyard: return "Error"
        case .kserveV2, .tfServing: return "ProtocolError"
        case .mlflow: return "MLflowError"
        }
    }

    /// The body of `told` in this dialect (nil for the Trainyard dialect: `ErrorMiddleware` renders the envelope).
    func body(for told: ToldError) -> JSONValue? {
        let (status, code, message, details) = (told.status, told.code, told.message, told.details)
        var body: [String: JSONValue] = [:]
        switch self {
        case .trainyard:
            return nil
        case .kserveV2, .tfServing:
            // Their clients show only the string: it carries the field problems too.
            let listed = details.map { d in d.path.map { "\($0): \(d.message)" } ?? d.message }
            body["error"] = .string(listed.isEmpty ? message : message + " (" + listed.joined(separator: "; ") + ")")
            body["code"] = .string(code)
        case .mlflow:
            body["error_code"] = .string(Self.mlflowCode(status: status))
            body["message"] = .string(message)
        }
        if !details.isEmpty {
            body["details"] = .array(details.map { d in
                var entry: [String: JSONValue] = ["message": .string(d.message)]
                if let path = d.path { entry["path"] = .string(path) }
                return .object(entry)
            })
        }
        return .object(body)
    }

    /// `told` as a response in this dialect; nil for the Trainyard dialect.
    func response(for told: ToldError, headOnly: Bool) -> Response? {
        guard let body = body(for: told) else { return nil }
        var headers = told.headers
        headers[.contentType] = HTTPHelpers.jsonContentType
        if (told.status == 503 || told.status == 429) && headers[.retryAfter] == nil { headers[.retryAfter] = "2" }
        if headOnly { return Response(status: .init(code: told.status), headers: headers) }
        return Response(status: .init(code: told.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: FastJSON.serialize(body))))
    }

    /// MLflow's `error_code` names (mlflow/protos/databricks.proto) for a status.
    static func mlflowCode(status: Int) -> String {
        switch status {
        case 400, 413, 415: return "BAD_REQUEST"
        case 401: return "UNAUTHENTICATED"
        case 403: return "PERMISSION_DENIED"
        case 404: return "RESOURCE_DOES_NOT_EXIST"
        case 409: return "RESOURCE_CONFLICT"
        case 429: return "REQUEST_LIMIT_EXCEEDED"
        case 503: return "TEMPORARILY_UNAVAILABLE"
        case 504: return "DEADLINE_EXCEEDED"
        default: return status < 500 ? "BAD_REQUEST" : "INTERNAL_ERROR"
        }
    }
}
