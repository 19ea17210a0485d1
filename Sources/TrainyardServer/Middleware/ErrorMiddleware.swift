import Foundation
import HTTPTypes
import Hummingbird
import Logging
import TrainyardCore

/// Renders every error as `{"error": {"code", "message", "details"}}`, or in the client
/// protocol's own shape on its paths (`ErrorDialect(path:)`).
///
/// `TrainyardError`s render themselves with their status; Hummingbird's own HTTP errors (route
/// not found, body too large) get the same shape; anything else is an internal error: logged
/// with its description and answered with a bare 500 whose message reveals nothing.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = TrainyardRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, request: request, context: context)
        }
    }

    struct Envelope: Encodable {
        struct Body: Encodable {
            var code: String
            var message: String
            var details: [TrainyardError.Detail]
        }
        var error: Body
    }

    static func response(for error: any Error, request: Request, context: Context) -> Response {
        let told: ToldError
        if let known = ToldError(error) {
            told = known
            if told.status >= 500 {
                context.logger.error("request failed: \(told.code)", metadata: ["error.message": .string(told.message)])
            }
        } else {
            told = ToldError(internal: "internal error; see the server log for request \(context.requestID)")
            context.logger.error("internal error", metadata: ["error.type": .string(String(reflecting: type(of: error))),
                                                                "error.description": .string(String(describing: error))])
        }
        if let dialect = ErrorDialect(path: request.uri.path).response(for: told, headOnly: request.method == .head) {
            return dialect
        }
        let (status, headers) = (told.status, told.headers)
        let body = Envelope.Body(code: told.code, message: told.message, details: told.details)
        if request.method == .head {
            return Response(status: .init(code: status), headers: headers)
        }
        do {
            return try HTTPHelpers.json(Envelope(error: body), status: .init(code: status), headers: headers)
        } catch {
            return Response(status: .internalServerError)
        }
    }

    static func code(forStatus status: Int) -> String {
        switch status {
        case 400: return TrainyardError.Code.invalidArgument.rawValue
        case 401: return TrainyardError.Code.unauthorized.rawValue
        case 403: return TrainyardError.Code.forbidden.rawValue
        case 404: return TrainyardError.Code.notFound.rawValue
        case 405: return "method_not_allowed"
        case 408: return TrainyardError.Code.timeout.rawValue
        case 409: return TrainyardError.Code.conflict.rawValue
        case 413: return TrainyardError.Code.payloadTooLarge.rawValue
        case 415: return TrainyardError.Code.unsupportedMediaType.rawValue
        default: return "http_\(status)"
        }
    }
}

/// What a client is told about an error: its status, code, message, field details and extra
/// headers. nil for a server fault (any other error, or `.internal`), which is logged and
/// answered with a bare 500. Every error shape (the envelope, the protocol dialects) starts here.
struct ToldError {
    var status: Int
    var code: String
    var message: String
    var details: [TrainyardError.Detail]
    var headers: HTTPFields = [:]

    init?(_ error: any Error) {
        switch error {
        case let error as TrainyardError where error.code != .internal:
            (status, code, message, details) = (error.code.httpStatus, error.code.rawValue, error.message, error.details)
            if error.code == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"trainyard\"" }
        case let error as any HTTPResponseError where error.status.code < 500:
            (status, code, details) = (error.status.code, ErrorMiddleware.code(forStatus: error.status.code), [])
            message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            if let http = error as? HTTPError { for field in http.headers where field.name != .contentType { headers.append(field) } }
        default:
            return nil
        }
        bound()
    }

    /// A server fault: 500 with `message`, which must reveal nothing.
    init(internal message: String) {
        (status, code, self.message, details) = (500, TrainyardError.Code.internal.rawValue, message, [])
    }

    /// The most field problems one reply lists, and the longest message it carries.
    static let maxDetails = 100
    static let maxMessageCharacters = 4_000

    /// Keeps a reply readable whatever the request was: a request with ten thousand bad rows, or
    /// a message that quotes client input some code path forgot to clip, stays a few kilobytes.
    private mutating func bound() {
        message = clientEcho(message, limit: Self.maxMessageCharacters)
        if details.count > Self.maxDetails {
            let more = details.count - Self.maxDetails
            details = Array(details.prefix(Self.maxDetails)) + [TrainyardError.Detail(message: "… and \(more) more problem\(more == 1 ? "" : "s")")]
        }
        for i in details.indices {
            details[i].message = clientEcho(details[i].message, limit: 500)
            if let path = details[i].path { details[i].path = clientEcho(path) }
        }
    }
}
