import Foundation
import ServiceLifecycle
import TrainyardRuntime
import TrainyardServer

/// The HTTP role as a Service for the ServiceGroup.
func makeHTTPService(services: TrainyardServices, onListening: @escaping @Sendable (Int) async -> Void) throws -> any Service {
    try TrainyardHTTP.makeService(services: services, onListening: onListening)
}
