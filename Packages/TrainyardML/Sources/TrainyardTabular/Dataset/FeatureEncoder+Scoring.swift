/// A row the scoring encoder refused: its index in the rows and what is wrong with one of its
/// values (a row with several bad values has several problems).
struct RowProblem: Sendable, Equatable {
    var row: Int
    var reason: String
}

/// Tolerant encoding for bulk scoring (batch transform): a value the model cannot read makes
/// its row a `RowProblem` instead of failing the whole batch, so one bad row among millions
/// costs that row only.
///
/// The rules are the serving rules, so a file scores as its rows would over HTTP: empty, `NA`,
/// `N/A`, `NaN`, `null` are missing values (the model handles them); text in a numeric column,
/// `±inf` and literals beyond Double's range (`1e999`) are problems naming column and value; a
/// category the model never saw is a problem unless the column accepts unknown categories
/// (`TabularSchema.Feature.acceptsUnknownCategories`).
extension FeatureEncoder {
    /// A value as the model reads it, or why it cannot.
    enum ScoringValue {
        case value(Double)
        case problem(String)
    }

    /// Encodes every row of `rows`; refused rows keep their place (NaN where a value was bad),
    /// so row indices stay those of `rows`. Column-major with direct buffer access: no
    /// allocation per row (short categories are small strings, which live inline).
    /// - Parameter featureColumns: per model feature, the column of `rows` holding it.
    func encodeForScoring(_ rows: CSVRows, featureColumns: [Int]) -> (table: EncodedTable, problems: [RowProblem]) {
        let n = rows.count, stride = rows.columnCount
        var problems: [RowProblem] = []
        var columns: [[Double]] = []
        columns.reserveCapacity(schema.features.count)
        rows.data.withUnsafeBufferPointer { data in
        rows.fieldEnds.withUnsafeBufferPointer { ends in
            for (f, c) in featureColumns.enumerated() {
                var column = [Double](repeating: .nan, count: n)
                column.withUnsafeMutableBufferPointer { out in
                    var k = c
                    for r in 0..<n {
                        let start = k == 0 ? 0 : ends[k &- 1]
                        let field = UnsafeBufferPointer(rebasing: data[start..<ends[k]])
                        switch textValue(field, feature: f) {
                        case .value(let v): out[r] = v
                        case .problem(let reason): problems.append(RowProblem(row: r, reason: reason))
                        }
                        k &+= stride
                    }
                }
                columns.append(column)
            }
        }}
        // Found column by column; callers report rows in order, each with its problems in
        // column order (the offset keeps the sort stable).
        problems = problems.enumerated().sorted { ($0.element.row, $0.offset) < ($1.element.row, $1.offset) }.map(\.element)
        return (EncodedTable(columns: columns, target: [], count: n, categoryCounts: categoryCounts), problems)
    }

    /// How a text value (a CSV field, a JSON string) reads for feature `f`.
    @inline(__always)
    func textValue(_ raw: UnsafeBufferPointer<UInt8>, feature f: Int) -> ScoringValue {
        let v = FieldParsing.trimmed(raw)
        if schema.features[f].kind == .numeric {
            if let x = FieldParsing.parseDouble(v) { return .value(x) }
            if FieldParsing.isMissing(v) { return .value(.nan) }
            return .problem(FieldParsing.isNonFinite(v) ? Self.nonFinite(schema.features[f].name, v) : Self.notNumeric(schema.features[f].name, v))
        }
        if FieldParsing.isMissing(v) { return .value(.nan) }
        if let k = categoryLookups[f].index(of: v) { return .value(Double(k)) }
        return category(String(decoding: v, as: UTF8.self), feature: f)
    }

    /// How a category (already trimmed, not a missing spelling) reads for categorical feature `f`.
    func category(_ value: String, feature f: Int) -> ScoringValue {
        if let k = categoryIndex[f][value] { return .value(Double(k)) }
        let feature = schema.features[f]
        if feature.acceptsUnknownCategories { return .value(.nan) }
        return .problem(Self.unknownCategory(feature, value))
    }

    /// How a JSON number reads for feature `f` (a categorical column spells it as the predictor
    /// does for records: `2.0` is the category "2").
    func numberValue(_ x: Double, feature f: Int) -> ScoringValue {
        if schema.features[f].kind == .numeric { return .value(x) }
        return category(x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x), feature: f)
    }

    // MARK: Messages

    /// How many known categories a message lists, and how much of a client's value it echoes.
    static let categoriesShown = 10
    static let echoLimit = 80

    static func echo(_ s: some StringProtocol) -> String {
        s.count > echoLimit ? String(s.prefix(echoLimit)) + "…" : String(s)
    }

    static func notNumeric(_ column: String, _ value: UnsafeBufferPointer<UInt8>) -> String {
        "column \"\(column)\" is numeric; got \"\(echo(String(decoding: value, as: UTF8.self)))\""
    }

    static func nonFinite(_ column: String, _ value: UnsafeBufferPointer<UInt8>) -> String {
        "column \"\(column)\": \"\(echo(String(decoding: value, as: UTF8.self)))\" is not a finite number; leave the cell empty (or NA) for a missing value"
    }

    static func unknownCategory(_ feature: TabularSchema.Feature, _ value: String) -> String {
        let categories = feature.categories ?? []
        let shown = categories.prefix(categoriesShown).map { "\"\(echo($0))\"" }.joined(separator: ", ")
        let more = categories.count > categoriesShown ? ", … (\(categories.count) in all)" : ""
        return "column \"\(feature.name)\": unknown category \"\(echo(value))\"; the model knows \(shown)\(more)"
    }
}
