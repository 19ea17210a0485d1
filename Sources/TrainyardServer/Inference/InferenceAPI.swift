import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import TrainyardCore
import TrainyardRuntime
import TrainyardServing

extension HTTPField.Name {
    /// The version that answered an inference request.
    public static let modelVersion = HTTPField.Name("X-Trainyard-Model-Version")!
    /// The model that answered an inference request.
    public static let modelName = HTTPField.Name("X-Trainyard-Model")!
    /// KServe V2 binary tensor extension: the JSON header's length, on requests and responses.
    public static let inferenceHeaderContentLength = HTTPField.Name(V2BinaryTensors.headerName)!
}

/// The inference plane: native, KServe V2, TensorFlow Serving REST, MLflow/SageMaker, the
/// replaced systems' `/predict` and `/ner`, and `/metrics`, as a route table for
/// `TrainyardHTTPServer.makeApplication(extraRoutes:)`.
///
/// ```swift
/// let inference = InferenceAPI(server: ModelServer(services: services), readiness: readiness)
/// let app = try TrainyardHTTPServer.makeApplication(services: services, readiness: readiness,
///                                                   extraRoutes: inference.routes, extraServices: [inference.server])
/// ```
public struct InferenceAPI: Sendable {
    public let server: ModelServer
    public let readiness: Readiness
    /// `Retry-After` seconds on 503s while a model loads.
    public var retryAfterSeconds: Int

    public init(server: ModelServer, readiness: Readiness, retryAfterSeconds: Int = 2) {
        self.server = server
        self.readiness = readiness
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// Builds the model server and its routes, wiring required-model loading into `readiness`.
    /// Roles get `options` from the application builder (`TrainyardApp.inference`): the
    /// configuration's `serving` section with its decisions (the artifact cache) applied.
    public static func make(services: TrainyardServices, readiness: Readiness, options: ServingOptions) -> InferenceAPI {
        let server = ModelServer(services: services, options: options, onReadinessChange: { reason in
            if let reason { readiness.markNotReady(reason) } else { readiness.markReady() }
        })
        // Not ready from the start (the server may accept connections before the watcher runs).
        if let reason = server.notReadyReason { readiness.markNotReady(reason) }
        return InferenceAPI(server: server, readiness: readiness)
    }

    public var routes: [APIRoute] {
        // Errors on the protocol routes come in each protocol's shape: `ErrorDialect(path:)`.
        nativeRoutes + v2Routes + tfServingRoutes + mlflowRoutes + legacyRoutes + [metricsRoute]
    }

    // MARK: Shared

    /// Records metrics for every inference request, whatever its outcome (the error itself is
    /// rendered by `ErrorMiddleware`).
    func instrumented(_ proto: String, _ handler: @escaping APIRoute.Handler) -> APIRoute.Handler {
        let metrics = server.metrics
        return { request, context in
            let start = ContinuousClock.now
            do {
                let response = try await handler(request, context)
                metrics.recordRequest(protocol: proto, model: response.headers[.modelName] ?? "", version: response.headers[.modelVersion] ?? "",
                                      status: response.status.code, seconds: (ContinuousClock.now - start).seconds)
                return response
            } catch {
                let status: Int
                switch error {
                case let e as TrainyardError: status = e.code.httpStatus
                case let e as any HTTPResponseError: status = e.status.code
                default: status = 500
                }
                metrics.recordRequest(protocol: proto, model: "", version: "", status: status, seconds: (ContinuousClock.now - start).seconds)
                throw error
            }
        }
    }

    static func isJSON(_ mediaType: String?) -> Bool {
        guard let t = mediaType else { return true }
        return t == "application/json" || t == "text/json" || t.hasSuffix("+json")
    }

    static func unsupported(_ mediaType: String, accepted: String) -> TrainyardError {
        TrainyardError(.unsupportedMediaType, "Content-Type \(clientEcho(mediaType)) is not supported here; send \(accepted)")
    }

    static func body(_ request: Request, _ context: TrainyardRequestContext) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: context.maxUploadSize)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw HTTPHelpers.tooLarge(context.maxUploadSize)
        }
    }

    /// A JSON body (415 for another media type, 400 for bad JSON, 413 beyond the limit).
    static func jsonBody(_ request: Request, _ context: TrainyardRequestContext) async throws -> JSONValue {
        let type = HTTPHelpers.mediaType(request)
        guard isJSON(type) else { throw unsupported(type ?? "", accepted: "application/json") }
        let buffer = try await body(request, context)
        return try FastJSON.parse(buffer.readableBytesView)
    }

    /// A V2 inference request: JSON, or with `Inference-Header-Content-Length` the binary tensor
    /// extension (JSON header + raw tensor bytes, decoded into each input's `data` here).
    static func v2Request(_ request: Request, _ context: TrainyardRequestContext, maxElements: Int) async throws -> JSONValue {
        let type = HTTPHelpers.mediaType(request)
        guard let headerLength = request.headers[.inferenceHeaderContentLength] else {
            if type == "application/octet-stream" {
                throw TrainyardError(.invalidArgument, "a binary V2 request needs the \(V2BinaryTensors.headerName) header (the JSON header's length in bytes)")
            }
            return try await jsonBody(request, context)
        }
        guard type == nil || type == "application/octet-stream" || isJSON(type) else {
            throw unsupported(type ?? "", accepted: "application/octet-stream or application/json")
        }
        let buffer = try await body(request, context)
        let (header, tail) = try V2BinaryTensors.split(Array(buffer.readableBytesView), headerLength: headerLength)
        return try V2BinaryTensors.inlineInputs(header, tail: tail, maxElements: maxElements)
    }

    /// A V2 answer with binary outputs: the JSON header, then their bytes.
    static func respondBinary(header: JSONValue, tail: [UInt8], model: ServedModel) -> Response {
        var bytes = FastJSON.serialize(header)
        var headers: HTTPFields = [.contentType: "application/octet-stream", .inferenceHeaderContentLength: String(bytes.count)]
        headers[.modelName] = model.name.rawValue
        headers[.modelVersion] = String(model.number)
        bytes += tail
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Rows from a JSON (protocol-specific `json`), CSV or (where `plainText` is given) text/plain body.
    static func rows(_ request: Request, _ context: TrainyardRequestContext, csv: Bool,
                     json: (JSONValue) throws(TrainyardError) -> [JSONValue],
                     plainText: ((ByteBuffer) throws -> [JSONValue])? = nil) async throws -> [JSONValue] {
        let type = HTTPHelpers.mediaType(request)
        if let plainText, type == "text/plain" {
            return try plainText(try await body(request, context))
        }
        if csv, type == "text/csv" || type == "application/csv" {
            return try Payloads.csvRows(try await body(request, context).readableBytesView)
        }
        guard isJSON(type) else { throw unsupported(type ?? "", accepted: csv ? "application/json or text/csv" : "application/json") }
        return try json(try FastJSON.parse(try await body(request, context).readableBytesView))
    }

    static func respond(_ value: JSONValue, model: ServedModel?, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = HTTPHelpers.jsonContentType
        if let model {
            headers[.modelName] = model.name.rawValue
            headers[.modelVersion] = String(model.number)
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: FastJSON.serialize(value))))
    }

    /// A model reference from path/query parts, validated (400 for a bad name, alias or number).
    static func reference(_ name: String, version: String? = nil, alias: String? = nil) throws -> ModelReference {
        let model = try ModelName(name)
        if version != nil && alias != nil { throw TrainyardError(.invalidArgument, "give either a version or an alias, not both") }
        if let version {
            guard let n = Int(version), n >= 1 else { throw TrainyardError(.invalidArgument, "version \"\(clientEcho(version))\" must be a positive integer") }
            return ModelReference(name: model, selector: .version(n))
        }
        if let alias { return ModelReference(name: model, selector: .alias(try AliasName(alias))) }
        return ModelReference(name: model)
    }

    func notReady(_ reason: String, status: String = "loading") -> Response {
        InferenceAPI.respond(.object(["status": .string(status), "reason": .string(reason)]), model: nil, status: .serviceUnavailable,
                             headers: [.retryAfter: String(retryAfterSeconds)])
    }

    /// The answer for a version whose last load failed and is not retried yet: 503 naming the
    /// reason (a client error's message; a server fault is only in the log) and when it is retried.
    static func loadFailed(_ reference: ModelReference, _ error: any Error, retryIn: Duration) -> TrainyardError {
        let reason = ToldError(error)?.message ?? "an internal error (see the server log)"
        let seconds = max(1, Int(retryIn.seconds.rounded(.up)))
        return TrainyardError(.unavailable, "\(reference) could not be loaded: \(reason); the server tries again in \(seconds) s")
    }

    /// The model `/invocations` and `/ping` serve: the configured one, else the only registered model.
    func defaultReference() async throws -> ModelReference {
        try await server.defaults.reference(for: .invocations)
    }

    // MARK: Operations

    var metricsRoute: APIRoute {
        // It names every model and version, so it needs a read token when tokens are configured
        // (Prometheus sends one with `authorization: {credentials: …}` in its scrape config).
        APIRoute(.get, "/metrics", scope: .read, operationID: "metrics", summary: "Prometheus metrics (text exposition format 0.0.4)", tag: "operations",
                 responses: [APIResponse(200, "Metrics", content: ["text/plain": Schema.string])]) { _, _ in
            // Serving, then jobs: queue depth from the store (bounded; absent when it does not answer) and this process's workers.
            let jobs = await JobMetrics.render(services: server.services)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: server.metrics.render() + jobs)))
        }
    }
}

/// Schemas of the inference plane, for the OpenAPI document.
enum InferenceSchema {
    static let rows = Schema.object(["inputs": Schema.anyValue, "instances": Schema.anyValue],
                                    description: "Rows: an array of records ({\"column\": value}) or strings (text models); or an object of columns")
    static let nativeAnswer = Schema.object(["model": Schema.string, "version": Schema.integer, "predictions": Schema.array(Schema.anyValue)],
                                            required: ["model", "version", "predictions"])
    static let predictions = Schema.object(["predictions": Schema.array(Schema.anyValue)])
    static let tensor = Schema.object(["name": Schema.string, "shape": Schema.array(Schema.integer), "datatype": Schema.string,
                                       "data": Schema.array(Schema.anyValue)], required: ["name", "shape", "datatype", "data"])
    static let v2Request = Schema.object(["id": Schema.string, "inputs": Schema.array(tensor), "outputs": Schema.array(Schema.anyValue),
                                          "parameters": Schema.anyValue], required: ["inputs"])
    static let binaryBody: JSONValue = .object(["type": .string("string"), "format": .string("binary")])
    static let v2Response = Schema.object(["model_name": Schema.string, "model_version": Schema.string, "id": Schema.string,
                                           "outputs": Schema.array(tensor)], required: ["model_name", "outputs"])
    static let entity = Schema.object(["text": Schema.string, "tag": Schema.string, "score": Schema.number, "start": Schema.integer, "end": Schema.integer])

    static let errors: [APIResponse] = [
        .error(400, "Malformed request or input not matching the model's schema (every problem listed in details)"),
        .error(404, "No such model, version or alias"),
        .error(413, "Body larger than server.max_body_bytes"),
        .error(415, "Unsupported Content-Type"),
        .error(503, "The model is loading or its serve process is unavailable"),
        .error(504, "The request timed out"),
    ]
}
