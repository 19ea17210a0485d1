import Foundation
import Hummingbird
import Synchronization
import TrainyardCore
import TrainyardServing

extension ControlAPI {
    var evaluateRoutes: [APIRoute] {
        [
            // The train scope: the request makes the server read data (a blob uploaded with a
            // train token, or a file under server.data_roots), as a submitted spec does.
            APIRoute(.post, "/api/v1/models/{name}/evaluate", scope: .train, operationID: "evaluateModel",
                     summary: "Metrics of a version on labelled data (an uploaded blob, an s3:// object, or a file the server may read), in the training data's format",
                     tag: "models",
                     query: [APIParameter("version", "Version number to evaluate", schema: Schema.integer),
                             APIParameter("alias", "Alias to evaluate (default: alias production, else the latest version)")],
                     requestBody: APIRequestBody(["application/json": Schema.ref("EvaluationRequest")], description: "Where the labelled data is"),
                     responses: [
                        .json(200, "The metrics", Schema.ref("Evaluation")),
                        .error(400, "Invalid request, a data location that cannot be read, a blob not uploaded, data the model cannot score, or a bring-your-own model"),
                        .error(403, "The token lacks the train scope, or the data is not an uploaded blob, an s3:// object nor under server.data_roots"),
                        .error(409, "The s3:// object changed while it was read"),
                        .error(404, "No such model or version"),
                        .error(413, "Body larger than allowed"),
                        .error(415, "Unsupported media type"),
                        .error(503, "The server is evaluating as many models as it allows at once; retry later"),
                     ], handler: evaluateModel),
        ]
    }

    struct EvaluationRequest: Decodable {
        var data: String
    }

    @Sendable func evaluateModel(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        let media = HTTPHelpers.mediaType(request) ?? "application/json"
        guard media == "application/json" else {
            throw TrainyardError(.unsupportedMediaType, "unsupported media type \"\(media)\"; send the evaluation request as application/json")
        }
        let reference = try InferenceAPI.reference(Params.path(context, "name"), version: Params.string(request, "version"),
                                                   alias: Params.string(request, "alias"))
        let body = try await HTTPHelpers.readBody(request, limit: min(context.maxUploadSize, 64 << 10))
        try Self.rejectUnknownKeys(body, allowed: ["data"], what: "evaluation request")
        let location = try HTTPHelpers.decodeBody(EvaluationRequest.self, from: body, what: "evaluation request").data
        guard evaluations.take() else {
            throw TrainyardError(.unavailable, "the server is already evaluating \(evaluations.limit) model(s), as many as it runs at once; retry shortly")
        }
        defer { evaluations.giveBack() }
        // The version first: an unknown model or a bring-your-own one is answered before any data is read.
        let version = try await services.store.resolve(reference)
        try ModelEvaluation.checkEvaluable(version)
        let configuration = services.configuration
        let data = try await EvaluationData(artifacts: services.artifacts, dataObjects: services.dataObjects,
                                            access: DataAccessPolicy.forHTTPSubmissions(configuration), limits: configuration.limits).read(location)
        let result = try await ModelEvaluation(store: services.store, artifacts: services.artifacts)
            .evaluate(version, data: data, dataName: clientEcho(location))
        context.logger.info("model evaluated", metadata: ["trainyard.model": .string(result.model), "trainyard.version": .stringConvertible(result.version),
                                                          "trainyard.rows": .stringConvertible(result.rows), "trainyard.caller": .string(context.actor)])
        return try HTTPHelpers.json(result)
    }
}

/// How many evaluations a server runs at once: each holds its data (up to
/// `limits.stage_bytes`) and a model in memory and keeps a core busy, so past the limit a
/// request is refused at once (503) rather than queued behind the others.
final class EvaluationSlots: Sendable {
    let limit: Int
    private let inUse = Mutex(0)

    init(limit: Int = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)) { self.limit = limit }

    /// Takes a slot; false when all are taken.
    func take() -> Bool {
        inUse.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    /// Gives back a slot `take` gave.
    func giveBack() { inUse.withLock { $0 -= 1 } }
}
