import Foundation
import Hummingbird
import TrainyardCore
import TrainyardRuntime

extension ControlAPI {
    var transformRoutes: [APIRoute] {
        [
            APIRoute(.post, "/api/v1/transforms", scope: .train, operationID: "submitTransform",
                     summary: "Score a file or a folder with a model: checked, then enqueued as a job of kind transform", tag: "jobs",
                     query: [
                        APIParameter("Idempotency-Key", in: "header",
                                     "Overrides the key derived from the input's identity, the model version and the options",
                                     schema: .object(["type": .string("string"), "minLength": .int(1), "maxLength": .int(EnqueueRequest.maxIdempotencyKeyLength)])),
                     ],
                     requestBody: APIRequestBody(["application/json": Schema.ref("TransformRequest")], description: "What to score and where"),
                     responses: [
                        .json(201, "The queued transform job", Schema.ref("Job")),
                        .json(200, "The job an identical earlier request made (same input files, model version and options)", Schema.ref("Job")),
                        .error(400, "Invalid request: a model that does not exist, an input that cannot be read or that the model cannot score, an output folder that cannot be written"),
                        .error(403, "The token lacks the train scope, or the input or output is not under server.data_roots"),
                        .error(413, "Body larger than server.max_body_bytes"),
                        .error(415, "Unsupported media type"),
                     ], handler: submitTransform),
        ]
    }

    @Sendable func submitTransform(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        let media = HTTPHelpers.mediaType(request) ?? "application/json"
        guard media == "application/json" else {
            throw TrainyardError(.unsupportedMediaType, "unsupported media type \"\(media)\"; send the transform request as application/json")
        }
        let idempotencyKey = request.headers[.idempotencyKey]
        if let key = idempotencyKey { try EnqueueRequest.checkIdempotencyKey(key) }
        let body = try await HTTPHelpers.readBody(request, limit: min(context.maxUploadSize, 1 << 20))
        let transform = try HTTPHelpers.decodeBody(TransformRequest.self, from: body, what: "transform request")
        let options = TransformSubmitter.Options(submittedBy: context.actor, access: DataAccessPolicy.forHTTPSubmissions(services.configuration),
                                                 idempotencyKey: idempotencyKey)
        let (job, created) = try await services.transformSubmitter.submission(transform, options: options)
        context.logger.info("transform submitted", metadata: ["trainyard.job.id": .stringConvertible(job.id), "trainyard.caller": .string(context.actor)])
        return try HTTPHelpers.json(job, status: created ? .created : .ok, headers: [.location: "/api/v1/jobs/\(job.id)"])
    }
}
