/// What a tabular model reads and predicts: its feature columns (numeric or categorical, with
/// the categories seen in training), the target column and, for classification, the classes.
///
/// Codable: it goes into the model manifest JSON, and it is stored inside the model file.
/// Categories are kept sorted. A category not listed is "unknown": the predictor reads it like
/// a missing value, and the server rejects it (400) unless the column `acceptsUnknown`.
public struct TabularSchema: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case numeric, categorical }

    public struct Feature: Sendable, Codable, Equatable {
        public var name: String
        public var kind: Kind
        /// Categorical columns only: the categories seen in training (at most `maxCategories`).
        public var categories: [String]?
        /// Categorical columns only: true when training saw more categories than are listed.
        /// The rarest were read as unknown (missing) while training, so the model has learned
        /// what an unknown category means, and serving accepts one. nil (false) otherwise:
        /// every category the model knows is listed, and any other value is an input error.
        public var acceptsUnknown: Bool?

        public init(name: String, kind: Kind, categories: [String]? = nil, acceptsUnknown: Bool? = nil) {
            self.name = name
            self.kind = kind
            self.categories = categories
            self.acceptsUnknown = acceptsUnknown
        }

        enum CodingKeys: String, CodingKey {
            case name, kind, categories
            case acceptsUnknown = "accepts_unknown"
        }

        /// Whether a category outside `categories` is scored (read as unknown) rather than refused,
        /// the rule serving applies too: `acceptsUnknown`, or for a model trained before the flag
        /// was recorded, a full list of `maxCategories` (the rarest were unknown to it already).
        public var acceptsUnknownCategories: Bool {
            acceptsUnknown ?? ((categories?.count ?? 0) >= TabularSchema.maxCategories)
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
    /// How many stray non-numbers a column of numbers may hold before it is read as
    /// categorical: a column is *numeric* when all its non-empty values are numbers, or when
    /// it has at least `minimumNumbersForStrays` numbers and the values that are not numbers
    /// are at most 1 % of its non-empty values (or just one). Such a column with a stray value
    /// is a typo or a corrupt row, not a category with a hundred "levels" of prices: training
    /// fails naming the first stray's line, column and value. Columns with more text than
    /// that are categorical, as before.
    static let minimumNumbersForStrays = 10

    /// Infers the schema of `table`: numeric and categorical columns (see
    /// `minimumNumbersForStrays` for the rule), the classes of a classification target.
    ///
    /// Missing values are empty cells and `NA`, `N/A`, `null`. In a numeric column or a
    /// regression target, `NaN`, `±inf` and literals beyond Double's range (`1e999`) are errors
    /// naming line and column (a categorical column or a label reads `NaN` as missing).
    /// - Parameters:
    ///   - limits: most feature columns (`limits.features`) and classes (`limits.classes`).
    ///   - source: what the table is, for messages (`data.train`).
    /// - Throws: `TabularDataError` for a missing target, an all-missing feature, a constant
    ///   or non-numeric (regression) target, a stray value in a numeric column, a non-finite
    ///   number; `TrainingLimitError` for too many columns or classes.
    public static func infer(from table: CSVTable, target: String, task: TabularTask, limits: TrainingLimits = TrainingLimits(),
                             source: String = "the training data") throws -> TabularSchema {
        let rows = table.rows
        guard let targetIndex = table.header.firstIndex(of: target) else {
            throw TabularDataError(.targetMissing, "target column '\(target)' not found; columns: \(table.header.joined(separator: ", "))", column: target)
        }
        guard table.header.count > 1 else {
            throw TabularDataError(.noFeatures, "no feature columns besides the target '\(target)'")
        }
        try limits.checkFeatures(table.header.count - 1, in: source)
        var features: [Feature] = []
        for (c, name) in table.header.enumerated() where c != targetIndex {
            var missing = 0, text = 0, numbers = 0, nonFinite = 0
            var firstStray: Int? = nil  // first row whose value is text or non-finite
            for r in 0..<rows.count {
                let v = rows.withField(row: r, column: c) { FieldParsing.classifyTrainingValue($0) }
                switch v {
                case .missing: missing += 1
                case .number: numbers += 1
                case .text:
                    text += 1
                    if firstStray == nil { firstStray = r }
                case .nonFinite:
                    nonFinite += 1
                    if firstStray == nil { firstStray = r }
                }
            }
            let valued = numbers + nonFinite + text
            let numeric = text == 0
                || (numbers >= minimumNumbersForStrays && (text == 1 || text * 100 <= valued))
            if numeric {
                if let r = firstStray {
                    throw strayValue(rows, row: r, column: c, name: name, numbers: numbers, strays: text + nonFinite)
                }
                if missing == rows.count {
                    throw TabularDataError(.allMissingFeature, "feature column '\(name)' has no values (all \(rows.count) rows are missing)", column: name)
                }
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
                var acceptsUnknown: Bool? = nil
                if kept.count > maxCategories {
                    kept = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(maxCategories).map(\.key)
                    acceptsUnknown = true
                }
                features.append(Feature(name: name, kind: .categorical, categories: kept.sorted(), acceptsUnknown: acceptsUnknown))
            }
        }
        var classes: [String]? = nil
        switch task {
        case .regression:
            var first: Double? = nil, constant = true, seen = 0
            for r in 0..<rows.count {
                let v = rows.withField(row: r, column: targetIndex) { FieldParsing.classifyTrainingValue($0) }
                switch v {
                case .missing: continue
                case .text:
                    let s = rows.string(row: r, column: targetIndex)
                    throw TabularDataError(.nonNumericTarget,
                        "line \(rows.line(of: r)): target '\(target)' must be numeric for tabular-regression, got '\(s)'",
                        line: rows.line(of: r), column: target)
                case .nonFinite:
                    throw nonFiniteValue(rows, row: r, column: targetIndex, name: target)
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
            try limits.checkClasses(labels.count, in: source)
            guard labels.count >= 2 else {
                throw TabularDataError(.constantTarget, "target '\(target)' has \(labels.count) class\(labels.count == 1 ? "" : "es") (\(labels.sorted().joined(separator: ", "))); classification needs at least 2", column: target)
            }
            classes = sortLabels(Array(labels))
        }
        return TabularSchema(task: task, target: target, features: features, classes: classes)
    }

    /// The error for the first value of a numeric column that is not a (finite) number.
    static func strayValue(_ rows: CSVRows, row r: Int, column c: Int, name: String, numbers: Int, strays: Int) -> TabularDataError {
        let isNonFinite = rows.withField(row: r, column: c) { FieldParsing.classifyTrainingValue($0) } == .nonFinite
        if isNonFinite { return nonFiniteValue(rows, row: r, column: c, name: name) }
        let value = rows.withField(row: r, column: c) { FieldParsing.text($0) }
        let others = strays == 1 ? "the other \(numbers) values are"
            : "\(numbers) of its \(numbers + strays) non-empty values are; \(strays) are not"
        return TabularDataError(.wrongType,
            "line \(rows.line(of: r)), column \(name): \"\(value.prefix(80))\" is not a number (\(others)); fix the value, or leave the cell empty for a missing value",
            line: rows.line(of: r), column: name)
    }

    /// The error for `NaN`, `±inf` or `1e999` where a finite number is needed.
    static func nonFiniteValue(_ rows: CSVRows, row r: Int, column c: Int, name: String) -> TabularDataError {
        let value = rows.withField(row: r, column: c) { FieldParsing.text($0) }
        return TabularDataError(.nonFiniteValue,
            "line \(rows.line(of: r)), column \(name): \"\(value.prefix(80))\" is not a finite number; leave the cell empty (or NA) for a missing value",
            line: rows.line(of: r), column: name)
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
