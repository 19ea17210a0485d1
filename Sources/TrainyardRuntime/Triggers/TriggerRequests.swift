import Foundation
import TrainyardCore

/// A trigger's template made concrete for one firing: the transform request or the spec text,
/// with the `${trigger.*}` placeholders replaced and (watch) the file as the input.
enum TriggerRequests {
    /// The transform request of `template` for a firing with `placeholders`; `input` (the file
    /// that fired a watch) replaces the template's.
    static func transform(_ template: [String: JSONValue], placeholders: TriggerPlaceholders, input: String?) throws -> TransformRequest {
        guard case .object(var object) = try placeholders.apply(to: .object(template)) else {
            throw TrainyardError(.invalidArgument, "the transform request is not a JSON object")
        }
        if let input { object["input"] = .string(input) }
        try checkKeys(object)
        do {
            return try JSON.decode(TransformRequest.self, from: JSON.encode(JSONValue.object(object)))
        } catch let error as DecodingError {
            throw TrainyardError(.invalidArgument, "the transform request: \(describe(error))")
        }
    }

    /// Refuses keys a transform request does not have (a misspelt `max_eror_rate` must not be
    /// silently dropped from every job the trigger makes).
    static func checkKeys(_ object: [String: JSONValue]) throws(TrainyardError) {
        let unknown = object.keys.filter { TransformRequest.CodingKeys(stringValue: $0) == nil }.sorted()
        guard unknown.isEmpty else {
            throw TrainyardError(.invalidArgument, "unknown key(s) \(unknown.map { "transform.\(clientEcho($0))" }.joined(separator: ", ")) in the transform request")
        }
    }

    /// The spec text of `template` for a firing with `placeholders` (values checked to be safe
    /// in YAML: a hostile file name cannot change the spec's structure).
    static func spec(_ template: TrainTemplate, placeholders: TriggerPlaceholders) throws -> String {
        try placeholders.applyToSpec(template.spec)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String { p.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "\(path(c.codingPath)) has the wrong type"
        case .keyNotFound(let key, let c): return "missing key \(path(c.codingPath + [key]))"
        case .dataCorrupted(let c): return "\(path(c.codingPath)): \(clientEcho(c.debugDescription))"
        @unknown default: return "it does not have the expected shape"
        }
    }
}
