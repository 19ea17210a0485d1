import Foundation
import Hummingbird
import TrainyardCore
import TrainyardRuntime

/// `/api/v1/triggers`: list, create, show, remove, pause, resume. Triggers make jobs, so
/// changing them needs the `train` scope; reading them, `read`. A trigger created here is bound
/// to this server's data-access policy for others (`DataAccessPolicy.forHTTPSubmissions`): its
/// watched folder, outputs and spec template must be places that policy allows, and every job
/// it makes is checked against the same policy.
extension ControlAPI {
    var triggerRoutes: [APIRoute] {
        let triggerResponse = APIResponse.json(200, "The trigger", Schema.ref("Trigger"))
        let badName = APIResponse.error(400, "The name is not a valid trigger name")
        let notFound = APIResponse.error(404, "No such trigger")
        return [
            APIRoute(.get, "/api/v1/triggers", scope: .read, operationID: "listTriggers", summary: "Every trigger, by name, with what it did last",
                     tag: "triggers", responses: [.json(200, "The triggers", Schema.ref("TriggerList"))], handler: listTriggers),
            APIRoute(.post, "/api/v1/triggers", scope: .train, operationID: "createTrigger",
                     summary: "Create a watch (a folder or s3:// prefix + glob), schedule (cron + time zone) or sqs (a queue URL) trigger that makes transform or train jobs",
                     tag: "triggers",
                     requestBody: APIRequestBody(["application/json": Schema.ref("TriggerDefinition")],
                                                 description: "{\"name\", \"watch\" | \"schedule\" | \"sqs\", \"transform\" | \"train\", \"paused\"}"),
                     responses: [
                        .json(201, "The trigger", Schema.ref("Trigger")),
                        .error(400, "Invalid trigger: a bad name, cron expression, time zone, glob or queue URL, a folder that does not exist, "
                               + "a queue this server may not read, a template that does not parse"),
                        .error(403, "The token lacks the train scope, or a folder or file it names is not under server.data_roots"),
                        .error(409, "A trigger with this name exists"),
                        .error(413, "Body larger than the limit"),
                        .error(415, "Unsupported media type"),
                     ], handler: createTrigger),
            APIRoute(.get, "/api/v1/triggers/{name}", scope: .read, operationID: "getTrigger",
                     summary: "A trigger: its definition, state, last firing, last error and (schedule) next slot", tag: "triggers",
                     responses: [triggerResponse, badName, notFound], handler: showTrigger),
            APIRoute(.delete, "/api/v1/triggers/{name}", scope: .train, operationID: "deleteTrigger",
                     summary: "Remove a trigger and its record of fired files (the jobs it made stay)", tag: "triggers",
                     responses: [APIResponse(204, "Removed"), badName, notFound], handler: deleteTrigger),
            APIRoute(.post, "/api/v1/triggers/{name}/pause", scope: .train, operationID: "pauseTrigger",
                     summary: "Pause a trigger: nothing fires until it is resumed", tag: "triggers",
                     responses: [triggerResponse, badName, notFound], handler: pauseTrigger),
            APIRoute(.post, "/api/v1/triggers/{name}/resume", scope: .train, operationID: "resumeTrigger",
                     summary: "Resume a trigger: files that arrived meanwhile fire; schedule slots that passed are skipped", tag: "triggers",
                     responses: [triggerResponse, badName, notFound], handler: resumeTrigger),
        ]
    }

    // The trigger handlers are not optimised: the release compiler (this Swift 6 toolchain)
    // crashes with signal 11 in LLVM's coroutine splitting of these async functions once they
    // are inlined and optimised (closures or methods alike). They are cheap CRUD: nothing is lost.

    @_optimize(none)
    @Sendable func listTriggers(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        try HTTPHelpers.json(TriggerPage(triggers: try await TriggerCatalog(services: services).list()))
    }

    @_optimize(none)
    @Sendable func showTrigger(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        try HTTPHelpers.json(try await TriggerCatalog(services: services).trigger(try Self.triggerName(context)))
    }

    @_optimize(none)
    @Sendable func deleteTrigger(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        let name = try Self.triggerName(context)
        try await TriggerCatalog(services: services).delete(name)
        context.logger.info("trigger removed", metadata: ["trainyard.trigger": .string(name.rawValue), "trainyard.caller": .string(context.actor)])
        return Response(status: .noContent)
    }

    @_optimize(none)
    @Sendable func pauseTrigger(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        try await setPaused(context, true)
    }

    @_optimize(none)
    @Sendable func resumeTrigger(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        try await setPaused(context, false)
    }

    static func triggerName(_ context: TrainyardRequestContext) throws -> TriggerName {
        try TriggerName(try Params.path(context, "name"))
    }

    @_optimize(none)
    func setPaused(_ context: TrainyardRequestContext, _ paused: Bool) async throws -> Response {
        let name = try Self.triggerName(context)
        let trigger = try await TriggerCatalog(services: services).setPaused(name, paused: paused)
        context.logger.info(paused ? "trigger paused" : "trigger resumed", metadata: ["trainyard.trigger": .string(name.rawValue),
                                                                                    "trainyard.caller": .string(context.actor)])
        return try HTTPHelpers.json(trigger)
    }

    @_optimize(none)
    @Sendable func createTrigger(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        let media = HTTPHelpers.mediaType(request) ?? "application/json"
        guard media == "application/json" else {
            throw TrainyardError(.unsupportedMediaType, "unsupported media type \"\(media)\"; send the trigger as application/json")
        }
        let body = try await HTTPHelpers.readBody(request, limit: min(context.maxUploadSize, 2 << 20))
        let definition = try HTTPHelpers.decodeBody(TriggerDefinition.self, from: body, what: "trigger")
        let trigger = try await TriggerCatalog(services: services).create(definition, createdBy: context.actor,
                                                                          access: DataAccessPolicy.forHTTPSubmissions(services.configuration))
        context.logger.info("trigger created", metadata: ["trainyard.trigger": .string(trigger.name.rawValue), "trainyard.caller": .string(context.actor)])
        return try HTTPHelpers.json(trigger, status: .created, headers: [.location: "/api/v1/triggers/\(trigger.name)"])
    }
}

extension OpenAPIDocument {
    /// The trigger schemas (`components.schemas`).
    static let triggerSchemas: [String: JSONValue] = {
        let name = JSONValue.object(["type": .string("string"), "pattern": .string(namePattern), "minLength": .int(1), "maxLength": .int(64)])
        let watch = Schema.object([
            "path": Schema.with(Schema.string, description: "The folder (an absolute path or file:// URI) or s3://bucket/prefix"),
            "glob": Schema.with(Schema.string, description: "File names to fire on, like *.csv (default *); names starting with . only when the glob does"),
            "settle_seconds": Schema.with(.object(["type": .string("number"), "minimum": .int(0), "maximum": .int(Int(WatchSource.maxSettleSeconds))]),
                                          description: "A file fires once its size and modification time (an object: size and ETag) held this long (default 5)"),
        ], required: ["path"])
        let schedule = Schema.object([
            "cron": Schema.with(Schema.string, description: "5 fields: minute hour day-of-month month day-of-week (or @daily, @hourly, …)"),
            "time_zone": Schema.with(Schema.string, description: "An IANA time zone (default UTC)"),
        ], required: ["cron"])
        let sqs = Schema.object([
            "queue_url": Schema.with(.object(["type": .string("string"), "minLength": .int(1), "maxLength": .int(SQSSource.maxURLBytes)]),
                                     description: "The queue URL: https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE (or a configured endpoint's)"),
            "wait_seconds": Schema.with(.object(["type": .string("integer"), "minimum": .int(0), "maximum": .int(SQSSource.maxWaitSeconds)]),
                                        description: "How long one receive waits for messages (long polling; default 20)"),
            "max_messages": Schema.with(.object(["type": .string("integer"), "minimum": .int(1), "maximum": .int(SQSSource.maxMaxMessages)]),
                                        description: "Most messages one receive returns (default 10)"),
            "visibility_timeout_seconds": Schema.with(.object(["type": .string("integer"), "minimum": .int(0),
                                                               "maximum": .int(SQSSource.maxVisibilityTimeoutSeconds)]),
                                                      description: "How long a received message stays hidden from other receivers (default: the queue's)"),
        ], required: ["queue_url"], description: "A message that is a spec is submitted as it is; a JSON message of fields fills the train "
                      + "template (${message.FIELD}); an S3 event notification makes one job per created object. A message is deleted once its jobs are enqueued")
        let transform = Schema.object([
            "model": Schema.with(Schema.string, description: "NAME, NAME@ALIAS or NAME:VERSION"),
            "input": Schema.with(Schema.string, description: "schedule: the file or folder to score; watch: the file that fired; sqs: the S3 event's object"),
            "output": Schema.with(Schema.string, description: "The output folder; ${trigger.name}, ${trigger.slot} are replaced"),
            "glob": Schema.string, "format": Schema.enumeration(TransformFormat.allCases.map(\.rawValue)),
            "header": Schema.boolean, "keep": Schema.array(Schema.string), "join_input": Schema.boolean, "probabilities": Schema.boolean,
            "max_error_rate": Schema.number, "output_template": Schema.string, "priority": Schema.integer, "retries": Schema.integer,
            "timeout_seconds": Schema.number,
        ], required: ["model", "output"], description: "A transform request (as POST /api/v1/transforms takes)")
        let train = Schema.object([
            "spec": Schema.with(Schema.string, description: "A spec template: ${trigger.file} (watch; sqs: an S3 event's object), ${trigger.slot} (schedule), "
                                + "${trigger.name}, ${message.FIELD} (sqs: a field of a JSON message)"),
            "base_directory": Schema.with(Schema.string, description: "Relative paths in the spec resolve against this folder"),
        ], required: ["spec"])
        let status = Schema.object([
            "fired_count": Schema.integer, "last_fired_at": Schema.dateTime, "last_job_id": Schema.integer, "last_file": Schema.string,
            "last_slot": Schema.dateTime, "last_error": Schema.string, "last_error_at": Schema.dateTime,
            "listing_cursor": Schema.with(Schema.string, description: "watch on s3://: the last object the latest look listed; the next continues after it"),
        ], required: ["fired_count"])
        return [
            "TriggerDefinition": Schema.object([
                "name": name, "watch": watch, "schedule": schedule, "sqs": sqs, "transform": transform, "train": train, "paused": Schema.boolean,
            ], required: ["name"], description: "Exactly one of watch, schedule and sqs, and one of transform and train"),
            "Trigger": Schema.object([
                "id": Schema.integer, "name": Schema.string, "kind": Schema.enumeration(TriggerKind.allCases.map(\.rawValue)),
                "paused": Schema.boolean, "created_at": Schema.dateTime, "created_by": Schema.string,
                "active_since": Schema.with(Schema.dateTime, description: "Schedule slots at or before this never fire (creation or last resume)"),
                "watch": watch, "schedule": schedule, "sqs": sqs, "transform": transform, "train": train,
                "data_roots": Schema.with(Schema.array(Schema.string), description: "The folders the jobs it makes may use (set when created over HTTP)"),
                "status": status, "next_slot": Schema.dateTime,
            ], required: ["id", "name", "kind", "paused", "created_at", "created_by", "active_since", "status"]),
            "TriggerList": Schema.object(["triggers": Schema.array(Schema.ref("Trigger"))], required: ["triggers"]),
        ]
    }()
}

/// `GET /api/v1/triggers`.
struct TriggerPage: Encodable {
    var triggers: [Trigger]
}
