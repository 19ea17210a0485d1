/// The tabular algorithms, under the names specs (`model.algorithm`) and model files use.
public enum TabularAlgorithm: String, Sendable, CaseIterable, Codable {
    case gbdt
    case mlp
    case linear

    /// Used when a request names none.
    public static let `default` = TabularAlgorithm.gbdt

    /// Every hyper-parameter of the algorithm, as declared (defaults, ranges, docs).
    public var parameters: ParameterSet {
        switch self {
        case .gbdt: return GBDTConfig.parameters
        case .mlp: return MLPConfig.parameters
        case .linear: return LinearConfig.parameters
        }
    }
}
