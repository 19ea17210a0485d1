import Foundation
import TrainyardCore
import TrainyardRuntime
import TrainyardTabular
import TrainyardText

/// A loaded native model (tabular, text classifier, entity recognizer) behind one shape:
/// `predict` and `evaluate`, so callers (CLI, server, transforms) never special-case a task.
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

    /// Predictions for JSON inputs: records (`{"column": value}`) for tabular models, strings
    /// for text models. Returns one JSON value per input.
    public func predict(_ inputs: [JSONValue]) throws -> [JSONValue] {
        do {
            switch self {
            case .tabular(let p):
                var records: [[String: FeatureValue]] = []
                for (i, input) in inputs.enumerated() {
                    guard case .object(let fields) = input else {
                        throw TrainyardError(.invalidInput, "input \(i): expected an object of column values; got \(input)")
                    }
                    var record: [String: FeatureValue] = [:]
                    for (k, v) in fields {
                        switch v {
                        case .int(let n): record[k] = .number(Double(n))
                        case .double(let d): record[k] = .number(d)
                        case .string(let s): record[k] = .string(s)
                        case .null: record[k] = .missing
                        default: throw TrainyardError(.invalidInput, "input \(i), column \(k): expected a number, string or null; got \(v)")
                        }
                    }
                    records.append(record)
                }
                return try p.predict(records: records).map(Self.json)
            case .text(let c):
                return try c.predict(try Self.texts(inputs)).map(Self.json)
            case .entities(let r):
                return try Self.texts(inputs).map { text in .array(try r.recognize(text).map(Self.json)) }
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

    static func texts(_ inputs: [JSONValue]) throws -> [String] {
        try inputs.enumerated().map { i, input in
            if case .string(let s) = input { return s }
            if case .object(let o) = input, case .string(let s)? = o["text"] { return s }
            throw TrainyardError(.invalidInput, "input \(i): expected a string or {\"text\": …}; got \(input)")
        }
    }
}
