import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TrainyardCore
import TrainyardServing

/// How each client protocol shapes an error body, so its own client libraries can read it.
///
/// - Trainyard (native, `/predict`, `/ner`): the control API's `{"error": {"code", "message", "details"}}`.
/// - KServe V2 and TensorFlow Serving: `{"error": "message"}`, as their REST specs define.
/// - MLflow / SageMaker: `{"error_code": "BAD_REQUEST", "message": "…"}`, as MLflow's scoring server.
///
/// The status code is the same in every dialect, and the non-Trainyard ones keep the per-field
/// `details` list (and the Trainyard `code`) as extra keys, which their clients ignore.
enum ErrorDialect: Sendable {
    case trainyard
    case kserveV2
    case tfServing
    case mlflow

    /// The response for `error` in this dialect; nil for the Trainyard dialect and for server
    /// faults, which `ErrorMiddleware` renders (and logs).
    func response(for error: any Error) -> Response? {
        guard self != .trainyard, let told = ToldError(error) else { return nil }
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
        var headers: HTTPFields = [.contentType: HTTPHelpers.jsonContentType]
        if status == 503 || status == 429 { headers[.retryAfter] = "2" }
        return Response(status: .init(code: status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: FastJSON.serialize(.object(body)))))
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

    /// Wraps a route handler so its client errors come out in this dialect.
    func wrap(_ handler: @escaping APIRoute.Handler) -> APIRoute.Handler {
        guard self != .trainyard else { return handler }
        return { request, context in
            do {
                return try await handler(request, context)
            } catch {
                if let response = response(for: error) { return response }
                throw error
            }
        }
    }
}
