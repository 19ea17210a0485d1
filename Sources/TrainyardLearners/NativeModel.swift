import Foundation
import TrainyardCore
import TrainyardRuntime
import TrainyardTabular
import TrainyardText

/// A loaded native model (tabular, text classifier, entity recognizer): loading and
/// `evaluate` behind one shape, and the one definition of the prediction JSON. Serving
/// (`ServedModel`) scores through each case's own predictor, batched.
public enum NativeModel: Sendable {
    case tabular(TabularPredictor)
    case text(TextClassifier)
    case entities(EntityRecognizer)

    /// Loads `model.bin` of `version`, verified against its manifest digest.
    public static func load(_ version: ModelVersion, reader: ArtifactReader) async throws -> NativeModel {
        let bytes = [UInt8](try await reader.read("model.bin", of: version))
        do {
            switch version.manifest.task {
            case .tabularRegression, .tabularClassification: return .tabular(try TabularPredictor(model: bytes))
            case .textClassification: return .text(try TextClassifier(model: bytes))
            case .ner: return .entities(try EntityRecognizer(model: bytes))
            case .command:
                throw TrainyardError(.invalidArgument, "\(version.model):\(version.version) is a bring-your-own model: it is served by its own serve command")
            }
        } catch let error as TrainyardError {
            throw error
        } catch {
            throw TrainyardError(.artifactCorrupt, "model.bin of \(version.model):\(version.version) cannot be read: \(error)")
        }
    }

    /// Metrics on labelled data (the training file's format), under the public metric names.
    public func evaluate(data: [UInt8], format: String? = nil, textColumn: String? = nil, labelColumn: String? = nil) throws -> EvaluationReport {
        do {
            switch self {
            case .tabular(let p): return try p.evaluate(csv: data)
            case .text(let c):
                return try c.evaluate(data: data, format: format.flatMap(TextFormat.init(rawValue:)) ?? .auto,
                                      textColumn: textColumn, labelColumn: labelColumn)
            case .entities(let r): return try r.evaluate(conll: data)
            }
        } catch let error as TrainyardError {
            throw error
        } catch {
            throw TrainyardError(.invalidInput, "\(error)")
        }
    }

    // MARK: Prediction JSON (the one place its shape is defined: CLI, evaluate and the server)

    /// `{"prediction"}` (regression) or `{"label", "probabilities"}` (classification).
    public static func json(_ p: TabularPrediction) -> JSONValue {
        var out: [String: JSONValue] = [:]
        if let v = p.value { out["prediction"] = .double(v) }
        if let l = p.label { out["label"] = .string(l) }
        if let probs = p.probabilities { out["probabilities"] = .object(probs.mapValues { .double($0) }) }
        return .object(out)
    }

    /// `{"label", "probabilities"}`, plus `"score"` (P(positive)) for binary models.
    public static func json(_ p: TextPrediction) -> JSONValue {
        var out: [String: JSONValue] = ["label": .string(p.label), "probabilities": .object(p.probabilities.mapValues { .double($0) })]
        if let s = p.score { out["score"] = .double(s) }
        return .object(out)
    }

    /// `{text, tag, score, start, end}` with character offsets into the input.
    public static func json(_ e: Entity) -> JSONValue {
        .object(["text": .string(e.text), "tag": .string(e.tag), "score": .double(e.score), "start": .int(e.start), "end": .int(e.end)])
    }
}
