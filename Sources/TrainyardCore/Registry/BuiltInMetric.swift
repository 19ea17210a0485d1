/// The metric names the native learners report (in `evaluate --json`, the registry and the
/// API; a public contract), declared once with the way each improves. Promotion's direction
/// table, the spec's `promote.metric` check and the CLI's column order derive from it.
public struct BuiltInMetric: Sendable, Equatable {
    public let name: String
    public let direction: MetricDirection
    public let tasks: [TaskKind]

    /// In the order tables show them.
    public static let all: [BuiltInMetric] = [
        BuiltInMetric(name: "rmse", direction: .lowerIsBetter, tasks: [.tabularRegression]),
        BuiltInMetric(name: "mae", direction: .lowerIsBetter, tasks: [.tabularRegression]),
        BuiltInMetric(name: "r2", direction: .higherIsBetter, tasks: [.tabularRegression]),
        BuiltInMetric(name: "accuracy", direction: .higherIsBetter, tasks: [.tabularClassification, .textClassification]),
        BuiltInMetric(name: "macro_f1", direction: .higherIsBetter, tasks: [.tabularClassification, .textClassification]),
        BuiltInMetric(name: "logloss", direction: .lowerIsBetter, tasks: [.tabularClassification, .textClassification]),
        BuiltInMetric(name: "auc", direction: .higherIsBetter, tasks: [.tabularClassification, .textClassification]),
        BuiltInMetric(name: "f1", direction: .higherIsBetter, tasks: [.ner]),
        BuiltInMetric(name: "precision", direction: .higherIsBetter, tasks: [.ner]),
        BuiltInMetric(name: "recall", direction: .higherIsBetter, tasks: [.ner]),
    ]

    /// Every name, in table order.
    public static var names: [String] { all.map(\.name) }

    public static func named(_ name: String) -> BuiltInMetric? { all.first { $0.name == name } }
}
