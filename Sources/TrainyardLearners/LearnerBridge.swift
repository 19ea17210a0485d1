import Foundation
import TrainyardCore
import TrainyardML

/// Conversions between the system's types (specs, JSON, progress) and the learners' own
/// (ParamValue, EpochReport, TrainingObserver), which know nothing of jobs.
enum LearnerBridge {
    static func params(_ json: [String: JSONValue], spec: ParsedSpec? = nil) throws(TrainyardError) -> [String: ParamValue] {
        var out: [String: ParamValue] = [:]
        for (key, value) in json {
            guard let v = param(value) else {
                let message = "must be a number, string, boolean or list; got \(value)"
                throw spec?.error(at: "model.params.\(key)", message) ?? TrainyardError(.invalidSpec, "model.params.\(key): \(message)")
            }
            out[key] = v
        }
        return out
    }

    static func param(_ value: JSONValue) -> ParamValue? {
        switch value {
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .array(let items):
            let converted = items.compactMap(param)
            return converted.count == items.count ? .list(converted) : nil
        case .null, .object: return nil
        }
    }

    static func json(_ value: ParamValue) -> JSONValue {
        switch value {
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .list(let l): return .array(l.map(json))
        }
    }

    static func json(_ params: [String: ParamValue]) -> [String: JSONValue] { params.mapValues(json) }

    /// Facts about a fit that learners report beside their scores (the chosen epoch, the
    /// feature count): they belong with the parameters, not among the metrics that are compared
    /// and promoted on.
    static let fitFacts: Set<String> = ["best_epoch", "best_iteration", "iterations", "attributes", "parameters", "evaluations"]

    /// `metrics` without the fit facts, and `params` with them added under `"fit"`.
    static func separatingFitFacts(metrics: [String: Double], params: [String: JSONValue]) -> (metrics: [String: Double], params: [String: JSONValue]) {
        var scores = metrics, params = params, facts: [String: JSONValue] = [:]
        for key in fitFacts {
            guard let value = scores.removeValue(forKey: key) else { continue }
            facts[key] = value.rounded() == value && abs(value) < 1e15 ? .int(Int(value)) : .double(value)
        }
        if !facts.isEmpty { params["fit"] = .object(facts) }
        return (scores, params)
    }

    /// A learner's parameter error as a spec error pointing at the key's line.
    static func specError(_ error: ParameterError, _ spec: ParsedSpec) -> TrainyardError {
        let path = "model.params.\(error.key)"
        let base = error.key.split(separator: "[").first.map { "model.params.\($0)" } ?? path
        let loc = spec.locations[path] ?? spec.locations[base] ?? spec.locations["model.params"] ?? spec.locations["model"]
        return TrainyardError(.invalidSpec, "invalid spec: \(path): \(error.message)",
                              details: [.init(path: path, line: loc?.line, column: loc?.column, message: error.message)])
    }

    static func history(_ reports: [EpochReport]) -> [MetricPoint] {
        reports.map { MetricPoint(step: $0.epoch, metrics: $0.metrics) }
    }

    /// Where validation rows come from, as the learners take it: the spec's held-out fraction,
    /// the bytes of the `validation` channel, or else the learner's `defaultValidation`.
    static func validation(_ run: TrainingRun, default fallback: ValidationSource) throws -> ValidationSource {
        switch run.spec.data.validation {
        case .fraction(let f): return .fraction(f)
        case .location: if let v = try bytes(run.inputs["validation"]) { return .data(v) }
        case nil: break
        }
        return fallback
    }

    static func bytes(_ url: URL?) throws -> [UInt8]? {
        guard let url else { return nil }
        return [UInt8](try Data(contentsOf: url))
    }

    /// Writes an artifact into the attempt's folder.
    static func write(_ bytes: [UInt8], _ name: String, in run: TrainingRun) throws -> URL {
        try FileManager.default.createDirectory(at: run.workDirectory, withIntermediateDirectories: true)
        let url = run.workDirectory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Writes the learner's held-out validation rows into the attempt's folder when the spec
    /// promotes (the alias's current version is then scored on exactly these rows); without
    /// `promote` nothing reads them, so a large training file costs no extra write.
    /// - Parameter format: the file's `data.format` when it differs from the training data's.
    static func heldOut(_ rows: HeldOutRows?, in run: TrainingRun, format: String? = nil) throws -> HeldOutData? {
        guard run.spec.promote != nil, let rows else { return nil }
        let file = try write(rows.data, "held-out-validation.\(rows.format)", in: run)
        return HeldOutData(file: file, rows: rows.count, format: format)
    }

    /// The learners' view of the configured limits.
    static func trainingLimits(_ limits: ResourceLimits) -> TrainingLimits {
        TrainingLimits(classes: limits.classes, features: limits.features, memoryBytes: limits.trainMemoryBytes)
    }

    /// Maps learner errors to training failures: bad data and a limit hit are not retryable
    /// (the same data fails the same way); stopping is cancellation.
    static func failure(_ error: any Error) -> any Error {
        if error is TrainingStopped { return CancellationError() }
        if let p = error as? ParameterError { return TrainingFailure(p.description, retryable: false) }
        if let l = error as? TrainingLimitError { return TrainingFailure(l.description, retryable: false) }
        if error is TrainyardError || error is TrainingFailure || error is CancellationError { return error }
        return TrainingFailure("\(error)", retryable: false)
    }
}

/// Forwards a learner's epoch reports to the job's progress and relays cancellation back.
struct ProgressObserver: TrainingObserver {
    let progress: any ProgressReporter

    func epochFinished(_ report: EpochReport) -> Bool {
        let loss = report.metrics["validation_loss"] ?? report.metrics["train_loss"] ?? report.metrics["loss"]
        progress.report(JobProgress(epoch: report.epoch, totalEpochs: report.totalEpochs, loss: loss, metrics: report.metrics))
        return !progress.isCancelled
    }
}
