/// Metrics of a model on labelled data, under the public metric names.
///
/// `metrics` holds the flat figures (`rmse`, `accuracy`, `f1`, …); `perType` holds NER's
/// per-entity-type scores (`{"PER": {"precision": …, "recall": …, "f1": …, "support": …}}`).
public struct EvaluationReport: Sendable, Codable, Equatable {
    public var metrics: [String: Double]
    public var perType: [String: [String: Double]]?
    public var rows: Int

    public init(metrics: [String: Double], perType: [String: [String: Double]]? = nil, rows: Int) {
        self.metrics = metrics
        self.perType = perType
        self.rows = rows
    }

    enum CodingKeys: String, CodingKey {
        case metrics
        case perType = "per_type"
        case rows
    }
}
