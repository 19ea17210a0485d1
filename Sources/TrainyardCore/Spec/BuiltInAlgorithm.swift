/// The native algorithms a spec may name under `model.algorithm`, declared once: the tasks
/// that take each and what it is. A task's first algorithm is its default. The learners'
/// hyper-parameters live with the learners (`TrainyardLearners.NativeParameters`); a test
/// keeps the two in step.
public struct BuiltInAlgorithm: Sendable, Equatable {
    public let name: String
    public let tasks: [TaskKind]
    /// One line: what the algorithm is.
    public let summary: String

    public static let all: [BuiltInAlgorithm] = [
        BuiltInAlgorithm(name: "gbdt", tasks: [.tabularRegression, .tabularClassification],
                         summary: "gradient-boosted decision trees (histogram-based, leaf-wise, LightGBM's parameter names)"),
        BuiltInAlgorithm(name: "mlp", tasks: [.tabularRegression, .tabularClassification],
                         summary: "multi-layer perceptron (ReLU, Adam, cosine schedule)"),
        BuiltInAlgorithm(name: "linear", tasks: [.tabularRegression, .tabularClassification],
                         summary: "ridge regression, or multinomial logistic regression (L-BFGS)"),
        BuiltInAlgorithm(name: "logistic-regression", tasks: [.textClassification],
                         summary: "linear classifier on hashed word and character n-grams (SGD)"),
        BuiltInAlgorithm(name: "crf", tasks: [.ner],
                         summary: "linear-chain conditional random field (L-BFGS)"),
    ]

    public static func named(_ name: String) -> BuiltInAlgorithm? { all.first { $0.name == name } }

    /// Every name, in declaration order.
    public static var names: [String] { all.map(\.name) }
}

extension TaskKind {
    /// The algorithms this task accepts under `model.algorithm` (empty for `command`, whose
    /// program is its own algorithm).
    public var algorithms: [BuiltInAlgorithm] { BuiltInAlgorithm.all.filter { $0.tasks.contains(self) } }

    /// The algorithm trained when the spec names none.
    public var defaultAlgorithm: String? { algorithms.first?.name }
}
