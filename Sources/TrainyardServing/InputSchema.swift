import Foundation
import TrainyardCore
import TrainyardTabular

/// What a served version reads, from its manifest's `input_schema`: named feature columns
/// (tabular), text, or anything (bring-your-own models without a schema).
public enum InputSchema: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        /// `numeric` or `categorical`.
        public var kind: String
    }

    case tabular(columns: [Column], target: String?)
    case text
    case any

    public init(manifest: Manifest) {
        switch manifest.task {
        case .textClassification, .ner:
            self = .text
        case .tabularRegression, .tabularClassification, .command:
            // A bring-your-own model may declare tabular features too; without them it takes anything.
            if case .array(let features)? = manifest.inputSchema?["features"] {
                let columns = features.compactMap { f -> Column? in
                    guard let name = f["name"]?.stringValue else { return nil }
                    return Column(name: name, kind: f["kind"]?.stringValue ?? "numeric")
                }
                self = .tabular(columns: columns, target: manifest.inputSchema?["target"]?.stringValue)
            } else {
                self = .any
            }
        }
    }

    /// Column names in model order (empty for text / any).
    public var columnNames: [String] {
        if case .tabular(let columns, _) = self { return columns.map(\.name) }
        return []
    }

    /// At most this many problems are listed in one 400.
    static let maxDetails = 50

    /// Checks rows against the schema and converts them to tabular records; every missing,
    /// extra or mistyped field is listed.
    /// - Parameter rows: objects (`{"column": value}`) or arrays in column order.
    func records(_ rows: [JSONValue]) throws(TrainyardError) -> [[String: FeatureValue]] {
        guard case .tabular(let columns, let target) = self else { return [] }
        var details: [TrainyardError.Detail] = []
        var records: [[String: FeatureValue]] = []
        records.reserveCapacity(rows.count)
        func problem(_ path: String, _ message: String) {
            if details.count < Self.maxDetails { details.append(.init(path: path, message: message)) }
        }
        for (i, row) in rows.enumerated() {
            var record: [String: FeatureValue] = [:]
            record.reserveCapacity(columns.count)
            switch row {
            case .object(let fields):
                for column in columns {
                    guard let value = fields[column.name] else {
                        problem("inputs[\(i)].\(column.name)", "missing field \"\(column.name)\" (\(column.kind))")
                        continue
                    }
                    if let v = Self.convert(value, column, path: "inputs[\(i)].\(column.name)", problem: problem) { record[column.name] = v }
                }
                if fields.count > columns.count || columns.contains(where: { fields[$0.name] == nil }) {
                    for key in fields.keys.sorted() where key != target && !columns.contains(where: { $0.name == key }) {
                        problem("inputs[\(i)].\(key)", "unknown field \"\(key)\"; the model reads \(columns.map(\.name).joined(separator: ", "))")
                    }
                }
            case .array(let values):
                guard values.count == columns.count else {
                    problem("inputs[\(i)]", "expected \(columns.count) values in column order (\(columns.map(\.name).joined(separator: ", "))); got \(values.count)")
                    continue
                }
                for (column, value) in zip(columns, values) {
                    if let v = Self.convert(value, column, path: "inputs[\(i)].\(column.name)", problem: problem) { record[column.name] = v }
                }
            default:
                problem("inputs[\(i)]", "expected an object of column values or an array in column order; got \(Self.typeName(row))")
            }
            records.append(record)
        }
        guard details.isEmpty else {
            throw TrainyardError(.invalidInput, "the input does not match the model's schema (\(details.count == Self.maxDetails ? "at least " : "")\(details.count) problem\(details.count == 1 ? "" : "s"))",
                                 details: details)
        }
        return records
    }

    private static func convert(_ value: JSONValue, _ column: Column, path: String, problem: (String, String) -> Void) -> FeatureValue? {
        switch value {
        case .null: return .missing
        case .int(let n): return column.kind == "categorical" ? .string(String(n)) : .number(Double(n))
        case .double(let d): return column.kind == "categorical" ? .string(String(d)) : .number(d)
        case .string(let s):
            if column.kind == "categorical" { return .string(s) }
            problem(path, "field \"\(column.name)\" must be a number (or null); got the string \"\(s.prefix(40))\"")
            return nil
        default:
            problem(path, "field \"\(column.name)\" must be a \(column.kind == "categorical" ? "string" : "number") (or null); got \(typeName(value))")
            return nil
        }
    }

    /// Texts from rows: strings or `{"text": …}`.
    static func texts(_ rows: [JSONValue]) throws(TrainyardError) -> [String] {
        var texts: [String] = []
        var details: [TrainyardError.Detail] = []
        for (i, row) in rows.enumerated() {
            switch row {
            case .string(let s): texts.append(s)
            case .object(let o):
                if case .string(let s)? = o["text"] {
                    texts.append(s)
                    for key in o.keys.sorted() where key != "text" { details.append(.init(path: "inputs[\(i)].\(key)", message: "unknown field \"\(key)\"; a text model reads \"text\"")) }
                } else {
                    details.append(.init(path: "inputs[\(i)].text", message: o["text"] == nil ? "missing field \"text\" (string)" : "field \"text\" must be a string"))
                }
            case .array(let a) where a.count == 1:
                if case .string(let s) = a[0] { texts.append(s) } else { details.append(.init(path: "inputs[\(i)]", message: "expected a string")) }
            default:
                details.append(.init(path: "inputs[\(i)]", message: "expected a string or {\"text\": …}; got \(typeName(row))"))
            }
            if details.count >= maxDetails { break }
        }
        guard details.isEmpty else {
            throw TrainyardError(.invalidInput, "the input does not match the model's schema (\(details.count) problem\(details.count == 1 ? "" : "s"))", details: details)
        }
        return texts
    }

    static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
