import Foundation
import ServiceLifecycle
import TrainyardRuntime
import TrainyardServer
import TrainyardServing

/// The HTTP role as a Service for the ServiceGroup: control API, operations, and the inference
/// plane (model server options from `TRAINYARD_SERVING_*`, see `ServingOptions.fromEnvironment`).
/// The model server's alias watcher runs inside the application's ServiceGroup.
func makeHTTPService(services: TrainyardServices, onListening: @escaping @Sendable (Int) async -> Void) throws -> any Service {
    let readiness = Readiness()
    let inference = InferenceAPI.make(services: services, readiness: readiness)
    return try TrainyardHTTPServer.makeApplication(services: services, readiness: readiness, extraRoutes: inference.routes,
                                                   extraServices: [inference.server], onListening: onListening)
}
