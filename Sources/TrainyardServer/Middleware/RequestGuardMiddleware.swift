import Foundation
import HTTPTypes
import Hummingbird
import TrainyardCore

/// Applies the configured limits and authenticates the caller, before any route runs.
///
/// - A declared `Content-Length` above `server.max_body_bytes` is refused at once with 413
///   (chunked bodies are cut off by the routes' reader at the same limit).
/// - With tokens configured, a bearer token is looked up (constant-time) and becomes
///   `context.caller`; an unknown token is 401 anywhere, a missing one is 401 under `/api/v1`.
///   Which scope a route needs is checked by the route itself (403), see `APIRoute.scope`.
struct RequestGuardMiddleware: RouterMiddleware {
    typealias Context = TrainyardRequestContext
    let maxBodyBytes: Int
    let tokens: [AccessToken]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.maxUploadSize = maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            throw HTTPHelpers.tooLarge(maxBodyBytes)
        }
        if !tokens.isEmpty {
            if let header = request.headers[.authorization] {
                guard let secret = Self.bearer(header) else {
                    throw TrainyardError(.unauthorized, "the Authorization header must be \"Bearer <token>\"")
                }
                guard let token = tokens.first(where: { Self.constantTimeEqual($0.secret, secret) }) else {
                    throw TrainyardError(.unauthorized, "unknown bearer token")
                }
                context.caller = Caller(name: token.name, scopes: token.scopes)
            } else if request.uri.path.hasPrefix("/api/") {
                throw TrainyardError(.unauthorized, "this server requires a bearer token (Authorization: Bearer <token>)")
            }
        }
        return try await next(request, context)
    }

    static func bearer(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        return secret.isEmpty ? nil : secret
    }

    /// Compares without an early exit on the first differing byte, so response timing does not
    /// reveal how much of a guessed secret is right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(truncatingIfNeeded: x.count ^ y.count)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0 && x.count == y.count
    }
}

/// Checks a route's required scope against the authenticated caller.
enum Authorization {
    static func check(_ scope: AccessToken.Scope?, context: TrainyardRequestContext, authEnabled: Bool) throws {
        guard authEnabled, let scope else { return }
        guard let caller = context.caller else {
            throw TrainyardError(.unauthorized, "this route requires a bearer token with the \(scope.rawValue) scope")
        }
        guard caller.allows(scope) else {
            throw TrainyardError(.forbidden, "token \"\(caller.name)\" lacks the \(scope.rawValue) scope this route requires")
        }
    }
}
