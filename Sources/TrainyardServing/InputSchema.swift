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
        /// Categorical columns: the categories the model knows, in the schema's order; nil when
        /// the schema lists none (then any value is passed on).
        public var categories: [String]? {
            didSet { known = categories.map(Set.init) }
        }
        /// Whether a category outside `categories` is accepted (read as unknown, like a missing
        /// value) instead of rejected: the model saw more categories in training than it lists.
        public var acceptsUnknown: Bool
        /// `categories` for lookups.
        private(set) var known: Set<String>?

        public init(name: String, kind: String, categories: [String]? = nil, acceptsUnknown: Bool = false) {
            self.name = name
            self.kind = kind
            self.categories = categories
            self.acceptsUnknown = acceptsUnknown
            known = categories.map(Set.init)
        }

        /// Reads a column of a manifest's `input_schema.features` (a `TabularSchema` feature).
        /// A model trained before `accepts_unknown` was recorded accepts unknown categories
        /// when it lists `TabularSchema.maxCategories` of them: training then kept only the most
        /// frequent, so the rest were unknown to it already.
        init?(manifestFeature f: JSONValue) {
            guard let name = f["name"]?.stringValue else { return nil }
            let kind = f["kind"]?.stringValue ?? "numeric"
            var categories: [String]? = nil
            if kind == "categorical", case .array(let items)? = f["categories"] {
                categories = items.compactMap(\.stringValue)
            }
            var acceptsUnknown = (categories?.count ?? 0) >= TabularSchema.maxCategories
            if case .bool(let b)? = f["accepts_unknown"] { acceptsUnknown = b }
            self.init(name: name, kind: kind, categories: categories, acceptsUnknown: acceptsUnknown)
        }

        /// How many known categories an error lists.
        static let categoriesShown = 10

        /// nil when `value` is a category the column accepts; else the problem, naming the
        /// column, the value and (some of) the known categories.
        func unknownCategoryProblem(_ value: String) -> String? {
            guard let known, let categories, !acceptsUnknown else { return nil }
            let trimmed = value.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
            if known.contains(trimmed) || Self.isMissing(trimmed) { return nil }
            let shown = categories.prefix(Self.categoriesShown).map { "\"\(clientEcho($0, limit: 40))\"" }.joined(separator: ", ")
            let more = categories.count > Self.categoriesShown ? ", … (\(categories.count) in all)" : ""
            return "field \"\(name)\": unknown category \"\(clientEcho(value, limit: 40))\"; the model knows \(shown)\(more)"
        }

        /// The spellings of a missing value the tabular learners read (empty, NA, N/A, NaN, null).
        static func isMissing(_ s: String) -> Bool {
            ["", "NA", "N/A", "NaN", "nan", "NAN", "null", "NULL", "Null"].contains(s)
        }
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
                let columns = features.compactMap(Column.init(manifestFeature:))
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
        /// A categorical value, unless the model does not know it (then a problem: a silent
        /// "unknown" would answer as if the field were missing).
        func category(_ s: String) -> FeatureValue? {
            if let message = column.unknownCategoryProblem(s) {
                problem(path, message)
                return nil
            }
            return .string(s)
        }
        switch value {
        case .null: return .missing
        case .int(let n): return column.kind == "categorical" ? category(String(n)) : .number(Double(n))
        case .double(let d):
            guard column.kind == "categorical" else { return .number(d) }
            // As the predictor spells a number read as a category: 2.0 is "2".
            return category(d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d))
        case .string(let s):
            if column.kind == "categorical" { return category(s) }
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
