import Hummingbird
import NIOCore
import ServiceLifecycle
import TrainyardCore
import TrainyardRuntime
import TrainyardServing

/// The HTTP surface of a separate `trainyard worker` process (`--metrics-port`): `/healthz`,
/// `/readyz` and `/metrics`, nothing else: no job, model or prediction route.
///
/// Without it a worker's own counters (`trainyard_worker_jobs_*`, store outages) could not be
/// scraped, and an orchestrator could only tell that the process is alive. `/metrics` also
/// carries the queue depth from the store, so a worker service can be autoscaled on its own
/// scrape. It names no model, yet needs a read token when tokens are configured, like the
/// server's.
public enum WorkerOperationsServer {
    /// The three routes.
    public static func routes(services: TrainyardServices, readiness: Readiness = Readiness(),
                              options: ControlAPI.Options = .init()) -> [APIRoute] {
        ControlAPI(services: services, readiness: readiness, options: options).opsRoutes + [metricsRoute(services: services)]
    }

    /// The router, for `Application(router:)` and for tests (`app.test(.router)`).
    public static func buildRouter(services: TrainyardServices, readiness: Readiness = Readiness(),
                                   options: ControlAPI.Options = .init()) -> Router<TrainyardRequestContext> {
        TrainyardHTTPServer.router(configuration: services.configuration, routes: routes(services: services, readiness: readiness, options: options))
    }

    /// The listener on `host:port` (port 0: any free port, reported to `onListening`), with
    /// `extraServices` (the worker pool) in its ServiceGroup.
    public static func makeApplication(services: TrainyardServices, host: String, port: Int, extraServices: [any Service] = [],
                                       onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> TrainyardApplication {
        TrainyardHTTPServer.application(router: buildRouter(services: services), host: host, port: port, services: services,
                                        extraServices: extraServices, onListening: onListening)
    }

    static func metricsRoute(services: TrainyardServices) -> APIRoute {
        APIRoute(.get, "/metrics", scope: .read, operationID: "metrics", summary: "Prometheus metrics of this worker process", tag: "operations",
                 responses: [APIResponse(200, "Metrics", content: ["text/plain": Schema.string])]) { _, _ in
            let text = await JobMetrics.render(services: services)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
