import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import TrainyardCore
import TrainyardRuntime

/// The Hummingbird application type the CLI runs.
public typealias TrainyardApplication = Application<RouterResponder<TrainyardRequestContext>>

/// Builds the HTTP server: control API, operations routes, middleware (request id + access
/// log, CORS when configured, error rendering, body limit + authentication), and its OpenAPI document.
///
/// ```swift
/// try checkBindingSafety(configuration: services.configuration)
/// let app = try TrainyardHTTPServer.makeApplication(services: services, readiness: readiness,
///                                                   extraServices: [workerPool])
/// try await app.runService()       // or put `app` in your own ServiceGroup
/// ```
public enum TrainyardHTTPServer {
    /// The full route table (control API + ops + `/openapi.json` + `extraRoutes`).
    public static func routes(services: TrainyardServices, readiness: Readiness, options: ControlAPI.Options = .init(),
                              extraRoutes: [APIRoute] = []) -> [APIRoute] {
        let api = ControlAPI(services: services, readiness: readiness, options: options)
        var routes = api.routes + extraRoutes
        let authEnabled = !services.configuration.tokens.isEmpty
        // The document describes itself too, so it is built from the table including its own entry.
        let documentBox = DocumentBox()
        let openAPIRoute = APIRoute(.get, "/openapi.json", scope: nil, operationID: "openAPI", summary: "This OpenAPI 3.1 document",
                                    tag: "operations", responses: [.json(200, "The document", Schema.anyValue)]) { _, _ in
            Response(status: .ok, headers: [.contentType: HTTPHelpers.jsonContentType], body: .init(byteBuffer: ByteBuffer(bytes: documentBox.data)))
        }
        routes.append(openAPIRoute)
        documentBox.set((try? JSON.encode(OpenAPIDocument.build(routes: routes, authEnabled: authEnabled), pretty: true)) ?? Data("{}".utf8))
        return routes
    }

    /// The router, for `Application(router:)` and for tests (`app.test(.router)`).
    public static func buildRouter(services: TrainyardServices, readiness: Readiness = Readiness(), options: ControlAPI.Options = .init(),
                                   extraRoutes: [APIRoute] = []) -> Router<TrainyardRequestContext> {
        router(configuration: services.configuration, routes: routes(services: services, readiness: readiness, options: options, extraRoutes: extraRoutes))
    }

    /// A router serving `routes` behind the middleware every Trainyard listener has.
    static func router(configuration: TrainyardConfiguration, routes: [APIRoute]) -> Router<TrainyardRequestContext> {
        let router = Router(context: TrainyardRequestContext.self)
        router.add(middleware: AccessLogMiddleware())
        if !configuration.corsOrigins.isEmpty { router.add(middleware: CORSPolicyMiddleware(origins: configuration.corsOrigins)) }
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: RequestGuardMiddleware(maxBodyBytes: configuration.maxBodyBytes, tokens: configuration.tokens))
        let authEnabled = !configuration.tokens.isEmpty
        for route in routes {
            let scope = route.scope, handler = route.handler
            router.on(RouterPath(route.path), method: route.method) { request, context -> Response in
                try Authorization.check(scope, context: context, authEnabled: authEnabled)
                return try await handler(request, context)
            }
        }
        return router
    }

    /// The server as a runnable application bound to `server.host`/`server.port`.
    ///
    /// Refuses (``checkBindingSafety(configuration:)``) a non-loopback address without tokens
    /// unless `server.insecure`. `extraServices` (a worker pool, triggers) run in the
    /// application's ServiceGroup: started before the server, stopped after it.
    ///
    /// - Parameter onListening: called with the bound port once the server accepts connections.
    public static func makeApplication(services: TrainyardServices, readiness: Readiness = Readiness(), options: ControlAPI.Options = .init(),
                                       extraRoutes: [APIRoute] = [], extraServices: [any Service] = [],
                                       onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> TrainyardApplication {
        let configuration = services.configuration
        try checkBindingSafety(configuration: configuration)
        let router = buildRouter(services: services, readiness: readiness, options: options, extraRoutes: extraRoutes)
        return application(router: router, host: configuration.serverHost, port: configuration.serverPort, services: services,
                           extraServices: extraServices, onListening: onListening)
    }

    /// `router` served on `host:port`, slow or stalled clients cut off (limits.header_seconds /
    /// body_seconds / idle_seconds: the handler is made per connection).
    static func application(router: Router<TrainyardRequestContext>, host: String, port: Int, services: TrainyardServices,
                            extraServices: [any Service], onListening: @escaping @Sendable (Int) async -> Void) -> TrainyardApplication {
        let limits = services.configuration.limits, logger = services.logger
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionDeadlineHandler(limits: limits, logger: logger)])
        return Application(router: router, server: .http1(configuration: http1),
                           configuration: .init(address: .hostname(host, port: port), serverName: "trainyard"),
                           services: extraServices,
                           onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
                           logger: logger)
    }
}

/// Refuses to serve an unauthenticated API beyond this machine.
///
/// A server bound to a non-loopback address (`0.0.0.0`, a LAN address, a hostname other than
/// `localhost`) with no `auth.tokens` would let anyone on the network submit jobs (which run
/// commands) and move aliases; it starts only with `server.insecure` / `--insecure`.
public func checkBindingSafety(configuration: TrainyardConfiguration) throws {
    guard configuration.tokens.isEmpty, !configuration.insecure, !isLoopback(configuration.serverHost) else { return }
    throw TrainyardError(.invalidArgument, """
        refusing to listen on \(configuration.serverHost) without authentication: anyone who can reach it could submit jobs and move aliases. \
        Configure auth.tokens (TRAINYARD_AUTH_TOKENS=name:secret:admin), bind to 127.0.0.1, or pass --insecure (server.insecure: true) to accept the risk
        """)
}

/// Holds the encoded OpenAPI document, filled once after the route table (which serves it) is built.
private final class DocumentBox: Sendable {
    private let value = Mutex(Data())
    func set(_ data: Data) { value.withLock { $0 = data } }
    var data: Data { value.withLock { $0 } }
}


import Synchronization
