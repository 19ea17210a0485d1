import Foundation
import Hummingbird
import TrainyardCore
import TrainyardRuntime

/// The control API (`/api/v1`) and the operations routes, as a route table.
public struct ControlAPI: Sendable {
    /// Tunables of the HTTP layer.
    public struct Options: Sendable {
        /// How often a following stream (SSE) polls the store for new log lines and progress.
        public var pollInterval: Duration
        /// An SSE comment is sent after this much silence, so proxies keep the connection open.
        public var keepAliveInterval: Duration
        /// `Retry-After` seconds on `/readyz` while not ready.
        public var retryAfterSeconds: Int
        /// How long `/readyz` waits for the metadata store's `ping` before it answers 503: a
        /// store that slow is not ready either.
        public var storeCheckTimeout: Duration

        public init(pollInterval: Duration = .milliseconds(200), keepAliveInterval: Duration = .seconds(15), retryAfterSeconds: Int = 5,
                    storeCheckTimeout: Duration = .seconds(2)) {
            self.pollInterval = pollInterval
            self.keepAliveInterval = keepAliveInterval
            self.retryAfterSeconds = retryAfterSeconds
            self.storeCheckTimeout = storeCheckTimeout
        }
    }

    public let services: TrainyardServices
    public let readiness: Readiness
    public let options: Options
    /// Evaluations running now, bounded (`POST /api/v1/models/{name}/evaluate`).
    let evaluations = EvaluationSlots()

    public init(services: TrainyardServices, readiness: Readiness, options: Options = Options()) {
        self.services = services
        self.readiness = readiness
        self.options = options
    }

    /// Every route this API serves, except `/openapi.json` (added by `TrainyardHTTPServer`, which documents it too).
    public var routes: [APIRoute] { opsRoutes + jobRoutes + transformRoutes + blobRoutes + modelRoutes + evaluateRoutes + triggerRoutes }

    var opsRoutes: [APIRoute] {
        [
            // Liveness only: it never asks the store, so an orchestrator does not restart every
            // server because the database is away (that is /readyz's business).
            APIRoute(.get, "/healthz", scope: nil, operationID: "health", summary: "Liveness: the process answers", tag: "operations",
                     responses: [.json(200, "Alive", Schema.ref("Status"))]) { _, _ in
                try HTTPHelpers.json(["status": "ok"])
            },
            APIRoute(.get, "/readyz", scope: nil, operationID: "ready",
                     summary: "Readiness: 200 when ready to serve, 503 with Retry-After while starting or when the store is unreachable",
                     tag: "operations",
                     responses: [.json(200, "Ready", Schema.ref("Status")), .json(503, "Not ready", Schema.ref("Status"))]) { _, context in
                let retry: HTTPFields = [.retryAfter: String(options.retryAfterSeconds)]
                if let reason = readiness.notReadyReason {
                    return try HTTPHelpers.json(["status": "starting", "reason": reason], status: .serviceUnavailable, headers: retry)
                }
                // A bounded round trip: a store that accepts connections and never answers is
                // unreachable too. The probe is open, so its answer names no host or error.
                if let error = await StoreReachability.check(services.store, timeout: options.storeCheckTimeout) {
                    context.logger.warning("readiness: the metadata store is unreachable", metadata: ["error.description": .string(String(describing: error))])
                    return try HTTPHelpers.json(["status": "unavailable", "reason": "the metadata store is unreachable"],
                                                status: .serviceUnavailable, headers: retry)
                }
                return try HTTPHelpers.json(["status": "ready"])
            },
        ]
    }
}

/// Whether the server is ready for traffic (`/readyz`). Starts ready unless told otherwise;
/// roles that load things first (models, migrations) mark it not ready until they are done.
public final class Readiness: Sendable {
    private let state: Mutex<String?>

    /// - Parameter notReadyReason: nil = ready.
    public init(notReadyReason: String? = nil) { state = Mutex(notReadyReason) }

    public var isReady: Bool { state.withLock { $0 == nil } }
    /// Why the server is not ready; nil when it is.
    public var notReadyReason: String? { state.withLock { $0 } }
    public func markReady() { state.withLock { $0 = nil } }
    public func markNotReady(_ reason: String) { state.withLock { $0 = reason } }
}

import Synchronization
