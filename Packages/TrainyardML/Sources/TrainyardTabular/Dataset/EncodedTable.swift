/// Rows encoded for learning, column-major: shapes nFeatures × nSamples.
///
/// Numeric features hold their value; categorical features hold the category's index in the
/// schema; both use NaN for missing (and unknown categories). `target` holds the regression
/// value or the class index, and is empty when the data had no target.
struct EncodedTable: Sendable {
    var columns: [[Double]]
    var target: [Double]
    var count: Int
    /// Per feature: the number of categories (0 for numeric features).
    var categoryCounts: [Int]

    func subset(_ indices: [Int]) -> EncodedTable {
        let cols = columns.map { col in indices.map { col[$0] } }
        let t = target.isEmpty ? [] : indices.map { target[$0] }
        return EncodedTable(columns: cols, target: t, count: indices.count, categoryCounts: categoryCounts)
    }

    static func concatenate(_ a: EncodedTable, _ b: EncodedTable) -> EncodedTable {
        EncodedTable(columns: zip(a.columns, b.columns).map { $0 + $1 }, target: a.target + b.target, count: a.count + b.count, categoryCounts: a.categoryCounts)
    }
}

/// Turns CSV rows or records into `EncodedTable`s according to a schema.
struct FeatureEncoder: Sendable {
    enum TargetMode { case required, ignored }

    let schema: TabularSchema
    let categoryIndex: [[String: Int]]
    /// `categoryIndex` by bytes, for bulk scoring (`encodeForScoring`).
    let categoryLookups: [CategoryLookup]
    private let classIndex: [String: Int]
    let featureIndex: [String: Int]

    init(schema: TabularSchema) {
        self.schema = schema
        categoryIndex = schema.features.map { f in
            var d: [String: Int] = [:]
            for (i, c) in (f.categories ?? []).enumerated() { d[c] = i }
            return d
        }
        categoryLookups = schema.features.map { CategoryLookup($0.categories ?? []) }
        var ci: [String: Int] = [:]
        for (i, c) in (schema.classes ?? []).enumerated() { ci[c] = i }
        classIndex = ci
        var fi: [String: Int] = [:]
        for (i, f) in schema.features.enumerated() { fi[f.name] = i }
        featureIndex = fi
        categoryCounts = schema.features.map { $0.kind == .categorical ? ($0.categories ?? []).count : 0 }
    }

    /// Per feature: number of categories (0 for numeric).
    let categoryCounts: [Int]

    /// Encodes a parsed CSV file.
    /// - Parameter target: `.required` drops rows whose target is missing and throws if the
    ///   target column is absent; `.ignored` skips the target column if present.
    func encode(_ table: CSVTable, target mode: TargetMode) throws -> EncodedTable {
        try encodeKeepingRows(table, target: mode).table
    }

    /// `encode`, and for each encoded row the index of the CSV row it came from (rows without
    /// a target value are left out when the target is required).
    func encodeKeepingRows(_ table: CSVTable, target mode: TargetMode) throws -> (table: EncodedTable, rows: [Int]) {
        let rows = table.rows
        var map = [Int](repeating: -1, count: table.header.count)  // file column → feature
        var targetColumn = -1
        for (c, name) in table.header.enumerated() {
            if name == schema.target { targetColumn = c; continue }
            guard let f = featureIndex[name] else {
                throw TabularDataError(.unknownColumn,
                    "unknown column '\(name)'; the model reads: \(schema.features.map(\.name).joined(separator: ", "))", column: name)
            }
            map[c] = f
        }
        var keep = [Int]()
        var target = [Double]()
        if mode == .required {
            guard targetColumn >= 0 else {
                throw TabularDataError(.targetMissing, "target column '\(schema.target)' not found; columns: \(table.header.joined(separator: ", "))", column: schema.target)
            }
            keep.reserveCapacity(rows.count)
            target.reserveCapacity(rows.count)
            for r in 0..<rows.count {
                let y: Double? = try rows.withField(row: r, column: targetColumn) { raw in
                    let f = FieldParsing.trimmed(raw)
                    if schema.task == .regression, FieldParsing.classifyTrainingValue(f) == .nonFinite {
                        throw TabularSchema.nonFiniteValue(rows, row: r, column: targetColumn, name: schema.target)
                    }
                    if FieldParsing.isMissing(f) { return nil }
                    switch schema.task {
                    case .regression:
                        guard let v = FieldParsing.parseDouble(f) else {
                            throw TabularDataError(.nonNumericTarget,
                                "line \(rows.line(of: r)): target '\(schema.target)' must be numeric for tabular-regression, got '\(String(decoding: f, as: UTF8.self))'",
                                line: rows.line(of: r), column: schema.target)
                        }
                        return v
                    case .classification:
                        let label = String(decoding: f, as: UTF8.self)
                        guard let k = classIndex[label] else {
                            throw TabularDataError(.unknownClass,
                                "line \(rows.line(of: r)): class '\(label)' of target '\(schema.target)' is not one of the model's classes (\((schema.classes ?? []).joined(separator: ", ")))",
                                line: rows.line(of: r), column: schema.target)
                        }
                        return Double(k)
                    }
                }
                if let y { keep.append(r); target.append(y) }
            }
        } else {
            keep = Array(0..<rows.count)
        }
        // Labelled data (training, validation, evaluation) must not hold NaN or ±inf in a
        // numeric column; data to predict keeps reading `NaN` as missing.
        let strict = mode == .required
        let n = keep.count
        var columns = [[Double]](repeating: [Double](repeating: .nan, count: n), count: schema.features.count)
        for c in 0..<table.header.count {
            let f = map[c]
            if f < 0 { continue }
            let feature = schema.features[f]
            let categories = categoryIndex[f]
            columns[f].withUnsafeMutableBufferPointer { out in
                for (k, r) in keep.enumerated() {
                    out[k] = rows.withField(row: r, column: c) { raw -> Double in
                        let v = FieldParsing.trimmed(raw)
                        if feature.kind == .numeric {
                            if let x = FieldParsing.parseDouble(v) { return x }
                            if strict && FieldParsing.isNonFinite(v) { return -.infinity }  // reported below
                            if FieldParsing.isMissing(v) { return .nan }
                            return .infinity  // marks a type error, reported below
                        }
                        if FieldParsing.isMissing(v) { return .nan }
                        return categories[String(decoding: v, as: UTF8.self)].map(Double.init) ?? .nan
                    }
                }
            }
            if feature.kind == .numeric, let k = columns[f].firstIndex(where: { $0.isInfinite }) {
                let r = keep[k]
                if columns[f][k] < 0 { throw TabularSchema.nonFiniteValue(rows, row: r, column: c, name: feature.name) }
                let value = rows.withField(row: r, column: c) { FieldParsing.text($0) }
                throw TabularDataError(.wrongType, "line \(rows.line(of: r)), column \(feature.name): the column is numeric, got \"\(value.prefix(80))\"",
                                       line: rows.line(of: r), column: feature.name)
            }
        }
        return (EncodedTable(columns: columns, target: target, count: n, categoryCounts: categoryCounts), keep)
    }

    /// Encodes JSON-style records: a missing key is a missing value.
    func encode(records: [[String: FeatureValue]]) throws -> EncodedTable {
        let n = records.count
        var columns = [[Double]](repeating: [Double](repeating: .nan, count: n), count: schema.features.count)
        for (r, record) in records.enumerated() {
            for (name, value) in record {
                guard let f = featureIndex[name] else {
                    if name == schema.target { continue }
                    throw TabularDataError(.unknownColumn,
                        "record \(r): unknown column '\(name)'; the model reads: \(schema.features.map(\.name).joined(separator: ", "))",
                        record: r, column: name)
                }
                let feature = schema.features[f]
                let encoded: Double
                switch (feature.kind, value) {
                case (_, .missing):
                    encoded = .nan
                case (.numeric, .number(let x)):
                    encoded = x.isFinite ? x : .nan
                case (.numeric, .string(let s)):
                    let parsed: FieldValue = Array(s.utf8).withUnsafeBufferPointer { FieldParsing.classify($0) }
                    switch parsed {
                    case .missing: encoded = .nan
                    case .number(let x): encoded = x
                    case .text, .nonFinite:
                        throw TabularDataError(.wrongType, "record \(r): column '\(name)' is numeric, got \"\(s)\"", record: r, column: name)
                    }
                case (.categorical, .string(let s)):
                    encoded = categoryIndex[f][s.trimmingASCIISpaces()].map(Double.init) ?? .nan
                case (.categorical, .number(let x)):
                    let s = x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
                    encoded = categoryIndex[f][s].map(Double.init) ?? .nan
                }
                columns[f][r] = encoded
            }
        }
        return EncodedTable(columns: columns, target: [], count: n, categoryCounts: categoryCounts)
    }
}
