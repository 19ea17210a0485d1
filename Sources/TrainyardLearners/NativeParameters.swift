import TrainyardCore
import TrainyardTabular
import TrainyardText

/// The hyper-parameters of every built-in algorithm, as the learners declare them (name,
/// type, default, range, doc). Spec validation, the defaults applied at training, the values
/// recorded with a version and `trainyard params` all read these declarations.
public enum NativeParameters {
    /// The declared parameters of `algorithm` (a `BuiltInAlgorithm` name); nil for a name no
    /// learner implements.
    public static func parameters(for algorithm: String) -> ParameterSet? {
        if let tabular = TabularAlgorithm(rawValue: algorithm) { return tabular.parameters }
        switch algorithm {
        case TextClassification.algorithm: return TextClassificationConfig.parameters
        case EntityRecognition.algorithm: return NERConfig.parameters
        default: return nil
        }
    }

    /// The algorithm a spec trains: its `model.algorithm`, or the task's default.
    static func algorithm(of spec: Spec) -> String? { spec.model.algorithm ?? spec.task.defaultAlgorithm }
}
