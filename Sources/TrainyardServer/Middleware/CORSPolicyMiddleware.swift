import HTTPTypes
import Hummingbird

/// Cross-origin access for browser clients, limited to the configured origins
/// (`server.cors_origins`; `*` allows any).
///
/// It sits before authentication, so a preflight `OPTIONS` (which carries no token) is answered
/// here, and outside error rendering, so error responses carry the CORS headers too and the page
/// can read a 400's details. Requests from other origins pass through untouched: the browser then
/// withholds the response, which is the point. (Hummingbird's `CORSMiddleware` takes no origin
/// list and sends `Access-Control-Expose-Headers` on preflights only, where browsers ignore it.)
struct CORSPolicyMiddleware: RouterMiddleware {
    typealias Context = TrainyardRequestContext

    let anyOrigin: Bool
    let origins: Set<String>
    static let allowMethods = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
    static let allowHeaders = "Accept, Authorization, Content-Type, Last-Event-ID, X-Request-Id"
    /// Response headers a page may read: which version answered, the request id, when to retry.
    static let exposeHeaders = "X-Trainyard-Model, X-Trainyard-Model-Version, X-Request-Id, Retry-After"

    init(origins: [String]) {
        anyOrigin = origins.contains("*")
        self.origins = Set(origins)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origin != "null", anyOrigin || origins.contains(origin) else {
            return try await next(request, context)
        }
        let allowOrigin = anyOrigin ? "*" : origin
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: allowOrigin,
                .accessControlAllowMethods: Self.allowMethods,
                .accessControlAllowHeaders: Self.allowHeaders,
                .accessControlMaxAge: "600",
                .vary: "Origin",
            ])
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = allowOrigin
        response.headers[.accessControlExposeHeaders] = Self.exposeHeaders
        if !anyOrigin { response.headers[values: .vary].append("Origin") }
        return response
    }
}
