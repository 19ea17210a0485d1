import Foundation
import TrainyardCore

/// Reads a bring-your-own serve process's answer to a multi-record `/invocations` request as
/// one prediction per record, whatever shape it chose: a JSON array, `{"predictions": […]}`,
/// JSON Lines, or CSV/text with one line per record (each line kept as its text).
enum InvocationAnswer {
    /// The predictions in `body`, or nil when it has none of the shapes above.
    static func predictions(_ body: Data, contentType: String) -> [JSONValue]? {
        let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let bytes = [UInt8](body)
        if type.contains("jsonl") || type.contains("jsonlines") || type.contains("ndjson") || type.contains("json-lines") {
            return jsonLines(bytes)
        }
        if type.contains("json") { return document(bytes) ?? jsonLines(bytes) }
        if type.hasPrefix("text/") { return textLines(bytes) }
        return document(bytes) ?? jsonLines(bytes) ?? textLines(bytes)
    }

    /// A whole JSON document: an array, or an object with a `predictions` array.
    static func document(_ bytes: [UInt8]) -> [JSONValue]? {
        switch try? FastJSON.parse(bytes) {
        case .array(let items)?: return items
        case .object(let members)?:
            if case .array(let items)? = members["predictions"] { return items }
            return nil
        default: return nil
        }
    }

    /// One JSON value per non-blank line.
    static func jsonLines(_ bytes: [UInt8]) -> [JSONValue]? {
        var values: [JSONValue] = []
        for line in lines(bytes) {
            guard let value = try? FastJSON.parse(line) else { return nil }
            values.append(value)
        }
        return values
    }

    /// One string per non-blank line (a CSV answer's line as it is).
    static func textLines(_ bytes: [UInt8]) -> [JSONValue] {
        lines(bytes).map { .string(String(decoding: $0, as: UTF8.self)) }
    }

    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.split(separator: InputRecords.newline, omittingEmptySubsequences: true).compactMap { line in
            let trimmed = line.last == InputRecords.carriageReturn ? line.dropLast() : line
            return trimmed.allSatisfy({ $0 == InputRecords.space || $0 == InputRecords.tab }) ? nil : trimmed
        }
    }

    /// The model's own words in a refusal (`CommandModelProcess` quotes the answer's body after
    /// the status): an `{"error": …}` or `{"message": …}` body's text, else the whole message.
    static func refusalReason(_ message: String) -> String {
        guard let range = message.range(of: "): ") else { return message }
        let status = message[..<range.lowerBound].split(separator: "(").last.map(String.init) ?? ""
        let body = message[range.upperBound...]
        if let answer = try? FastJSON.parse(Array(body.utf8)) {
            for key in ["error", "message", "detail"] {
                if case .string(let text)? = answer[key] { return "the model refused it (\(status)): \(text)" }
                if case .string(let text)? = answer[key]?["message"] { return "the model refused it (\(status)): \(text)" }
            }
        }
        return "the model refused it (\(status)): \(body)"
    }
}
