import Foundation
import Logging
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime
import TrainyardTabular
import TrainyardText

/// One model version loaded and warmed, ready to answer: a native predictor (tabular, text,
/// NER) or a supervised bring-your-own serve process.
///
/// Immutable and shared by all requests; a request holds it for its whole duration, so a
/// version being swapped out finishes the requests already on it (drain) before it goes.
public final class ServedModel: Sendable {
    public enum Backend: Sendable {
        case tabular(TabularPredictor, MicroBatcher<[String: FeatureValue], TabularPrediction>)
        case text(TextClassifier, MicroBatcher<String, TextPrediction>)
        case entities(EntityRecognizer)
        case command(CommandModelProcess)
    }

    public let version: ModelVersion
    public let schema: InputSchema
    public let backend: Backend
    /// Bytes of the version's artifacts: the cost counted against the memory budget.
    public let sizeBytes: Int64
    /// Past it a request answers 504 (`ServingOptions.requestTimeout`).
    public let requestTimeout: Duration

    public var name: ModelName { version.model }
    public var number: Int { version.version }
    public var task: TaskKind { version.manifest.task }

    init(version: ModelVersion, backend: Backend, requestTimeout: Duration = .seconds(30)) {
        self.version = version
        self.requestTimeout = requestTimeout
        self.schema = InputSchema(manifest: version.manifest)
        self.backend = backend
        self.sizeBytes = version.manifest.artifacts.reduce(0) { $0 + $1.bytes }
    }

    /// Loads (download + verify + parse) and warms `version`.
    static func load(_ version: ModelVersion, services: TrainyardServices, options: ServingOptions, metrics: ServingMetrics,
                     logger: Logger) async throws -> ServedModel {
        let name = version.model.rawValue, number = version.version
        let onBatch: @Sendable (Int) -> Void = { rows in metrics.recordBatch(model: name, version: number, rows: rows) }
        let model: ServedModel
        switch version.manifest.task {
        case .command:
            guard let serve = version.manifest.serve, !serve.isEmpty else {
                throw TrainyardError(.invalidArgument, "\(name):\(number) is a bring-your-own model without a serve command (add serve: to its spec)")
            }
            let process = CommandModelProcess(version: version, command: serve, services: services, options: options.command,
                                              metrics: metrics, logger: logger)
            try await process.start()
            model = ServedModel(version: version, backend: .command(process), requestTimeout: options.requestTimeout)
        default:
            let native = try await NativeModel.load(version, reader: ArtifactReader(artifacts: services.artifacts))
            switch native {
            case .tabular(let p):
                let batcher = MicroBatcher<[String: FeatureValue], TabularPrediction>(
                    maxBatchRows: options.maxBatchRows, maxWait: options.maxBatchWait, onBatch: onBatch) { records in
                    try p.predict(records: records)
                }
                model = ServedModel(version: version, backend: .tabular(p, batcher), requestTimeout: options.requestTimeout)
            case .text(let c):
                let batcher = MicroBatcher<String, TextPrediction>(maxBatchRows: options.maxBatchRows, maxWait: options.maxBatchWait,
                                                                  onBatch: onBatch) { texts in try c.predict(texts) }
                model = ServedModel(version: version, backend: .text(c, batcher), requestTimeout: options.requestTimeout)
            case .entities(let r):
                model = ServedModel(version: version, backend: .entities(r), requestTimeout: options.requestTimeout)
            }
        }
        model.warmUp(logger: logger)
        return model
    }

    /// Scores once so first requests do not pay for lazy initialisation (page faults, caches).
    func warmUp(logger: Logger) {
        do {
            switch backend {
            case .tabular(let p, _):
                _ = try p.predict(records: [Dictionary(uniqueKeysWithValues: p.schema.features.map { ($0.name, FeatureValue.missing) })])
            case .text(let c, _): _ = try c.predict(["warm up"])
            case .entities(let r): _ = try r.recognize("Warm up in Paris.")
            case .command: break  // ready once /ping answers 200
            }
        } catch {
            logger.debug("warm-up prediction failed", metadata: ["trainyard.model": .string("\(name):\(number)"), "error.description": .string("\(error)")])
        }
    }

    /// Predictions for rows (records or arrays for tabular models, strings or `{"text"}` for
    /// text models), one JSON value per row: `{"prediction"}` (regression), `{"label",
    /// "probabilities"}` (classification), `{"label", "probabilities", "score"}` (text), entity
    /// arrays (NER), or whatever a bring-your-own model answers.
    ///
    /// - Throws: `.invalidInput` (400) listing every missing, extra or mistyped field;
    ///   `.timeout` (504) past `requestTimeout`.
    public func predict(_ rows: [JSONValue]) async throws -> [JSONValue] {
        // A single-row native prediction takes microseconds: it skips the deadline's two tasks.
        // Calls to a serve process and large requests race the deadline.
        if case .command = backend {
            return try await withDeadline(requestTimeout, what: "the prediction of \(name):\(number)") { try await self.score(rows) }
        }
        if rows.count > Self.rowsWithoutDeadline || Self.textBytes(rows) > Self.textBytesWithoutDeadline {
            // A large request is a batch already, and may take a while: it is scored on a
            // dispatch queue, off the concurrency pool, so the deadline (and every other request)
            // still gets a thread while it runs.
            return try await withDeadline(requestTimeout, what: "the prediction of \(name):\(number) (\(rows.count) rows)") {
                try await runBlocking { try self.scoreNow(rows) }
            }
        }
        return try await score(rows)
    }

    /// Scores a native model synchronously, bypassing micro-batching (for requests that are
    /// batches already).
    private func scoreNow(_ rows: [JSONValue]) throws -> [JSONValue] {
        do {
            switch backend {
            case .tabular(_, let batcher):
                return try batcher.runDirectly(try schema.records(rows)).map(NativeModel.json)
            case .text(_, let batcher):
                return try batcher.runDirectly(try InputSchema.texts(rows)).map(NativeModel.json)
            case .entities(let r):
                return try InputSchema.texts(rows).map { text in .array(try r.recognize(text).map(NativeModel.json)) }
            case .command:
                throw TrainyardError(.internal, "a bring-your-own model is not scored in process")
            }
        } catch let error as TrainyardError {
            throw error
        } catch {
            throw TrainyardError(.invalidInput, "\(error)")
        }
    }

    /// Forwards a request body as is to a bring-your-own model's `/invocations` (MLflow/SageMaker
    /// clients whose payload only the model understands), within the request deadline.
    public func forward(body: Data, contentType: String) async throws -> (Data, String) {
        guard case .command(let process) = backend else {
            throw TrainyardError(.invalidArgument, "\(name):\(number) is a native model; send rows, not a raw body")
        }
        return try await withDeadline(requestTimeout, what: "the prediction of \(name):\(number)") {
            try await process.invoke(body: body, contentType: contentType)
        }
    }

    static let rowsWithoutDeadline = 256
    static let textBytesWithoutDeadline = 64 << 10

    static func textBytes(_ rows: [JSONValue]) -> Int {
        var total = 0
        for row in rows {
            if case .string(let s) = row { total += s.utf8.count } else if case .string(let s)? = row["text"] { total += s.utf8.count }
        }
        return total
    }

    private func score(_ rows: [JSONValue]) async throws -> [JSONValue] {
        do {
            switch backend {
            case .tabular(_, let batcher):
                let records = try schema.records(rows)
                return try await batcher.submit(records).map(NativeModel.json)
            case .text(_, let batcher):
                let texts = try InputSchema.texts(rows)
                return try await batcher.submit(texts).map(NativeModel.json)
            case .entities:
                return try scoreNow(rows)  // no batching for NER: scored per text either way
            case .command(let process):
                if case .tabular = schema { _ = try schema.records(rows) }
                return try await process.predict(rows)
            }
        } catch let error as TrainyardError {
            throw error
        } catch {
            throw TrainyardError(.invalidInput, "\(error)")
        }
    }

    /// The task-specific plain form used by TF Serving and MLflow clients: the number for
    /// regression, the label for tabular classification, the object otherwise.
    public func plain(_ output: JSONValue) -> JSONValue {
        switch task {
        case .tabularRegression: return output["prediction"] ?? output
        case .tabularClassification: return output["label"] ?? output
        default: return output
        }
    }

    /// Stops what the version runs (a serve process) once its in-flight requests are done.
    func retire() async {
        if case .command(let process) = backend { await process.stop(drain: true) }
    }
}
