import Foundation

/// The two tabular tasks, under their public names.
public enum TabularTask: String, Sendable, Codable {
    case regression = "tabular-regression"
    case classification = "tabular-classification"
}

/// One training run: task, algorithm and its `model.params`, target column, data, seed, and
/// optionally the checkpoint of a previous run to continue from (warm start).
public struct TabularTrainingRequest: Sendable {
    public var task: TabularTask
    /// A `TabularAlgorithm` name: `gbdt`, `mlp` or `linear`.
    public var algorithm: String
    public var params: [String: ParamValue]
    public var target: String
    /// CSV or TSV bytes with a header row.
    public var train: [UInt8]
    public var validation: ValidationSource
    /// Default seed; `params["seed"]` overrides it.
    public var seed: UInt64
    /// A previous `TabularTrainingResult.checkpoint` of the same algorithm and schema.
    public var warmStart: [UInt8]?
    /// Most classes, feature columns and memory the data may drive the run to.
    public var limits: TrainingLimits
    /// What the training and validation data are, in front of data errors (`data.train`);
    /// nil: errors name no source.
    public var trainSource: String?
    public var validationSource: String?

    public init(task: TabularTask, algorithm: String = TabularAlgorithm.default.rawValue, params: [String: ParamValue] = [:], target: String,
                train: [UInt8], validation: ValidationSource = TabularLearning.defaultValidation, seed: UInt64 = 42, warmStart: [UInt8]? = nil,
                limits: TrainingLimits = TrainingLimits(), trainSource: String? = nil, validationSource: String? = nil) {
        self.task = task
        self.algorithm = algorithm
        self.params = params
        self.target = target
        self.train = train
        self.validation = validation
        self.seed = seed
        self.warmStart = warmStart
        self.limits = limits
        self.trainSource = trainSource
        self.validationSource = validationSource
    }
}

/// What a run produced: the serving model bytes (no optimizer state), the checkpoint bytes
/// (model + optimizer state, for warm starts), final validation metrics under the public
/// names, the per-epoch history, the schema and every effective hyper-parameter.
public struct TabularTrainingResult: Sendable {
    public var model: [UInt8]
    public var checkpoint: [UInt8]
    public var metrics: [String: Double]
    public var history: [EpochReport]
    public var schema: TabularSchema
    public var resolvedParams: [String: ParamValue]
    /// The rows held out of `train` for validation (a fraction carved out), as CSV in the
    /// training data's delimiter: `metrics` were measured on exactly these rows. nil when the
    /// validation rows came from separate data or none were held out.
    public var heldOut: HeldOutRows? = nil
}

/// Entry point of the tabular learners (sklearn-like: configuration → fit → model).
///
/// ```swift
/// let result = try TabularLearning.train(
///     TabularTrainingRequest(task: .regression, target: "price", train: csvBytes), observer: SilentObserver())
/// let predictor = try TabularPredictor(model: result.model)
/// ```
/// Training is CPU-bound and blocking: call it from a worker thread, never from an event loop.
public enum TabularLearning {
    /// The algorithms' names (`TabularAlgorithm`).
    public static var algorithms: [String] { TabularAlgorithm.allCases.map(\.rawValue) }

    /// Validation rows when a request names none: 15 % of the training rows, held out.
    public static let defaultValidation = ValidationSource.fraction(0.15)

    /// Checks `params` for `algorithm` without training: unknown keys, wrong types and values
    /// out of range throw a `ParameterError` naming the key.
    public static func validate(task: TabularTask, algorithm: String, params: [String: ParamValue]) throws(ParameterError) {
        _ = try resolve(task: task, algorithm: algorithm, params: params, seed: 42)
    }

    /// Every hyper-parameter of `algorithm` with its effective value (defaults filled in).
    public static func resolvedParams(task: TabularTask, algorithm: String, params: [String: ParamValue], seed: UInt64 = 42) throws(ParameterError) -> [String: ParamValue] {
        try resolve(task: task, algorithm: algorithm, params: params, seed: seed).resolved
    }

    /// Cheap submit-time check on the first bytes of a file: parses the header line, verifies
    /// that `target` is one of its columns and that the feature columns fit `limits.features`.
    /// - Parameter endOfFile: whether `prefix` is the whole file. When it is not and the
    ///   header line is still incomplete, only the column count seen so far is checked (it can
    ///   only grow), and the columns read so far are returned.
    /// - Returns: the column names.
    /// - Throws: `TabularDataError` (`emptyFile`, `duplicateColumn`, `targetMissing`),
    ///   `TrainingLimitError` (`limits.features`).
    @discardableResult
    public static func validateHeader(_ prefix: [UInt8], target: String, limits: TrainingLimits = TrainingLimits(),
                                      source: String = "the file", endOfFile: Bool = true) throws -> [String] {
        var reader = CSVStreamReader()
        _ = try? reader.read(prefix)
        let complete = reader.header != nil
        if !complete { _ = try? reader.finish() }
        guard let header = reader.header else { throw TabularDataError(.emptyFile, "the file is empty or its header line is incomplete") }
        try limits.checkFeatures(header.count - (header.contains(target) ? 1 : 0), in: source)
        if !complete && !endOfFile { return header }
        guard header.contains(target) else {
            throw TabularDataError(.targetMissing, "target column '\(target)' not found; columns: \(header.joined(separator: ", "))", column: target)
        }
        return header
    }

    enum Config {
        case gbdt(GBDTConfig)
        case mlp(MLPConfig)
        case linear(LinearConfig)

        var resolved: [String: ParamValue] {
            switch self {
            case .gbdt(let c): return c.resolved
            case .mlp(let c): return c.resolved
            case .linear(let c): return c.resolved
            }
        }
    }

    static func resolve(task: TabularTask, algorithm: String, params: [String: ParamValue], seed: UInt64) throws(ParameterError) -> Config {
        switch TabularAlgorithm(rawValue: algorithm) {
        case .gbdt: return .gbdt(try GBDTConfig(params: params, seed: seed, task: task))
        case .mlp: return .mlp(try MLPConfig(params: params, seed: seed))
        case .linear: return .linear(try LinearConfig(task: task, params: params))
        case nil:
            throw ParameterError(key: "algorithm", message: "must be one of \(algorithms.joined(separator: ", ")); got \"\(algorithm)\"")
        }
    }

    /// Trains a model.
    /// - Throws: `ParameterError` (bad params), `TabularDataError` (bad data, incompatible
    ///   warm start), `TrainingLimitError` (more classes, feature columns or memory than
    ///   `request.limits` allow), `ModelFormatError` (unreadable checkpoint), `TrainingStopped`
    ///   (the observer returned false).
    public static func train(_ request: TabularTrainingRequest, observer: any TrainingObserver) throws -> TabularTrainingResult {
        let config = try resolve(task: request.task, algorithm: request.algorithm, params: request.params, seed: request.seed)
        let trainSource = request.trainSource, validationSource = request.validationSource
        let table: CSVTable
        do { table = try CSVTable.parse(request.train) } catch let e as TabularDataError { throw e.from(trainSource) }
        var schema: TabularSchema
        do {
            schema = try TabularSchema.infer(from: table, target: request.target, task: request.task, limits: request.limits,
                                             source: trainSource ?? "the training data")
        } catch let e as TabularDataError { throw e.from(trainSource) }
        var previous: TabularCheckpoint? = nil
        if let bytes = request.warmStart {
            let checkpoint = try TabularCheckpoint(bytes: bytes)
            guard checkpoint.model.algorithm == request.algorithm else {
                throw TabularDataError(.incompatibleSchema, "incompatible warm start: checkpoint is a '\(checkpoint.model.algorithm)' model, request asks for '\(request.algorithm)'")
            }
            try checkpoint.model.schema.checkCompatible(with: schema)
            schema = checkpoint.model.schema
            previous = checkpoint
        }
        var validTable: CSVTable? = nil
        if case .data(let bytes) = request.validation {
            do { validTable = try CSVTable.parse(bytes) } catch let e as TabularDataError { throw e.from(validationSource) }
        }
        // Every data-sized array of the run, checked before the first is allocated.
        try memoryPlan(config, schema: schema, trainRows: table.rows.count, validationRows: validTable?.rows.count ?? 0)
            .check(request.limits, advice: memoryAdvice(config))
        let encoder = FeatureEncoder(schema: schema)
        let encoded: (table: EncodedTable, rows: [Int])
        do { encoded = try encoder.encodeKeepingRows(table, target: .required) } catch let e as TabularDataError { throw e.from(trainSource) }
        var trainData = encoded.table
        let trainRows = encoded.rows  // the CSV row of each encoded row
        var validData: EncodedTable? = nil
        var carved = false  // validation rows carved out of the training file
        var heldOut: HeldOutRows? = nil
        switch request.validation {
        case .fraction(let f):
            guard f >= 0 && f <= 0.5 else {
                throw ParameterError(key: "validation", message: "fraction must be in [0, 0.5]; got \(f)")
            }
            let count = Int((Double(trainData.count) * f).rounded())
            if count >= 1 && trainData.count - count >= 2 {
                var order = Array(0..<trainData.count)
                var rng = SeededGenerator(seed: request.seed ^ 0x5EED_0F_5A11)
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                let held = Array(order[0..<count]).sorted()
                validData = trainData.subset(held)
                trainData = trainData.subset(Array(order[count...]).sorted())
                carved = true
                heldOut = HeldOutRows(data: CSVWriting.write(header: table.header, rows: table.rows.subset(held.map { trainRows[$0] }),
                                                             delimiter: table.delimiter),
                                      count: count, format: "csv")
            }
        case .data:
            do { validData = try validTable.map { try encoder.encode($0, target: .required) } }
            catch let e as TabularDataError { throw e.from(validationSource) }
        }
        guard trainData.count >= 2 else {
            throw TabularDataError(.tooFewRows, "need at least 2 training rows with a target value; got \(trainData.count)")
        }
        if validData?.count == 0 { validData = nil }
        let classCount = schema.classes?.count ?? 0

        var payload: TabularModelPayload
        var state: [UInt8] = []
        var history: [EpochReport]
        var resolved = config.resolved
        // Validation metrics of the model fitted without the validation rows (the refit
        // model has seen them, so its scores on them would flatter it).
        var heldOutModel: TabularModel? = nil
        switch config {
        case .gbdt(let c):
            var warm: GBDTModel? = nil
            if let previous, case .gbdt(let m) = previous.model.payload { warm = m }
            let outcome = try GBDTTrainer.train(config: c, task: request.task, classCount: classCount, train: trainData,
                                                validation: validData, warmStart: warm, observer: observer)
            payload = .gbdt(outcome.model)
            history = outcome.history
            resolved["min_data_in_leaf"] = .int(c.effectiveMinDataInLeaf(rows: trainData.count))
            // Refit: early stopping on the carved-out rows chose the round count; train again
            // on all rows for that many rounds (the usual "refit on train + validation").
            if c.refit, carved, let validData {
                let existing = warm?.forest.treeCount ?? 0
                let rounds = (outcome.model.forest.treeCount - existing) / max(outcome.model.objective.scoreCount, 1)
                let all = EncodedTable.concatenate(trainData, validData)
                let refit = try GBDTTrainer.train(config: c, task: request.task, classCount: classCount, train: all,
                                                  validation: nil, warmStart: warm, observer: observer, refitRounds: rounds)
                heldOutModel = TabularModel(task: request.task, algorithm: request.algorithm, schema: schema, payload: payload)
                payload = .gbdt(refit.model)
                resolved["min_data_in_leaf"] = .int(c.effectiveMinDataInLeaf(rows: all.count))
            }
        case .mlp(let c):
            var warm: (MLPModel, AdamState)? = nil
            if let previous, case .mlp(let m) = previous.model.payload {
                var r = try BinaryReader(previous.state, magic: "TYAD", maxVersion: 1)
                warm = (m, try AdamState.read(from: &r))
            }
            let outcome = try MLPTrainer.train(config: c, task: request.task, classCount: classCount, train: trainData,
                                               validation: validData, warmStart: warm, observer: observer)
            payload = .mlp(outcome.model)
            var w = BinaryWriter(magic: "TYAD", version: 1)
            outcome.adam.write(to: &w)
            state = w.bytes
            history = outcome.history
        case .linear(let c):
            var warm: (LinearModel, RidgeStatistics?)? = nil
            if let previous, case .linear(let m) = previous.model.payload {
                var stats: RidgeStatistics? = nil
                if !previous.state.isEmpty {
                    var r = try BinaryReader(previous.state, magic: "TYRS", maxVersion: 1)
                    stats = try RidgeStatistics.read(from: &r)
                }
                warm = (m, stats)
            }
            let outcome = try LinearTrainer.train(config: c, task: request.task, classCount: classCount, train: trainData,
                                                  validation: validData, warmStart: warm, observer: observer)
            payload = .linear(outcome.model)
            if let stats = outcome.statistics {
                var w = BinaryWriter(magic: "TYRS", version: 1)
                stats.write(to: &w)
                state = w.bytes
            }
            history = outcome.history
        }
        let model = TabularModel(task: request.task, algorithm: request.algorithm, schema: schema, payload: payload)
        let evalData = validData ?? trainData
        let metrics = TabularMetrics.evaluate(task: request.task, truth: evalData.target, predictions: (heldOutModel ?? model).predict(evalData),
                                              classCount: classCount, full: true)
        let modelBytes = model.serialized()
        return TabularTrainingResult(model: modelBytes, checkpoint: TabularCheckpoint.serialize(model: modelBytes, state: state),
                                     metrics: metrics, history: history, schema: schema, resolvedParams: resolved, heldOut: heldOut)
    }
}

/// The learned state of any tabular algorithm.
enum TabularModelPayload: Sendable {
    case gbdt(GBDTModel)
    case mlp(MLPModel)
    case linear(LinearModel)
}

/// A serving model: task, algorithm, schema and learned state. File layout (little-endian,
/// `BinaryWriter`): magic `TYTB`, version, task, algorithm, schema JSON, algorithm payload.
struct TabularModel: Sendable {
    static let magic = "TYTB"
    /// 2: dense encodings store their input bounds, mlp its target range. 3: gbdt linear
    /// leaves (`linear_tree`). Versions 1 and 2 are still read.
    static let version: UInt32 = 3

    let task: TabularTask
    let algorithm: String
    let schema: TabularSchema
    let payload: TabularModelPayload

    /// Row-major predictions: values (regression) or class probabilities.
    /// - Parameter parallel: false keeps a large table on the calling thread (a caller that
    ///   already scores several tables at once, one per core, would otherwise oversubscribe).
    func predict(_ table: EncodedTable, parallel: Bool = true) -> [Double] {
        switch payload {
        case .gbdt(let m): return m.predict(table, parallel: parallel)
        case .mlp(let m): return m.predict(table, parallel: parallel)
        case .linear(let m): return m.predict(table)
        }
    }

    func serialized() -> [UInt8] {
        var w = BinaryWriter(magic: Self.magic, version: Self.version)
        w.write(task.rawValue)
        w.write(algorithm)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        w.write(String(decoding: (try? encoder.encode(schema)) ?? Data(), as: UTF8.self))
        switch payload {
        case .gbdt(let m): m.write(to: &w)
        case .mlp(let m): m.write(to: &w)
        case .linear(let m): m.write(to: &w)
        }
        return w.bytes
    }

    init(task: TabularTask, algorithm: String, schema: TabularSchema, payload: TabularModelPayload) {
        self.task = task
        self.algorithm = algorithm
        self.schema = schema
        self.payload = payload
    }

    init(bytes: [UInt8]) throws {
        var r = try BinaryReader(bytes, magic: Self.magic, maxVersion: Self.version)
        guard let task = TabularTask(rawValue: try r.readString()) else { throw ModelFormatError("unknown tabular task") }
        self.task = task
        algorithm = try r.readString()
        do {
            schema = try JSONDecoder().decode(TabularSchema.self, from: Data(try r.readString().utf8))
        } catch let e as ModelFormatError {
            throw e
        } catch {
            throw ModelFormatError("unreadable schema in tabular model: \(error)")
        }
        switch TabularAlgorithm(rawValue: algorithm) {
        case .gbdt: payload = .gbdt(try GBDTModel.read(from: &r))
        case .mlp: payload = .mlp(try MLPModel.read(from: &r))
        case .linear: payload = .linear(try LinearModel.read(from: &r))
        case nil: throw ModelFormatError("unknown tabular algorithm '\(algorithm)'")
        }
        let featureCount = schema.features.count
        let consistent: Bool
        switch payload {
        case .gbdt(let m): consistent = m.mappers.count == featureCount
        case .mlp(let m): consistent = m.encoding.categoryCounts.count == featureCount
        case .linear(let m): consistent = m.encoding.categoryCounts.count == featureCount
        }
        guard consistent else { throw ModelFormatError("tabular model does not match its schema") }
    }
}

/// Checkpoint layout: magic `TYCK`, version, the serving model bytes, the optimizer state
/// bytes (Adam moments for `mlp`, least-squares statistics for ridge, empty for `gbdt`).
struct TabularCheckpoint {
    let model: TabularModel
    let modelBytes: [UInt8]
    let state: [UInt8]

    init(bytes: [UInt8]) throws {
        var r = try BinaryReader(bytes, magic: "TYCK", maxVersion: 1)
        modelBytes = try r.readBytes()
        state = try r.readBytes()
        model = try TabularModel(bytes: modelBytes)
    }

    static func serialize(model: [UInt8], state: [UInt8]) -> [UInt8] {
        var w = BinaryWriter(magic: "TYCK", version: 1)
        w.write(model)
        w.write(state)
        return w.bytes
    }
}
