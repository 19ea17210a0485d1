import Foundation

/// A stored trigger: its definition, when and by whom it was made, whether it is paused, and
/// what it did last (`status`). Persisted in the metadata store; fired by `TriggerService` in
/// `up` / `server`.
public struct Trigger: Sendable, Equatable, Identifiable {
    /// Given by the store. A trigger removed and created again under the same name is another
    /// trigger (another id): it starts its bookkeeping afresh, and files the old one fired fire
    /// again.
    public var id: Int64
    public var definition: TriggerDefinition
    public var paused: Bool
    public var createdAt: Date
    public var createdBy: String
    /// Schedule slots at or before this instant never fire: the creation, or the last resume
    /// (slots that passed while paused are skipped, not caught up).
    public var activeSince: Date
    public var status: TriggerStatus
    /// `schedule`: the slot that fires next (computed on reading, not stored).
    public var nextSlot: Date?

    public init(id: Int64, definition: TriggerDefinition, paused: Bool, createdAt: Date, createdBy: String, activeSince: Date,
                status: TriggerStatus = TriggerStatus(), nextSlot: Date? = nil) {
        self.id = id
        self.definition = definition
        self.paused = paused
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.activeSince = activeSince
        self.status = status
        self.nextSlot = nextSlot
    }

    public var name: TriggerName { definition.name }
    public var kind: TriggerKind { definition.kind }
    public var source: TriggerSource { definition.source }
    public var action: TriggerAction { definition.action }

    /// Which local files the jobs it makes may read and write.
    public var dataAccess: DataAccessPolicy {
        definition.dataRoots.map { DataAccessPolicy.restricted(to: $0) } ?? .unrestricted
    }
}

/// What a trigger did last: shown by `trainyard triggers show`.
public struct TriggerStatus: Sendable, Equatable, Codable {
    /// Files (watch) or slots (schedule) fired so far.
    public var firedCount: Int
    public var lastFiredAt: Date?
    public var lastJobID: JobID?
    /// `watch`: the last file fired.
    public var lastFile: String?
    /// `schedule`: the last slot fired.
    public var lastSlot: Date?
    /// Why the last attempt to fire failed (cleared by the next success); it is retried later.
    public var lastError: String?
    public var lastErrorAt: Date?
    /// `watch` on an `s3://` prefix: the last object (its URI) the latest pass listed; the next
    /// pass, in whichever process, lists on after it. Nil: the next pass starts at the beginning
    /// (none ran yet, or the last one reached the end of the prefix).
    public var listingCursor: String?

    public init(firedCount: Int = 0, lastFiredAt: Date? = nil, lastJobID: JobID? = nil, lastFile: String? = nil, lastSlot: Date? = nil,
                lastError: String? = nil, lastErrorAt: Date? = nil, listingCursor: String? = nil) {
        self.firedCount = firedCount
        self.lastFiredAt = lastFiredAt
        self.lastJobID = lastJobID
        self.lastFile = lastFile
        self.lastSlot = lastSlot
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.listingCursor = listingCursor
    }

    enum CodingKeys: String, CodingKey {
        case firedCount = "fired_count"
        case lastFiredAt = "last_fired_at"
        case lastJobID = "last_job_id"
        case lastFile = "last_file"
        case lastSlot = "last_slot"
        case lastError = "last_error"
        case lastErrorAt = "last_error_at"
        case listingCursor = "listing_cursor"
    }
}

extension Trigger: Codable {
    enum CodingKeys: String, CodingKey {
        case id, name, kind, paused, watch, schedule, sqs, transform, train, status
        case createdAt = "created_at"
        case createdBy = "created_by"
        case activeSince = "active_since"
        case dataRoots = "data_roots"
        case nextSlot = "next_slot"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(TriggerName.self, forKey: .name)
        let source: TriggerSource
        if let w = try c.decodeIfPresent(WatchSource.self, forKey: .watch) { source = .watch(w) }
        else if let q = try c.decodeIfPresent(SQSSource.self, forKey: .sqs) { source = .sqs(q) }
        else { source = .schedule(try c.decode(ScheduleSource.self, forKey: .schedule)) }
        let action: TriggerAction
        if let t = try c.decodeIfPresent([String: JSONValue].self, forKey: .transform) { action = .transform(t) } else {
            action = .train(try c.decode(TrainTemplate.self, forKey: .train))
        }
        let paused = try c.decode(Bool.self, forKey: .paused)
        let definition: TriggerDefinition
        do {
            definition = try TriggerDefinition(name: name, source: source, action: action, paused: paused,
                                               dataRoots: try c.decodeIfPresent([String].self, forKey: .dataRoots))
        } catch let error as TrainyardError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
        self.init(id: try c.decode(Int64.self, forKey: .id), definition: definition, paused: paused,
                  createdAt: try c.decode(Date.self, forKey: .createdAt), createdBy: try c.decode(String.self, forKey: .createdBy),
                  activeSince: try c.decode(Date.self, forKey: .activeSince), status: try c.decodeIfPresent(TriggerStatus.self, forKey: .status) ?? TriggerStatus(),
                  nextSlot: try c.decodeIfPresent(Date.self, forKey: .nextSlot))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(kind, forKey: .kind)
        try c.encode(paused, forKey: .paused)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(createdBy, forKey: .createdBy)
        try c.encode(activeSince, forKey: .activeSince)
        try TriggerCoding.encode(source: source, action: action, into: &c)
        try c.encodeIfPresent(definition.dataRoots, forKey: .dataRoots)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(nextSlot, forKey: .nextSlot)
    }
}
