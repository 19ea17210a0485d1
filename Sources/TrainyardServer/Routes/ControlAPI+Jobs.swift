import Foundation
import Hummingbird
import TrainyardCore
import TrainyardRuntime

extension ControlAPI {
    static let specMediaTypes: Set<String> = ["application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml", "text/plain", "application/json"]

    var jobRoutes: [APIRoute] {
        let jobResponse = APIResponse.json(200, "The job", Schema.ref("Job"))
        let idNotFound = APIResponse.error(404, "No such job")
        let badID = APIResponse.error(400, "The id is not a positive integer")
        let yaml: JSONValue = Schema.with(Schema.string, description: "The spec as YAML")
        return [
            APIRoute(.post, "/api/v1/jobs", scope: .train, operationID: "submitJob",
                     summary: "Submit a training spec; it is parsed, checked and staged, then enqueued", tag: "jobs",
                     query: [
                        APIParameter("priority", "Overrides the spec's priority (higher runs first)", schema: Schema.integer),
                        APIParameter("delay", "Do not start before this duration has passed (30s, 5m, 2h)"),
                        APIParameter("Idempotency-Key", in: "header",
                                     "Submitting again with the same key returns the job the first submission made (200) instead of a second one",
                                     schema: .object(["type": .string("string"), "minLength": .int(1), "maxLength": .int(EnqueueRequest.maxIdempotencyKeyLength)])),
                     ],
                     requestBody: APIRequestBody([
                        "application/yaml": yaml, "text/yaml": yaml, "application/x-yaml": yaml, "text/plain": yaml,
                        "application/json": .object(["oneOf": .array([Schema.ref("Spec"), Schema.ref("JobSubmission")])]),
                     ], description: "The spec (YAML or JSON), or {\"spec\": text-or-object, \"staged\": [DataDigest]}"),
                     responses: [
                        .json(201, "The queued job", Schema.ref("Job")),
                        .json(200, "The job an earlier submission with this Idempotency-Key made", Schema.ref("Job")),
                        .error(400, "Invalid spec: details name each offending key with its line and column"),
                        .error(403, "The token lacks the required scope, or the spec names data this server does not read for others (only uploaded blobs, s3:// URIs and files under server.data_roots)"),
                        .error(413, "Body larger than server.max_body_bytes"),
                        .error(415, "Unsupported media type"),
                     ], handler: submitJob),
            APIRoute(.get, "/api/v1/jobs", scope: .read, operationID: "listJobs",
                     summary: "List jobs, newest first; ?state=failed is the dead-letter listing", tag: "jobs",
                     query: [
                        APIParameter("state", "Repeat or comma-separate: queued, running, succeeded, failed, cancelled", schema: Schema.array(Schema.enumeration(JobState.allCases.map(\.rawValue)))),
                        APIParameter("kind", "train or transform", schema: Schema.enumeration(JobKind.allCases.map(\.rawValue))),
                        APIParameter("model", "Only jobs of this model"),
                        APIParameter("limit", "Page size, 1–1000 (default 100)", schema: .object(["type": .string("integer"), "minimum": .int(1), "maximum": .int(1000)])),
                        APIParameter("before", "Only jobs with an id below this (next page: next_before)", schema: .object(["type": .string("integer"), "minimum": .int(1)])),
                     ],
                     responses: [.json(200, "A page of jobs", Schema.ref("JobList")), .error(400, "Invalid filter")],
                     handler: listJobs),
            APIRoute(.get, "/api/v1/jobs/{id}", scope: .read, operationID: "getJob", summary: "Show a job", tag: "jobs",
                     responses: [jobResponse, badID, idNotFound]) { _, context in
                let id = try Params.jobID(context)
                guard let job = try await services.store.job(id) else { throw TrainyardError.notFound("job \(id)") }
                return try HTTPHelpers.json(job)
            },
            APIRoute(.post, "/api/v1/jobs/{id}/cancel", scope: .train, operationID: "cancelJob",
                     summary: "Cancel a queued job at once, or ask a running one to stop", tag: "jobs",
                     responses: [jobResponse, badID, idNotFound, .error(409, "The job is already finished")]) { _, context in
                let id = try Params.jobID(context)
                guard try await services.store.job(id) != nil else { throw TrainyardError.notFound("job \(id)") }
                let job = try await services.store.cancel(id)
                context.logger.info("job cancel requested", metadata: ["trainyard.job.id": .stringConvertible(id), "trainyard.caller": .string(context.actor)])
                return try HTTPHelpers.json(job)
            },
            APIRoute(.get, "/api/v1/jobs/{id}/logs", scope: .read, operationID: "getJobLogs",
                     summary: "A job's log lines after a sequence number; follow=true or Accept: text/event-stream streams them (events log, progress, end)",
                     tag: "jobs",
                     query: [
                        APIParameter("after", "Only lines with a sequence above this (default 0)", schema: .object(["type": .string("integer"), "minimum": .int(0)])),
                        APIParameter("limit", "At most this many lines, 1–10000 (default 1000; not streaming)", schema: .object(["type": .string("integer"), "minimum": .int(1), "maximum": .int(10000)])),
                        APIParameter("follow", "Stream as server-sent events until the job finishes", schema: Schema.boolean),
                     ],
                     responses: [
                        APIResponse(200, "Log lines (JSON page, JSON lines with Accept: application/x-ndjson, or an SSE stream)", content: [
                            "application/json": Schema.ref("LogPage"),
                            "application/x-ndjson": Schema.ref("LogLine"),
                            "text/event-stream": Schema.with(Schema.string, description: "id: <seq>\\nevent: log|progress|end\\ndata: <json>"),
                        ]),
                        badID, idNotFound,
                     ], handler: jobLogs),
            APIRoute(.get, "/api/v1/jobs/{id}/events", scope: .read, operationID: "followJob",
                     summary: "Server-sent events of a job's state and progress (event progress), ending with event end and the final job",
                     tag: "jobs",
                     responses: [
                        APIResponse(200, "An SSE stream", content: ["text/event-stream": Schema.with(Schema.string, description: "event: progress|end\\ndata: <json>")]),
                        badID, idNotFound,
                     ]) { _, context in
                let id = try Params.jobID(context)
                guard try await services.store.job(id) != nil else { throw TrainyardError.notFound("job \(id)") }
                return JobEventStream(store: services.store, jobID: id, after: nil, options: options).response()
            },
        ]
    }

    @Sendable func submitJob(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        let media = HTTPHelpers.mediaType(request) ?? "application/yaml"
        guard Self.specMediaTypes.contains(media) else {
            throw TrainyardError(.unsupportedMediaType, "unsupported media type \"\(media)\"; send the spec as application/yaml, text/yaml, application/x-yaml, text/plain or application/json")
        }
        let idempotencyKey = request.headers[.idempotencyKey]
        if let key = idempotencyKey {
            try EnqueueRequest.checkIdempotencyKey(key)
            // A retried submission: answer with the first one's job, without reading the body again.
            if let existing = try await services.store.job(idempotencyKey: key) {
                return try HTTPHelpers.json(existing, status: .ok, headers: [.location: "/api/v1/jobs/\(existing.id)"])
            }
        }
        let priority = try Params.int(request, "priority")
        var delay: Duration?
        if let raw = Params.string(request, "delay") {
            guard let d = DurationText.parse(raw) else {
                throw TrainyardError(.invalidArgument, "query parameter delay=\"\(raw)\" must be a duration such as 30s, 5m or 2h")
            }
            delay = d
        }
        let body = try await HTTPHelpers.readBody(request, limit: context.maxUploadSize)
        guard let text = String(data: body, encoding: .utf8) else {
            throw TrainyardError(.invalidSpec, "invalid spec: the body is not UTF-8 text")
        }
        var specText = text
        var staged: [DataDigest] = []
        if media == "application/json", let wrapper = try Self.submissionWrapper(body) {
            specText = wrapper.text
            staged = wrapper.staged
        }
        // Specs from others name only blobs, s3:// or files under server.data_roots (DataAccessPolicy).
        let access = DataAccessPolicy.forHTTPSubmissions(services.configuration)
        let job = try await services.submitter.submit(specText, options: .init(baseDirectory: nil, submittedBy: context.actor, priority: priority,
                                                                               delay: delay, staged: staged, access: access,
                                                                               idempotencyKey: idempotencyKey))
        context.logger.info("job submitted", metadata: ["trainyard.job.id": .stringConvertible(job.id), "trainyard.model": .string(job.model.rawValue),
                                                        "trainyard.caller": .string(context.actor)])
        return try HTTPHelpers.json(job, status: .created, headers: [.location: "/api/v1/jobs/\(job.id)"])
    }

    /// `{"spec": "<text>" | {...}, "staged": [...]}` → the spec text and pre-staged digests; nil when the
    /// body is a bare spec (or not JSON at all: the spec parser then reports the syntax error with its position).
    static func submissionWrapper(_ body: Data) throws -> (text: String, staged: [DataDigest])? {
        guard let value = try? JSON.decode(JSONValue.self, from: body), case .object(let object) = value, let spec = object["spec"] else {
            return nil
        }
        let unknown = Set(object.keys).subtracting(["spec", "staged"])
        guard unknown.isEmpty else {
            throw TrainyardError(.invalidArgument, "unknown key(s) \(unknown.sorted().joined(separator: ", ")) in the submission; expected spec and staged")
        }
        let text: String
        switch spec {
        case .string(let s): text = s
        case .object: text = try JSON.encodeString(spec)
        default: throw TrainyardError(.invalidArgument, "\"spec\" must be the spec's text or a JSON object")
        }
        var staged: [DataDigest] = []
        if let raw = object["staged"], raw != .null {
            staged = try HTTPHelpers.decodeBody([DataDigest].self, from: JSON.encode(raw), what: "staged")
        }
        return (text, staged)
    }

    @Sendable func listJobs(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        var filter = JobFilter()
        filter.states = Set(try Params.all(request, "state").map { try Params.enumValue($0, "state", as: JobState.self) })
        if let kind = Params.string(request, "kind") { filter.kind = try Params.enumValue(kind, "kind", as: JobKind.self) }
        if let model = Params.string(request, "model") { filter.model = try ModelName(model) }
        filter.limit = try Params.int(request, "limit", in: 1...1000) ?? 100
        if let before = Params.string(request, "before") {
            guard let id = JobID(before), id >= 1 else { throw TrainyardError(.invalidArgument, "query parameter before=\"\(before)\" must be a positive integer") }
            filter.beforeID = id
        }
        let jobs = try await services.store.jobs(filter)
        struct Page: Encodable {
            var jobs: [Job]
            var nextBefore: JobID?
            enum CodingKeys: String, CodingKey { case jobs; case nextBefore = "next_before" }
        }
        return try HTTPHelpers.json(Page(jobs: jobs, nextBefore: jobs.count == filter.limit ? jobs.last?.id : nil))
    }

    @Sendable func jobLogs(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        let id = try Params.jobID(context)
        var after: Int64 = 0
        // An EventSource reconnecting sends the last id it saw; an explicit ?after= wins.
        if let raw = Params.string(request, "after") ?? request.headers[.lastEventID] {
            guard let v = Int64(raw), v >= 0 else { throw TrainyardError(.invalidArgument, "after=\"\(raw)\" (query parameter or Last-Event-ID) must be a non-negative integer") }
            after = v
        }
        let accept = request.headers[.accept]?.lowercased() ?? ""
        let follow = try Params.bool(request, "follow") ?? accept.contains("text/event-stream")
        let limit = try Params.int(request, "limit", in: 1...10_000) ?? 1000
        guard try await services.store.job(id) != nil else { throw TrainyardError.notFound("job \(id)") }
        if follow {
            return JobEventStream(store: services.store, jobID: id, after: after, options: options).response()
        }
        let lines = try await services.store.logs(id, after: after, limit: limit)
        if accept.contains("application/x-ndjson") || accept.contains("application/jsonl") {
            var text = ""
            for line in lines { text += try JSON.encodeString(line) + "\n" }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        struct Page: Encodable {
            var lines: [LogLine]
            var nextAfter: Int64
            enum CodingKeys: String, CodingKey { case lines; case nextAfter = "next_after" }
        }
        return try HTTPHelpers.json(Page(lines: lines, nextAfter: lines.last?.sequence ?? after))
    }
}
