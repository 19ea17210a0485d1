import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TrainyardCore
import TrainyardServing

extension InferenceAPI {
    // MARK: Native

    var nativeRoutes: [APIRoute] {
        [
            APIRoute(.post, "/api/v1/models/{name}/predict", scope: .predict, operationID: "predict",
                     summary: "Predict with a model (default: alias production, else the latest version)", tag: "inference",
                     query: [APIParameter("version", "Version number to use", schema: Schema.integer), APIParameter("alias", "Alias to use")],
                     requestBody: APIRequestBody(["application/json": InferenceSchema.rows, "text/csv": Schema.string, "text/plain": Schema.string],
                                                 description: "Rows to score; text/plain for text models: one text per line (text classification) or one document (NER)"),
                     responses: [.json(200, "One prediction per row", InferenceSchema.nativeAnswer)] + InferenceSchema.errors,
                     handler: instrumented("native") { request, context in
                let reference = try Self.reference(Params.path(context, "name"), version: Params.string(request, "version"),
                                                   alias: Params.string(request, "alias"))
                let model = try await server.model(for: reference)
                let rows = try await Self.rows(request, context, csv: true, json: Payloads.nativeRows,
                                               plainText: { try Self.plainTextRows($0, model: model) })
                let predictions = try await model.predict(rows)
                return Self.respond(.object(["model": .string(model.name.rawValue), "version": .int(model.number), "predictions": .array(predictions)]),
                                    model: model)
            }),
        ]
    }

    // MARK: KServe Open Inference Protocol V2

    var v2Routes: [APIRoute] {
        let notReadyDoc = APIResponse.json(503, "Not ready (Retry-After)", Schema.anyValue)
        let metadata = Schema.object(["name": Schema.string, "versions": Schema.array(Schema.string), "platform": Schema.string,
                                      "inputs": Schema.array(Schema.anyValue), "outputs": Schema.array(Schema.anyValue)])
        var routes: [APIRoute] = [
            APIRoute(.get, "/v2", scope: nil, operationID: "v2ServerMetadata", summary: "V2 server metadata", tag: "kserve-v2",
                     responses: [.json(200, "Server metadata", Schema.anyValue)]) { _, _ in
                Self.respond(.object(["name": .string("trainyard"), "version": .string("1"), "extensions": .array([])]), model: nil)
            },
            APIRoute(.get, "/v2/health/live", scope: nil, operationID: "v2Live", summary: "V2 liveness", tag: "kserve-v2",
                     responses: [.json(200, "Live", Schema.anyValue)]) { _, _ in
                Self.respond(.object(["live": .bool(true)]), model: nil)
            },
            APIRoute(.get, "/v2/health/ready", scope: nil, operationID: "v2Ready", summary: "V2 readiness: 503 with Retry-After while required models load",
                     tag: "kserve-v2", responses: [.json(200, "Ready", Schema.anyValue), notReadyDoc]) { _, _ in
                if let reason = readiness.notReadyReason ?? server.notReadyReason { return notReady(reason) }
                return Self.respond(.object(["ready": .bool(true)]), model: nil)
            },
        ]
        for versioned in [false, true] {
            let base = versioned ? "/v2/models/{name}/versions/{version}" : "/v2/models/{name}"
            let suffix = versioned ? "Version" : ""
            @Sendable func reference(_ context: TrainyardRequestContext) throws -> ModelReference {
                try Self.reference(Params.path(context, "name"), version: versioned ? Params.path(context, "version") : nil)
            }
            routes += [
                APIRoute(.get, base, scope: .predict, operationID: "v2ModelMetadata\(suffix)", summary: "V2 model metadata", tag: "kserve-v2",
                         responses: [.json(200, "Model metadata", metadata)] + InferenceSchema.errors) { _, context in
                    let ref = try reference(context)
                    let version = try await server.services.store.resolve(ref)
                    let versions = try await server.services.store.versions(of: ref.name).filter { $0.status == .ready }.map { JSONValue.string(String($0.version)) }
                    let (inputs, outputs) = Payloads.v2Metadata(version)
                    return Self.respond(.object(["name": .string(ref.name.rawValue), "versions": .array(versions), "platform": .string("trainyard"),
                                                 "inputs": .array(inputs), "outputs": .array(outputs)]), model: nil)
                },
                // It starts a load, so it needs a token like inference does (open, it let anyone
                // churn the model cache and probe which model names exist).
                APIRoute(.get, base + "/ready", scope: .predict, operationID: "v2ModelReady\(suffix)",
                         summary: "V2 model readiness: 200 when loaded; 503 with Retry-After while it loads, or with the reason when its last load failed",
                         tag: "kserve-v2", responses: [.json(200, "Ready", Schema.anyValue), notReadyDoc] + InferenceSchema.errors) { _, context in
                    let ref = try reference(context)
                    if server.isLoaded(ref) { return Self.respond(.object(["name": .string(ref.name.rawValue), "ready": .bool(true)]), model: nil) }
                    let version = try await server.services.store.resolve(ref)  // 404 for an unknown model/version
                    if let failure = server.loadFailure(of: version) { throw Self.loadFailed(ref, failure.error, retryIn: failure.retryIn) }
                    server.prefetch(ref)
                    return notReady("\(ref) is loading")
                },
                APIRoute(.post, base + "/infer", scope: .predict, operationID: "v2Infer\(suffix)", summary: "V2 inference", tag: "kserve-v2",
                         query: [APIParameter(V2BinaryTensors.headerName, in: "header",
                                               "Binary tensor extension: the length in bytes of the JSON header that starts the body; the raw tensor data follows it",
                                               schema: Schema.integer)],
                         requestBody: APIRequestBody(["application/json": InferenceSchema.v2Request,
                                                      "application/octet-stream": InferenceSchema.binaryBody],
                                                     description: "Input tensors: JSON, or (with Inference-Header-Content-Length) a JSON header followed by each binary input's bytes"),
                         responses: [APIResponse(200, "Output tensors (binary outputs follow the JSON header; Inference-Header-Content-Length gives its length)",
                                                 content: ["application/json": InferenceSchema.v2Response, "application/octet-stream": InferenceSchema.binaryBody])]
                             + InferenceSchema.errors,
                         handler: instrumented("v2") { request, context in
                    let ref = try reference(context)
                    let body = try await Self.v2Request(request, context, maxElements: server.services.configuration.limits.tensorElements)
                    let model = try await server.model(for: ref)
                    let rows = try Payloads.v2Rows(body, schema: model.schema, maxElements: server.services.configuration.limits.tensorElements)
                    let outputs = try await model.predict(rows)
                    let selected = try V2BinaryTensors.selectOutputs(Payloads.v2Outputs(outputs, model: model), request: body)
                    var answer: [String: JSONValue] = ["model_name": .string(model.name.rawValue), "model_version": .string(String(model.number)),
                                                       "outputs": .array(selected.outputs)]
                    if let id = body["id"] { answer["id"] = id }
                    guard selected.binary else { return Self.respond(.object(answer), model: model) }
                    return Self.respondBinary(header: .object(answer), tail: selected.tail, model: model)
                }),
            ]
        }
        return routes
    }

    // MARK: TensorFlow Serving REST

    var tfServingRoutes: [APIRoute] {
        let predictBody = APIRequestBody(["application/json": Schema.object(["signature_name": Schema.string, "instances": Schema.array(Schema.anyValue),
                                                                            "inputs": Schema.anyValue])],
                                         description: "instances (row format) or inputs (columnar format)")
        let answer = Schema.object(["predictions": Schema.array(Schema.anyValue), "outputs": Schema.anyValue])
        func predict(_ path: String, _ id: String, _ summary: String, _ reference: @escaping @Sendable (TrainyardRequestContext) throws -> ModelReference) -> APIRoute {
            APIRoute(.post, path, scope: .predict, operationID: id, summary: summary, tag: "tensorflow-serving", requestBody: predictBody,
                     responses: [.json(200, "predictions (row format) or outputs (columnar format)", answer)] + InferenceSchema.errors,
                     handler: instrumented("tfserving") { request, context in
                let ref = try reference(context)
                let body = try await Self.jsonBody(request, context)
                let (rows, columnar) = try Payloads.tfServingRows(body)
                let model = try await server.model(for: ref)
                let outputs = try await model.predict(rows).map(model.plain)
                return Self.respond(.object([columnar ? "outputs" : "predictions": .array(outputs)]), model: model)
            })
        }
        func status(_ path: String, _ id: String, versioned: Bool) -> APIRoute {
            APIRoute(.get, path, scope: .predict, operationID: id, summary: "TF Serving model status", tag: "tensorflow-serving",
                     responses: [.json(200, "model_version_status", Schema.anyValue)] + InferenceSchema.errors) { _, context in
                let ref = try Self.reference(Params.path(context, "name"), version: versioned ? Params.path(context, "version") : nil)
                let version = try await server.services.store.resolve(ref)
                let loaded = server.isLoaded(ref)
                // TF Serving reports a version that failed to load as END with the error.
                let failure = loaded ? nil : server.loadFailure(of: version)
                if !loaded && failure == nil { server.prefetch(ref) }
                let state = loaded ? "AVAILABLE" : failure == nil ? "LOADING" : "END"
                let message = failure.map { Self.loadFailed(ref, $0.error, retryIn: $0.retryIn).message } ?? ""
                let entry: JSONValue = .object(["version": .string(String(version.version)), "state": .string(state),
                                                "status": .object(["error_code": .string(failure == nil ? "OK" : "UNAVAILABLE"),
                                                                   "error_message": .string(message)])])
                return Self.respond(.object(["model_version_status": .array([entry])]), model: nil)
            }
        }
        return [
            predict("/v1/models/{name}:predict", "tfPredict", "TF Serving predict (default version)") { context in
                try Self.reference(Params.path(context, "name"))
            },
            predict("/v1/models/{name}/versions/{version}:predict", "tfPredictVersion", "TF Serving predict with a version") { context in
                try Self.reference(Params.path(context, "name"), version: Params.path(context, "version"))
            },
            predict("/v1/models/{name}/labels/{alias}:predict", "tfPredictLabel", "TF Serving predict with a version label (alias)") { context in
                try Self.reference(Params.path(context, "name"), alias: Params.path(context, "alias"))
            },
            status("/v1/models/{name}", "tfModelStatus", versioned: false),
            status("/v1/models/{name}/versions/{version}", "tfModelStatusVersion", versioned: true),
        ]
    }

    // MARK: MLflow / SageMaker

    var mlflowRoutes: [APIRoute] {
        // Open to anyone (SageMaker pings without credentials), so with tokens configured a caller
        // without a predict token learns only whether the default model is resident: no load is
        // started for them and no model name is shown (nor in the X-Trainyard-Model header).
        // 200 means /invocations can serve now (SageMaker routes traffic on it); the model server
        // loads the default model at start (ModelServer.keepDefaultsLoaded), not on a probe.
        let ping: APIRoute.Handler = { _, context in
            if let reason = readiness.notReadyReason ?? server.notReadyReason { return notReady(reason) }
            let trusted = server.services.configuration.tokens.isEmpty || context.caller?.allows(.predict) == true
            // Nothing to serve is a 404, not a 503: waiting does not help (a model must be trained or
            // named), and it is the registry's state, not a server fault.
            @Sendable func nothingToServe(_ error: TrainyardError) -> Response {
                Self.respond(.object(["status": .string("no_model"), "reason": .string(trusted ? error.message : "there is no default model to serve")]),
                             model: nil, status: .notFound)
            }
            let ref: ModelReference
            do { ref = try await defaultReference() } catch let error as TrainyardError where error.code == .notFound || error.code == .invalidArgument {
                return nothingToServe(error)
            }
            if let model = server.cached(ref) { return Self.respond(.object(["status": .string("ok")]), model: trusted ? model : nil) }
            let version: ModelVersion
            do { version = try await server.services.store.resolve(ref) } catch let error as TrainyardError where error.code == .notFound {
                return nothingToServe(error)
            }
            guard trusted else { return notReady("the default model is not loaded yet") }
            if let failure = server.loadFailure(of: version) {
                return notReady(Self.loadFailed(ref, failure.error, retryIn: failure.retryIn).message, status: "failed")
            }
            server.prefetch(ref)
            return notReady("\(ref) is loading")
        }
        return [
            APIRoute(.get, "/ping", scope: nil, operationID: "ping",
                     summary: "SageMaker/MLflow health: 200 only when /invocations can serve (the default model is loaded); 503 with Retry-After while it loads, 404 when there is no default model", tag: "mlflow-sagemaker",
                     responses: [.json(200, "Healthy", Schema.anyValue), .json(404, "No default model to serve", Schema.anyValue),
                                 .json(503, "Loading", Schema.anyValue)], handler: ping),
            APIRoute(.get, "/health", scope: nil, operationID: "mlflowHealth", summary: "MLflow scoring server health (as /ping)", tag: "mlflow-sagemaker",
                     responses: [.json(200, "Healthy", Schema.anyValue), .json(404, "No default model to serve", Schema.anyValue),
                                 .json(503, "Loading", Schema.anyValue)], handler: ping),
            APIRoute(.post, "/invocations", scope: .predict, operationID: "invocations",
                     summary: "MLflow/SageMaker scoring of the default model: dataframe_split, dataframe_records, instances, inputs, or CSV (header-less in the model's column order, or with a header naming them); answers in JSON, or CSV / JSON Lines per Accept",
                     tag: "mlflow-sagemaker",
                     query: [APIParameter("Accept", in: "header", "text/csv (one line per row), application/jsonlines (one prediction per line) or application/json (the default)")],
                     requestBody: APIRequestBody(["application/json": Schema.anyValue, "text/csv": Schema.string], description: "Rows to score"),
                     responses: [APIResponse(200, "Predictions", content: ["application/json": InferenceSchema.predictions,
                                                                           ScoringAnswerFormat.csvType: Schema.string,
                                                                           ScoringAnswerFormat.jsonLinesType: Schema.string])] + InferenceSchema.errors,
                     handler: instrumented("mlflow") { request, context in
                let model = try await server.model(for: try await defaultReference())
                if case .command = model.backend, !model.schema.isTabular {
                    // A bring-your-own model gets the request exactly as sent.
                    let type = HTTPHelpers.mediaType(request)
                    guard Self.isJSON(type) || type == "text/csv" else { throw Self.unsupported(type ?? "", accepted: "application/json or text/csv") }
                    let body = try await Self.body(request, context)
                    let (data, contentType) = try await model.forward(body: Data(buffer: body), contentType: type ?? "application/json")
                    var headers: HTTPFields = [.contentType: contentType]
                    headers[.modelName] = model.name.rawValue
                    headers[.modelVersion] = String(model.number)
                    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
                }
                let format = ScoringAnswerFormat.negotiate(request.headers[.accept])
                let type = HTTPHelpers.mediaType(request)
                let rows: [JSONValue]
                if type == "text/csv" || type == "application/csv", case .tabular(let columns, _) = model.schema {
                    // SageMaker sends CSV without a header, columns in the model's order.
                    rows = try Payloads.csvRows(try await Self.body(request, context).readableBytesView, columns: columns.map(\.name))
                } else {
                    rows = try await Self.rows(request, context, csv: true, json: Payloads.mlflowRows)
                }
                let outputs = try await model.predict(rows).map(model.plain)
                var headers: HTTPFields = [.contentType: format.contentType]
                headers[.modelName] = model.name.rawValue
                headers[.modelVersion] = String(model.number)
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: format.render(outputs))))
            }),
        ]
    }

    // MARK: The replaced systems

    var legacyRoutes: [APIRoute] {
        [
            APIRoute(.post, "/predict", scope: .predict, operationID: "legacyPredict",
                     summary: "The replaced sentiment service: {\"text\": …} → {\"score\": P(positive)}; the model: ?model=, else serving.text_model (default sentiment), else the only text-classification model",
                     tag: "compatibility", query: [Self.modelQuery],
                     requestBody: APIRequestBody(["application/json": Schema.object(["text": Schema.string], required: ["text"])], description: "The text"),
                     responses: [.json(200, "The score", Schema.object(["score": Schema.number], required: ["score"]))] + InferenceSchema.errors,
                     handler: instrumented("predict") { request, context in
                let body = try await Self.jsonBody(request, context)
                guard case .object(let o) = body else { throw TrainyardError(.invalidInput, "the body must be a JSON object {\"text\": …}") }
                guard case .string(let text)? = o["text"] else {
                    throw TrainyardError(.invalidInput, "the input does not match the model's schema",
                                         details: [.init(path: "text", message: o["text"] == nil ? "missing field \"text\" (string)" : "field \"text\" must be a string")])
                }
                let extra = o.keys.filter { $0 != "text" }.sorted()
                guard extra.isEmpty else {
                    throw TrainyardError(.invalidInput, "the input does not match the model's schema",
                                         details: extra.map { .init(path: $0, message: "unknown field \"\($0)\"; send {\"text\": …}") })
                }
                let model = try await taskModel(.text, request)
                let output = try await model.predict([.string(text)])[0]
                let score = output["score"] ?? output["probabilities"]?[output["label"]?.stringValue ?? ""] ?? .null
                return Self.respond(.object(["score": score]), model: model)
            }),
            APIRoute(.post, "/ner", scope: .predict, operationID: "legacyNER",
                     summary: "The replaced NER service: plain text → [{text, tag, score, start, end}]; the model: ?model=, else serving.ner_model (default ner-wikigold), else the only NER model",
                     tag: "compatibility", query: [Self.modelQuery],
                     requestBody: APIRequestBody(["text/plain": Schema.string, "application/json": Schema.object(["text": Schema.string])], description: "The text"),
                     responses: [.json(200, "Entities with character offsets", Schema.array(InferenceSchema.entity))] + InferenceSchema.errors,
                     handler: instrumented("ner") { request, context in
                let type = HTTPHelpers.mediaType(request)
                let text: String
                if type == nil || type == "text/plain" {
                    let buffer = try await Self.body(request, context)
                    text = String(decoding: buffer.readableBytesView, as: UTF8.self)
                } else if Self.isJSON(type) {
                    guard case .string(let t)? = try await Self.jsonBody(request, context)["text"] else {
                        throw TrainyardError(.invalidInput, "a JSON body must be {\"text\": \"…\"}")
                    }
                    text = t
                } else {
                    throw Self.unsupported(type ?? "", accepted: "text/plain (or application/json {\"text\": …})")
                }
                let model = try await taskModel(.ner, request)
                let output = try await model.predict([.string(text)])[0]
                return Self.respond(output, model: model)
            }),
        ]
    }
}

extension InferenceAPI {
    static let modelQuery = APIParameter("model", "The model to serve (name, name@alias or name:N); default: the configured one, else the only model of the task")

    /// The model `/predict` (`.text`) or `/ner` serves for `request` (`?model=` first); 400 when
    /// the named model is of another task.
    func taskModel(_ route: ServingDefaults.Route, _ request: Request) async throws -> ServedModel {
        let requested = Params.string(request, "model")
        let model = try await server.model(for: try await server.defaults.reference(for: route, requested: requested))
        let task: TaskKind = route == .ner ? .ner : .textClassification
        guard model.task == task else {
            throw TrainyardError(.invalidArgument, "model \(model.name) is a \(model.task.rawValue) model; \(route == .ner ? "/ner" : "/predict") serves \(task.rawValue) models")
        }
        return model
    }

    /// A text/plain body as rows: one text per non-empty line for a text classifier (a file of
    /// sentences scored in one request), the whole body as one document for NER. 415 otherwise.
    static func plainTextRows(_ buffer: ByteBuffer, model: ServedModel) throws -> [JSONValue] {
        let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
        switch model.task {
        case .ner:
            return [.string(text)]
        case .textClassification:
            var lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
                .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
            lines.removeAll { $0.allSatisfy(\.isWhitespace) }
            guard !lines.isEmpty else { throw TrainyardError(.invalidInput, "the text/plain body has no text: send one text per line") }
            return lines.map { .string(String($0)) }
        default:
            throw unsupported("text/plain", accepted: "application/json or text/csv (text/plain is for text models)")
        }
    }
}

extension InputSchema {
    var isTabular: Bool { if case .tabular = self { return true } else { return false } }
}
