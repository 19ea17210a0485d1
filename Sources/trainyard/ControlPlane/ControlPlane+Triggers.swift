import Foundation
import TrainyardCore
import TrainyardRuntime

/// Triggers on the local store: created with the CLI user's rights (no data-access
/// restriction, as `trainyard train` reads what its user can).
extension LocalControlPlane {
    var catalog: TriggerCatalog { TriggerCatalog(services: services) }

    func createTrigger(_ definition: TriggerDefinition) async throws -> Trigger {
        try await catalog.create(definition, createdBy: "cli:\(NSUserName())", access: .unrestricted)
    }

    func triggers() async throws -> [Trigger] { try await catalog.list() }
    func trigger(_ name: TriggerName) async throws -> Trigger { try await catalog.trigger(name) }
    func setTriggerPaused(_ name: TriggerName, paused: Bool) async throws -> Trigger { try await catalog.setPaused(name, paused: paused) }
    func deleteTrigger(_ name: TriggerName) async throws { try await catalog.delete(name) }
}

/// Triggers through a server's `/api/v1/triggers`.
extension RemoteControlPlane {
    func createTrigger(_ definition: TriggerDefinition) async throws -> Trigger {
        try JSON.decode(Trigger.self, from: try await request("POST", "api/v1/triggers", body: try JSON.encode(definition)))
    }

    func triggers() async throws -> [Trigger] {
        struct Page: Decodable { var triggers: [Trigger] }
        return try await get(Page.self, "api/v1/triggers").triggers
    }

    func trigger(_ name: TriggerName) async throws -> Trigger { try await get(Trigger.self, "api/v1/triggers/\(name)") }

    func setTriggerPaused(_ name: TriggerName, paused: Bool) async throws -> Trigger {
        try JSON.decode(Trigger.self, from: try await request("POST", "api/v1/triggers/\(name)/\(paused ? "pause" : "resume")"))
    }

    func deleteTrigger(_ name: TriggerName) async throws { _ = try await request("DELETE", "api/v1/triggers/\(name)") }
}
