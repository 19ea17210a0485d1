import Foundation

/// What a user gives to create a trigger (`trainyard watch add`, `trainyard schedule add`,
/// `POST /api/v1/triggers`): a name, a source, an action. As JSON:
/// `{"name", "watch": {"path", "glob", "settle_seconds"} | "schedule": {"cron", "time_zone"} |
/// "sqs": {"queue_url", "wait_seconds", "max_messages", "visibility_timeout_seconds"},
/// "transform": {…a transform request…} | "train": {"spec", "base_directory"}, "paused"}`.
///
/// `init` checks everything that can be known without the file system or the registry: name,
/// cron and zone, glob, placeholders, the transform request's required keys.
public struct TriggerDefinition: Sendable, Equatable {
    public var name: TriggerName
    public var source: TriggerSource
    public var action: TriggerAction
    /// Created paused (nothing fires until `resume`).
    public var paused: Bool
    /// The local folders the jobs it makes may read and write (`DataAccessPolicy.roots`): nil
    /// for the CLI (unrestricted); set by a server from the policy of whoever created it over
    /// HTTP, never taken from the request.
    public var dataRoots: [String]?

    /// The longest spec template accepted; the spec parser applies `limits.spec_bytes` too.
    public static let maxTemplateBytes = 1 << 20

    public init(name: TriggerName, source: TriggerSource, action: TriggerAction, paused: Bool = false, dataRoots: [String]? = nil) throws(TrainyardError) {
        self.name = name
        self.source = source
        self.action = action
        self.paused = paused
        self.dataRoots = dataRoots
        try check()
    }

    public var kind: TriggerKind { source.kind }

    private func check() throws(TrainyardError) {
        switch action {
        case .train(let template):
            guard !template.spec.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw TrainyardError(.invalidArgument, "the spec template is empty")
            }
            guard template.spec.utf8.count <= Self.maxTemplateBytes else {
                throw TrainyardError(.invalidArgument, "the spec template is larger than \(Self.maxTemplateBytes) bytes")
            }
            if let base = template.baseDirectory, LexicalPath.standardized(base) == nil {
                throw TrainyardError(.invalidArgument, "train.base_directory \"\(clientEcho(base))\" must be an absolute path")
            }
            try TriggerPlaceholders.check(template.spec, kind: kind, in: "the spec template")
        case .transform(let request):
            var required = ["model", "output"]
            // A watch's input is the file that fired, an sqs trigger's the object of an S3 event
            // notification; a schedule scores what it names.
            if kind == .schedule { required.append("input") }
            for key in required {
                guard case .string(let value)? = request[key], !value.isEmpty else {
                    throw TrainyardError(.invalidArgument, "transform.\(key) is required (a non-empty string)"
                                         + (key == "input" ? ": a scheduled transform scores the file or folder it names" : ""))
                }
            }
            let text = try? JSON.encodeString(JSONValue.object(request))
            guard let text, text.utf8.count <= Self.maxTemplateBytes else {
                throw TrainyardError(.invalidArgument, "the transform request is larger than \(Self.maxTemplateBytes) bytes")
            }
            try TriggerPlaceholders.check(text, kind: kind, in: "the transform request")
            if kind == .sqs, let field = TriggerPlaceholders.messageFields(in: text).first {
                throw TrainyardError(.invalidArgument, "the transform request cannot use ${message.\(clientEcho(field))}: an sqs trigger's transform "
                                     + "scores the object of an S3 event notification, which has no message fields (use --train with a spec template)")
            }
        }
    }
}

extension TriggerDefinition: Codable {
    enum CodingKeys: String, CodingKey {
        case name, watch, schedule, sqs, transform, train, paused
    }

    /// Decodes the request shape. `data_roots` is not read: a server sets it.
    public init(from decoder: any Decoder) throws {
        try TriggerCoding.refuseUnknownKeys(decoder, allowed: ["name", "watch", "schedule", "sqs", "transform", "train", "paused"], in: "the trigger")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(TriggerName.self, forKey: .name)
        let source: TriggerSource
        switch (try c.decodeIfPresent(WatchSource.self, forKey: .watch), try c.decodeIfPresent(ScheduleSource.self, forKey: .schedule),
                try c.decodeIfPresent(SQSSource.self, forKey: .sqs)) {
        case (let w?, nil, nil): source = .watch(w)
        case (nil, let s?, nil): source = .schedule(s)
        case (nil, nil, let q?): source = .sqs(q)
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "give exactly one of watch, schedule and sqs"))
        }
        let action: TriggerAction
        switch (try c.decodeIfPresent([String: JSONValue].self, forKey: .transform), try c.decodeIfPresent(TrainTemplate.self, forKey: .train)) {
        case (let t?, nil): action = .transform(t)
        case (nil, let t?): action = .train(t)
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "give exactly one of transform and train"))
        }
        do {
            try self.init(name: name, source: source, action: action, paused: try c.decodeIfPresent(Bool.self, forKey: .paused) ?? false)
        } catch let error as TrainyardError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try TriggerCoding.encode(source: source, action: action, into: &c)
        try c.encode(paused, forKey: .paused)
    }
}

extension TriggerCoding {
    static func encode<K: CodingKey>(source: TriggerSource, action: TriggerAction, into c: inout KeyedEncodingContainer<K>) throws {
        switch source {
        case .watch(let w): try c.encode(w, forKey: K(stringValue: "watch")!)
        case .schedule(let s): try c.encode(s, forKey: K(stringValue: "schedule")!)
        case .sqs(let q): try c.encode(q, forKey: K(stringValue: "sqs")!)
        }
        switch action {
        case .transform(let t): try c.encode(t, forKey: K(stringValue: "transform")!)
        case .train(let t): try c.encode(t, forKey: K(stringValue: "train")!)
        }
    }
}
