import Foundation
import TrainyardCore
import TrainyardServing

/// The shape `/invocations` answers in, from the request's `Accept` (SageMaker clients ask for
/// what their next step reads): JSON `{"predictions": […]}` (the default), CSV (one line per
/// row) or JSON Lines (one prediction per line).
enum ScoringAnswerFormat: Equatable {
    case json, csv, jsonLines

    static let csvType = "text/csv"
    static let jsonLinesType = "application/jsonlines"

    /// The most preferred supported type of `accept` (by q, then order); JSON when none is
    /// supported or the header is absent, as HTTP allows a server to do.
    static func negotiate(_ accept: String?) -> ScoringAnswerFormat {
        guard let accept else { return .json }
        var candidates: [(format: ScoringAnswerFormat, q: Double, index: Int)] = []
        for (index, item) in accept.split(separator: ",").enumerated() {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let type = parts.first else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") { q = Double(parameter.dropFirst(2)) ?? 1 }
            guard q > 0 else { continue }
            let format: ScoringAnswerFormat?
            switch type {
            case csvType, "application/csv": format = .csv
            case jsonLinesType, "application/jsonl", "application/x-ndjson", "application/json-lines": format = .jsonLines
            case "application/json", "*/*", "application/*": format = .json
            default: format = nil
            }
            if let format { candidates.append((format, q, index)) }
        }
        return candidates.sorted { ($0.q, -$0.index) > ($1.q, -$1.index) }.first?.format ?? .json
    }

    var contentType: String {
        switch self {
        case .json: HTTPHelpers.jsonContentType
        case .csv: "text/csv; charset=utf-8"
        case .jsonLines: "application/jsonlines"
        }
    }

    /// `predictions` (each a model's plain output) in this format.
    func render(_ predictions: [JSONValue]) -> [UInt8] {
        switch self {
        case .json:
            return FastJSON.serialize(.object(["predictions": .array(predictions)]))
        case .jsonLines:
            var out: [UInt8] = []
            for prediction in predictions {
                FastJSON.write(prediction, into: &out)
                out.append(UInt8(ascii: "\n"))
            }
            return out
        case .csv:
            var out = ""
            for prediction in predictions { out += Self.csvLine(prediction) + "\n" }
            return Array(out.utf8)
        }
    }

    /// One prediction as a CSV line: a number or label as it is; a classifier's answer object as
    /// its label (then its score, when it has one); anything else as its JSON text in one field.
    static func csvLine(_ prediction: JSONValue) -> String {
        switch prediction {
        case .null: return ""
        case .bool(let b): return b ? "true" : "false"
        case .int, .double: return String(decoding: FastJSON.serialize(prediction), as: UTF8.self)
        case .string(let s): return field(s)
        case .object(let o) where o["label"] != nil:
            let label = csvLine(o["label"] ?? .null)
            guard let score = o["score"], score.doubleValue != nil else { return label }
            return label + "," + csvLine(score)
        default: return field(String(decoding: FastJSON.serialize(prediction), as: UTF8.self))
        }
    }

    /// RFC 4180 quoting where a field needs it.
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
