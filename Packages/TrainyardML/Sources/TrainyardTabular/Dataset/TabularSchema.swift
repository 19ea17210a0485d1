/// What a tabular model reads and predicts: its feature columns (numeric or categorical, with
/// the categories seen in training), the target column and, for classification, the classes.
///
/// Codable: it goes into the model manifest JSON, and it is stored inside the model file.
/// Categories are kept sorted; a category not listed here is "unknown" at predict time and
/// handled like a missing value.
public struct TabularSchema: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case numeric, categorical }

    public struct Feature: Sendable, Codable, Equatable {
        public var name: String
        public var kind: Kind
        /// Categorical columns only: the categories seen in training (at most `maxCategories`).
        public var categories: [String]?
        public init(name: String, kind: Kind, categories: [String]? = nil) {
            self.name = name
            self.kind = kind
            self.categories = categories
        }
    }

    public var task: TabularTask
    public var target: String
    public var features: [Feature]
    /// Classification only: class labels in the model's class-index order.
    public var classes: [String]?

    public init(task: TabularTask, target: String, features: [Feature], classes: [String]? = nil) {
        self.task = task
        self.target = target
        self.features = features
        self.classes = classes
    }

    /// Categorical columns keep this many most frequent categories; rarer ones read as unknown.
    public static let maxCategories = 1000

    /// Throws unless `other` has the same task, target and feature columns (names and kinds):
    /// the warm-start check.
    public func checkCompatible(with other: TabularSchema) throws {
        guard task == other.task else {
            throw TabularDataError(.incompatibleSchema, "incompatible warm start: checkpoint is \(task.rawValue), request is \(other.task.rawValue)")
        }
        guard target == other.target else {
            throw TabularDataError(.incompatibleSchema, "incompatible warm start: checkpoint target is '\(target)', request target is '\(other.target)'", column: other.target)
        }
        let mine = features.map { "\($0.name):\($0.kind.rawValue)" }
        let theirs = other.features.map { "\($0.name):\($0.kind.rawValue)" }
        guard mine == theirs else {
            let missing = Set(mine).subtracting(theirs).sorted()
            let extra = Set(theirs).subtracting(mine).sorted()
            throw TabularDataError(.incompatibleSchema,
                "incompatible warm start: feature columns differ (checkpoint only: \(missing.joined(separator: ", ")); new data only: \(extra.joined(separator: ", ")))")
        }
    }
}

extension TabularSchema {
    /// Infers the schema of `table`: a column is numeric when every non-missing value is a
    /// number, categorical otherwise.
    /// - Throws: `TabularDataError` for a missing target, an all-missing feature, a constant
    ///   or non-numeric (regression) target.
    public static func infer(from table: CSVTable, target: String, task: TabularTask) throws -> TabularSchema {
        let rows = table.rows
        guard let targetIndex = table.header.firstIndex(of: target) else {
            throw TabularDataError(.targetMissing, "target column '\(target)' not found; columns: \(table.header.joined(separator: ", "))", column: target)
        }
        guard table.header.count > 1 else {
            throw TabularDataError(.noFeatures, "no feature columns besides the target '\(target)'")
        }
        var features: [Feature] = []
        for (c, name) in table.header.enumerated() where c != targetIndex {
            var missing = 0, text = 0
            for r in 0..<rows.count {
                let v = rows.withField(row: r, column: c) { FieldParsing.classify($0) }
                switch v {
                case .missing: missing += 1
                case .text: text += 1
                case .number: break
                }
            }
            if missing == rows.count {
                throw TabularDataError(.allMissingFeature, "feature column '\(name)' has no values (all \(rows.count) rows are missing)", column: name)
            }
            if text == 0 {
                features.append(Feature(name: name, kind: .numeric))
            } else {
                var counts: [String: Int] = [:]
                for r in 0..<rows.count {
                    rows.withField(row: r, column: c) { f in
                        let t = FieldParsing.trimmed(f)
                        if !FieldParsing.isMissing(t) { counts[String(decoding: t, as: UTF8.self), default: 0] += 1 }
                    }
                }
                var kept = Array(counts.keys)
                if kept.count > maxCategories {
                    kept = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(maxCategories).map(\.key)
                }
                features.append(Feature(name: name, kind: .categorical, categories: kept.sorted()))
            }
        }
        var classes: [String]? = nil
        switch task {
        case .regression:
            var first: Double? = nil, constant = true, seen = 0
            for r in 0..<rows.count {
                let v = rows.withField(row: r, column: targetIndex) { FieldParsing.classify($0) }
                switch v {
                case .missing: continue
                case .text:
                    let s = rows.string(row: r, column: targetIndex)
                    throw TabularDataError(.nonNumericTarget,
                        "line \(rows.line(of: r)): target '\(target)' must be numeric for tabular-regression, got '\(s)'",
                        line: rows.line(of: r), column: target)
                case .number(let x):
                    seen += 1
                    if let f = first { if f != x { constant = false } } else { first = x }
                }
            }
            guard seen > 0 else { throw TabularDataError(.constantTarget, "target '\(target)' has no values", column: target) }
            if constant { throw TabularDataError(.constantTarget, "target '\(target)' is constant (\(first!)); nothing to learn", column: target) }
        case .classification:
            var labels: Set<String> = []
            for r in 0..<rows.count {
                rows.withField(row: r, column: targetIndex) { f in
                    let t = FieldParsing.trimmed(f)
                    if !FieldParsing.isMissing(t) { labels.insert(String(decoding: t, as: UTF8.self)) }
                }
            }
            guard labels.count >= 2 else {
                throw TabularDataError(.constantTarget, "target '\(target)' has \(labels.count) class\(labels.count == 1 ? "" : "es") (\(labels.sorted().joined(separator: ", "))); classification needs at least 2", column: target)
            }
            classes = sortLabels(Array(labels))
        }
        return TabularSchema(task: task, target: target, features: features, classes: classes)
    }

    /// Numeric order when every label is a number ("2" < "10"), text order otherwise.
    static func sortLabels(_ labels: [String]) -> [String] {
        let numbers = labels.map { label in Array(label.utf8).withUnsafeBufferPointer { FieldParsing.parseDouble($0) } }
        if numbers.allSatisfy({ $0 != nil }) {
            return labels.indices.sorted { (numbers[$0]!, labels[$0]) < (numbers[$1]!, labels[$1]) }.map { labels[$0] }
        }
        return labels.sorted()
    }
}
