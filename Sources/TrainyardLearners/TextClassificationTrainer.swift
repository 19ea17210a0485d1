import Foundation
import TrainyardCore
import TrainyardRuntime
import TrainyardText

/// `text-classification`: TSV/CSV (configurable columns), JSONL or fastText input. Artifact:
/// `model.bin`.
public struct TextClassificationTrainer: Trainer {
    /// `limits.classes` and `limits.train_memory_bytes` bound the labels and class weights.
    let limits: ResourceLimits

    public init(limits: ResourceLimits = ResourceLimits()) { self.limits = limits }

    public func validate(_ spec: ParsedSpec) throws(TrainyardError) {
        let params = try LearnerBridge.params(spec.spec.model.params, spec: spec)
        do { try TextClassification.validate(params: params) } catch { throw LearnerBridge.specError(error, spec) }
        if let f = spec.spec.data.format, TextFormat(rawValue: f) == nil {
            throw spec.error(at: "data.format", "format \(f) is not a text-classification format (auto, tsv, csv, jsonl, fasttext)")
        }
    }

    public func train(_ run: TrainingRun) async throws -> TrainingOutput {
        let spec = run.spec
        guard let trainFile = run.inputs["train"] else { throw TrainingFailure("text classification needs data.train", retryable: false) }
        let validation = try LearnerBridge.validation(run, default: TextClassification.defaultValidation)
        let request = TextClassificationRequest(train: [UInt8](try Data(contentsOf: trainFile)),
                                                format: spec.data.format.flatMap(TextFormat.init(rawValue:)) ?? .auto,
                                                textColumn: spec.data.textColumn, labelColumn: spec.data.labelColumn,
                                                validation: validation, params: try LearnerBridge.params(spec.model.params),
                                                seed: UInt64(spec.seed), limits: LearnerBridge.trainingLimits(limits), trainSource: "data.train")
        let observer = ProgressObserver(progress: run.progress)
        let result: TextTrainingResult
        do { result = try await runOnOwnThread(named: "trainyard-train") { try TextClassification.train(request, observer: observer) } } catch { throw LearnerBridge.failure(error) }
        let (metrics, params) = LearnerBridge.separatingFitFacts(metrics: result.metrics, params: LearnerBridge.json(result.resolvedParams))
        return TrainingOutput(algorithm: TextClassification.algorithm, artifacts: ["model.bin": try LearnerBridge.write(result.model, "model.bin", in: run)],
                              metrics: metrics, history: LearnerBridge.history(result.history),
                              params: params,
                              inputSchema: .object(["type": .string("text")]),
                              outputSchema: .object(["labels": .array(result.labels.map { .string($0) })]),
                              // Held-out texts are JSONL whatever the training format (TextDatasetWriter).
                              heldOut: try LearnerBridge.heldOut(result.heldOut, in: run, format: result.heldOut?.format))
    }
}

/// `ner`: CoNLL input (token … tag per line). Artifact: `model.bin`.
public struct NERTrainer: Trainer {
    public init() {}

    public func validate(_ spec: ParsedSpec) throws(TrainyardError) {
        let params = try LearnerBridge.params(spec.spec.model.params, spec: spec)
        do { try EntityRecognition.validate(params: params) } catch { throw LearnerBridge.specError(error, spec) }
    }

    public func train(_ run: TrainingRun) async throws -> TrainingOutput {
        let spec = run.spec
        guard let trainFile = run.inputs["train"] else { throw TrainingFailure("ner needs data.train (CoNLL)", retryable: false) }
        let validation = try LearnerBridge.validation(run, default: EntityRecognition.defaultValidation)
        let request = NERTrainingRequest(train: [UInt8](try Data(contentsOf: trainFile)), validation: validation,
                                         params: try LearnerBridge.params(spec.model.params), seed: UInt64(spec.seed))
        let observer = ProgressObserver(progress: run.progress)
        let result: TextTrainingResult
        do { result = try await runOnOwnThread(named: "trainyard-train") { try EntityRecognition.train(request, observer: observer) } } catch { throw LearnerBridge.failure(error) }
        let (metrics, params) = LearnerBridge.separatingFitFacts(metrics: result.metrics, params: LearnerBridge.json(result.resolvedParams))
        return TrainingOutput(algorithm: EntityRecognition.algorithm, artifacts: ["model.bin": try LearnerBridge.write(result.model, "model.bin", in: run)],
                              metrics: metrics, history: LearnerBridge.history(result.history),
                              params: params,
                              inputSchema: .object(["type": .string("text")]),
                              outputSchema: .object(["entity_types": .array(result.labels.map { .string($0) })]),
                              heldOut: try LearnerBridge.heldOut(result.heldOut, in: run))
    }
}
