/// One input value of a record for `TabularPredictor.predict(records:)`.
public enum FeatureValue: Sendable, Equatable {
    case number(Double)
    case string(String)
    case missing
}

/// One prediction: `value` for regression; `label` and `probabilities` for classification.
public struct TabularPrediction: Sendable, Equatable {
    public var value: Double?
    public var label: String?
    public var probabilities: [String: Double]?

    public init(value: Double? = nil, label: String? = nil, probabilities: [String: Double]? = nil) {
        self.value = value
        self.label = label
        self.probabilities = probabilities
    }
}

/// A loaded tabular model, ready to score. Immutable and thread-safe: share one instance
/// between request handlers. Large batches use all cores.
///
/// ```swift
/// let predictor = try TabularPredictor(model: bytes)
/// let out = try predictor.predict(records: [["carat": .number(0.5), "cut": .string("Ideal")]])
/// ```
public final class TabularPredictor: Sendable {
    public let schema: TabularSchema
    public let task: TabularTask
    public let algorithm: String
    let model: TabularModel
    let encoder: FeatureEncoder

    /// - Throws: `ModelFormatError` for bytes that are not a readable tabular model.
    public init(model bytes: [UInt8]) throws {
        let m: TabularModel
        if bytes.count >= 4 && Array(bytes[0..<4]) == Array("TYCK".utf8) {
            m = try TabularCheckpoint(bytes: bytes).model
        } else {
            m = try TabularModel(bytes: bytes)
        }
        model = m
        schema = m.schema
        task = m.task
        algorithm = m.algorithm
        encoder = FeatureEncoder(schema: m.schema)
    }

    /// Scores records; a missing key is a missing value.
    /// - Throws: `TabularDataError` for an unknown column (named) or a value of the wrong
    ///   type (naming the column and the record index).
    public func predict(records: [[String: FeatureValue]]) throws -> [TabularPrediction] {
        try predictions(for: encoder.encode(records: records))
    }

    /// Scores a CSV/TSV file with a header; the target column is ignored if present.
    public func predict(csv: [UInt8]) throws -> [TabularPrediction] {
        let table = try CSVTable.parse(csv, allowHeaderOnly: true)
        return try predictions(for: encoder.encode(table, target: .ignored))
    }

    /// Scores rows from a `CSVStreamReader` (batch transform of large files).
    public func predict(rows: CSVRows, header: [String]) throws -> [TabularPrediction] {
        let table = CSVTable(header: header, rows: rows, delimiter: CSVTokenizer.comma)
        return try predictions(for: encoder.encode(table, target: .ignored))
    }

    /// Raw predictions, row-major: one value per row (regression) or class probabilities in
    /// `schema.classes` order. The fast path for benchmarks and bulk scoring.
    public func predictMatrix(csv: [UInt8]) throws -> [Double] {
        let table = try CSVTable.parse(csv, allowHeaderOnly: true)
        return model.predict(try encoder.encode(table, target: .ignored))
    }

    /// Metrics on a labelled CSV file (the target column is required): `rmse`, `mae`, `r2`, or
    /// `accuracy`, `macro_f1`, `logloss` (+ `auc` for two classes).
    public func evaluate(csv: [UInt8]) throws -> EvaluationReport {
        let table = try CSVTable.parse(csv)
        let data = try encoder.encode(table, target: .required)
        guard data.count > 0 else { throw TabularDataError(.tooFewRows, "no rows with a value for target '\(schema.target)'") }
        let metrics = TabularMetrics.evaluate(task: task, truth: data.target, predictions: model.predict(data),
                                              classCount: schema.classes?.count ?? 0, full: true)
        return EvaluationReport(metrics: metrics, rows: data.count)
    }

    func predictions(for data: EncodedTable) -> [TabularPrediction] {
        let raw = model.predict(data)
        switch task {
        case .regression:
            return raw.map { TabularPrediction(value: $0) }
        case .classification:
            let classes = schema.classes ?? []
            let k = classes.count
            return (0..<data.count).map { i in
                var best = 0
                var probs: [String: Double] = [:]
                for c in 0..<k {
                    probs[classes[c]] = raw[i * k + c]
                    if raw[i * k + c] > raw[i * k + best] { best = c }
                }
                return TabularPrediction(label: classes[best], probabilities: probs)
            }
        }
    }
}

/// Rows already parsed and encoded for one model: score them many times without re-reading
/// the CSV (bulk scoring, benchmarks). Shapes: `count` rows.
public struct TabularBatch: Sendable {
    let data: EncodedTable
    public var count: Int { data.count }
}

extension TabularPredictor {
    /// Parses and encodes a CSV file for `predictMatrix(_:)`; the target column is ignored.
    public func encode(csv: [UInt8]) throws -> TabularBatch {
        TabularBatch(data: try encoder.encode(CSVTable.parse(csv, allowHeaderOnly: true), target: .ignored))
    }

    /// Row-major raw predictions for an encoded batch (see `predictMatrix(csv:)`).
    public func predictMatrix(_ batch: TabularBatch) -> [Double] {
        model.predict(batch.data)
    }
}
