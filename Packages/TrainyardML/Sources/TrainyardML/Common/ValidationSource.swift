/// Where a learner's validation rows come from: a seeded random fraction of the training data
/// (0 = none: no early stopping, final metrics on the training data), or a separate file's
/// bytes in the training data's format. One type for every learner (tabular, text, NER).
public enum ValidationSource: Sendable, Equatable {
    case fraction(Double)
    case data([UInt8])
}
