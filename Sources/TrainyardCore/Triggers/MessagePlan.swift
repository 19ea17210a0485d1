import Foundation

/// The jobs one message makes for an sqs trigger, decided from the message and the trigger's
/// action alone (no I/O), before anything is submitted:
///
/// | message | train template | transform |
/// |---|---|---|
/// | a spec | the spec as sent | the spec as sent |
/// | JSON fields | the template with `${message.KEY}` filled | refused |
/// | S3 event, n created objects | n jobs, `${trigger.file}` = `s3://bucket/key` | n jobs, input = `s3://bucket/key` |
/// | `s3:TestEvent`, no created object | nothing (acknowledged) | nothing |
///
/// Each job's cause (`TriggerMessage`) gives its idempotency key: every delivery of the
/// message asks for the same jobs.
public enum MessagePlan: Sendable, Equatable {
    /// Submit these, then delete the message.
    case jobs([MessageJob])
    /// Nothing to submit (why): delete the message.
    case ignore(String)

    /// - Parameters:
    ///   - id: the message's id; `body` its text.
    ///   - maxSpecBytes: `limits.spec_bytes`: bounds a spec body and a filled template.
    /// - Throws: `.invalidArgument` / `.invalidSpec` saying what is wrong with the message (the
    ///   message is left on the queue).
    public static func make(id: String, body: String, trigger: TriggerName, action: TriggerAction,
                            maxSpecBytes: Int = ResourceLimits().specBytes) throws(TrainyardError) -> MessagePlan {
        switch try QueueMessageBody.read(body, maxSpecBytes: maxSpecBytes) {
        case .ignorable(let why):
            return .ignore(why)
        case .spec(let text):
            guard text.utf8.count <= maxSpecBytes else {
                throw TrainyardError(.invalidSpec, "the spec in the message is \(text.utf8.count) bytes; limits.spec_bytes allows \(maxSpecBytes)")
            }
            return .jobs([MessageJob(cause: TriggerMessage(id: id), work: .train(spec: text, baseDirectory: nil))])
        case .fields(let fields):
            guard case .train(let template) = action else {
                throw TrainyardError(.invalidArgument, "a JSON message of fields (\(describe(fields))) fills a spec template, and this trigger has none: "
                                     + "it makes transform jobs from S3 event notifications (send a spec or an S3 event, or add the trigger with --train)")
            }
            if TriggerPlaceholders.names(in: template.spec).contains("file") {
                throw TrainyardError(.invalidArgument, "the spec template uses ${trigger.file}, which only an S3 event notification gives; "
                                     + "this message is a JSON message of fields (\(describe(fields)))")
            }
            let placeholders = TriggerPlaceholders(name: trigger.rawValue, message: fields)
            let text = try placeholders.applyToSpec(template.spec, maxBytes: maxSpecBytes)
            return .jobs([MessageJob(cause: TriggerMessage(id: id), work: .train(spec: text, baseDirectory: template.baseDirectory))])
        case .s3Event(let event):
            var jobs: [MessageJob] = []
            for record in event.records {
                let cause = TriggerMessage(id: id, record: record.index, file: record.uri)
                switch action {
                case .transform:
                    jobs.append(MessageJob(cause: cause, work: .transform(input: record.uri)))
                case .train(let template):
                    // Message fields are empty, not absent: a template using one says so.
                    let placeholders = TriggerPlaceholders(name: trigger.rawValue, file: record.uri, message: [:])
                    let text: String
                    do {
                        text = try placeholders.applyToSpec(template.spec, maxBytes: maxSpecBytes)
                    } catch {
                        throw TrainyardError(error.code, "S3 event record \(record.index) (\(clientEcho(record.uri))): \(error.message)")
                    }
                    jobs.append(MessageJob(cause: cause, work: .train(spec: text, baseDirectory: template.baseDirectory)))
                }
            }
            return .jobs(jobs)
        }
    }

    /// The first field names, for an error.
    static func describe(_ fields: [String: JSONValue]) -> String {
        fields.isEmpty ? "none" : fields.keys.sorted().prefix(8).map { clientEcho($0, limit: 40) }.joined(separator: ", ")
            + (fields.count > 8 ? ", …" : "")
    }
}

/// One job a message makes.
public struct MessageJob: Sendable, Equatable {
    public enum Work: Sendable, Equatable {
        /// A train job from this spec text: a spec body as sent, or the trigger's template filled
        /// in; relative paths resolve against `baseDirectory` (the template's folder; nil for a
        /// spec body, which must name absolute paths, blobs or `s3://` URIs).
        case train(spec: String, baseDirectory: String?)
        /// A transform job: the trigger's transform request with this input.
        case transform(input: String)
    }

    public var cause: TriggerMessage
    public var work: Work

    public init(cause: TriggerMessage, work: Work) {
        self.cause = cause
        self.work = work
    }
}
