import Foundation
import TrainyardCore

/// The trigger rows of the in-memory store.
struct TriggerTables: Sendable {
    var triggers: [TriggerName: Trigger] = [:]
    /// Trigger id → file identity → record.
    var firedFiles: [Int64: [String: FiredFile]] = [:]
    var nextID: Int64 = 1
}

extension InMemoryMetadataStore {
    public func createTrigger(_ definition: TriggerDefinition, createdBy: String) async throws -> Trigger {
        guard triggerTables.triggers[definition.name] == nil else {
            throw TrainyardError.conflict("trigger \(definition.name) already exists; remove it first (`trainyard triggers rm \(definition.name)`)")
        }
        let now = clock.now()
        let trigger = Trigger(id: triggerTables.nextID, definition: definition, paused: definition.paused, createdAt: now, createdBy: createdBy,
                              activeSince: now)
        triggerTables.nextID += 1
        triggerTables.triggers[definition.name] = trigger
        return trigger
    }

    public func trigger(_ name: TriggerName) async throws -> Trigger? { triggerTables.triggers[name] }

    public func triggers() async throws -> [Trigger] { triggerTables.triggers.values.sorted { $0.name < $1.name } }

    public func setTriggerPaused(_ name: TriggerName, paused: Bool) async throws -> Trigger {
        guard var trigger = triggerTables.triggers[name] else { throw TrainyardError.notFound("trigger \(name)") }
        if trigger.paused && !paused { trigger.activeSince = clock.now() }
        trigger.paused = paused
        triggerTables.triggers[name] = trigger
        return trigger
    }

    public func deleteTrigger(_ name: TriggerName) async throws {
        guard let trigger = triggerTables.triggers.removeValue(forKey: name) else { throw TrainyardError.notFound("trigger \(name)") }
        triggerTables.firedFiles[trigger.id] = nil
    }

    public func firedFile(trigger triggerID: Int64, identity: String) async throws -> FiredFile? {
        triggerTables.firedFiles[triggerID]?[identity]
    }

    public func recordFiring(_ firing: TriggerFiring) async throws -> Bool {
        guard var trigger = triggerTables.triggers[firing.trigger], trigger.id == firing.triggerID else { return false }
        let now = clock.now()
        switch firing.cause {
        case .file(let file):
            let identity = file.identity(trigger: trigger.id)
            guard triggerTables.firedFiles[trigger.id]?[identity] == nil else { return true }
            triggerTables.firedFiles[trigger.id, default: [:]][identity] = FiredFile(file: file, jobID: firing.jobID, firedAt: now)
            trigger.status.lastFile = file.path
        case .slot(let slot):
            if let last = trigger.status.lastSlot, last >= slot { return true }
            trigger.status.lastSlot = slot
        case .message(let message):
            // Every message is a firing (the service records one only for a job it made).
            if let file = message.file { trigger.status.lastFile = file }
        }
        trigger.status.firedCount += 1
        trigger.status.lastFiredAt = now
        trigger.status.lastJobID = firing.jobID
        trigger.status.lastError = nil
        trigger.status.lastErrorAt = nil
        triggerTables.triggers[firing.trigger] = trigger
        return true
    }

    public func recordTriggerError(_ name: TriggerName, triggerID: Int64, message: String) async throws {
        guard var trigger = triggerTables.triggers[name], trigger.id == triggerID else { return }
        trigger.status.lastError = message
        trigger.status.lastErrorAt = clock.now()
        triggerTables.triggers[name] = trigger
    }

    public func recordListingCursor(_ name: TriggerName, triggerID: Int64, cursor: String?) async throws {
        guard var trigger = triggerTables.triggers[name], trigger.id == triggerID else { return }
        trigger.status.listingCursor = cursor
        triggerTables.triggers[name] = trigger
    }
}
