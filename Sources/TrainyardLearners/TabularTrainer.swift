import Foundation
import TrainyardCore
import TrainyardRuntime
import TrainyardTabular

/// `tabular-regression` / `tabular-classification` with `gbdt` (default), `mlp` or `linear`.
///
/// Artifacts: `model.bin` (serving model), `checkpoint.bin` (model + optimizer state, for
/// warm starts). `warm_start:` continues from the parent version's checkpoint: gbdt adds trees,
/// mlp resumes Adam.
public struct TabularTrainer: Trainer {
    /// `limits.features` (checked on the header at submit and again when training),
    /// `limits.classes` (at training, once the labels are known) and `limits.train_memory_bytes`.
    let limits: ResourceLimits

    public init(limits: ResourceLimits = ResourceLimits()) { self.limits = limits }

    /// The most bytes read to find a header line: a file of 10 000 columns has a header far
    /// longer than the first 64 KiB that usually hold it.
    static let headerBytes = 8 << 20

    static func task(_ kind: TaskKind) -> TabularTask { kind == .tabularClassification ? .classification : .regression }

    public func validate(_ spec: ParsedSpec) throws(TrainyardError) {
        let algorithm = try Self.algorithm(spec)
        let params = try LearnerBridge.params(spec.spec.model.params, spec: spec)
        do {
            try TabularLearning.validate(task: Self.task(spec.spec.task), algorithm: algorithm.rawValue, params: params)
        } catch {
            throw LearnerBridge.specError(error, spec)
        }
    }

    /// The spec's tabular algorithm (the parser has already refused names of other tasks).
    static func algorithm(_ spec: ParsedSpec) throws(TrainyardError) -> TabularAlgorithm {
        let name = NativeParameters.algorithm(of: spec.spec) ?? TabularAlgorithm.default.rawValue
        guard let algorithm = TabularAlgorithm(rawValue: name) else {
            throw spec.error(at: "model.algorithm", "unknown algorithm \"\(clientEcho(name))\" for \(spec.spec.task.rawValue); expected one of \(TabularLearning.algorithms.joined(separator: ", "))")
        }
        return algorithm
    }

    public func validateData(_ spec: ParsedSpec, inputs: [String: URL]) throws(TrainyardError) {
        guard let target = spec.spec.data.target else { return }
        for (key, file) in inputs.sorted(by: { $0.key < $1.key }) {
            // Through the same checks as staging (a regular file, read by descriptor), never a
            // plain open that a FIFO or device could hang.
            var prefix: [UInt8]
            var requested = 1 << 16
            do {
                prefix = try LocalDataFile.prefix(of: file, upTo: requested)
                if prefix.count == requested && !prefix.contains(0x0A) && !prefix.contains(0x0D) {
                    requested = Self.headerBytes
                    prefix = try LocalDataFile.prefix(of: file, upTo: requested)
                }
            } catch {
                throw spec.error(at: key, "\(clientEcho(file.lastPathComponent)) cannot be read as data (\(error))")
            }
            do {
                _ = try TabularLearning.validateHeader(prefix, target: target, limits: LearnerBridge.trainingLimits(limits),
                                                       source: clientEcho(file.lastPathComponent), endOfFile: prefix.count < requested)
            } catch let error as TrainingLimitError {
                throw spec.error(at: key, error.description)
            } catch {
                // The message quotes the header: bounded, as it is the file's content.
                throw spec.error(at: key, "\(clientEcho(file.lastPathComponent)): \(clientEcho(String(describing: error), limit: 200))")
            }
        }
    }

    public func train(_ run: TrainingRun) async throws -> TrainingOutput {
        let spec = run.spec
        guard let trainFile = run.inputs["train"], let target = spec.data.target else {
            throw TrainingFailure("tabular training needs data.train and data.target", retryable: false)
        }
        let algorithm = NativeParameters.algorithm(of: spec) ?? TabularAlgorithm.default.rawValue
        let params = try LearnerBridge.params(spec.model.params)
        let validation = try LearnerBridge.validation(run, default: TabularLearning.defaultValidation)
        var warmStart: [UInt8]?
        if let parent = run.warmStart {
            guard parent.manifest.algorithm == algorithm else {
                throw TrainingFailure("warm start: \(spec.name):\(parent.version) was trained with \(parent.manifest.algorithm ?? "?"), not \(algorithm)", retryable: false)
            }
            warmStart = try LearnerBridge.bytes(parent.file("checkpoint.bin"))
        }
        let request = TabularTrainingRequest(task: Self.task(spec.task), algorithm: algorithm, params: params, target: target,
                                             train: [UInt8](try Data(contentsOf: trainFile)), validation: validation,
                                             seed: UInt64(spec.seed), warmStart: warmStart, limits: LearnerBridge.trainingLimits(limits),
                                             trainSource: "data.train", validationSource: "data.validation")
        let observer = ProgressObserver(progress: run.progress)
        run.progress.log("training \(algorithm) for \(spec.task.rawValue) on \(trainFile.lastPathComponent)")
        let result: TabularTrainingResult
        do {
            result = try await runOnOwnThread(named: "trainyard-train") { try TabularLearning.train(request, observer: observer) }
        } catch {
            throw LearnerBridge.failure(error)
        }
        let schema = try JSON.decode(JSONValue.self, from: try JSON.encode(result.schema))
        return TrainingOutput(
            algorithm: algorithm,
            artifacts: ["model.bin": try LearnerBridge.write(result.model, "model.bin", in: run),
                        "checkpoint.bin": try LearnerBridge.write(result.checkpoint, "checkpoint.bin", in: run)],
            metrics: result.metrics, history: LearnerBridge.history(result.history),
            params: LearnerBridge.json(result.resolvedParams), inputSchema: schema,
            heldOut: try LearnerBridge.heldOut(result.heldOut, in: run))
    }
}
