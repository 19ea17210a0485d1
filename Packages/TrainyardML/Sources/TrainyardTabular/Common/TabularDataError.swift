/// Bad tabular input: an empty or malformed file, a missing or unusable target, a value of the
/// wrong type. `description` names the line (CSV, 1-based, header = line 1) or record index and
/// the column, so the message can be shown to the person who submitted the data.
///
/// Codes grow without breaking callers: compare `error.code == .raggedRow`.
public struct TabularDataError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Raw: String, Sendable {
            case emptyFile = "empty_file"
            case headerOnly = "header_only"
            case raggedRow = "ragged_row"
            case duplicateColumn = "duplicate_column"
            case targetMissing = "target_missing"
            case constantTarget = "constant_target"
            case nonNumericTarget = "non_numeric_target"
            case allMissingFeature = "all_missing_feature"
            case noFeatures = "no_features"
            case wrongType = "wrong_type"
            case unknownColumn = "unknown_column"
            case incompatibleSchema = "incompatible_schema"
            case unknownClass = "unknown_class"
            case tooFewRows = "too_few_rows"
            case nonFiniteValue = "non_finite_value"
            case missingColumn = "missing_column"
            case unsupportedOption = "unsupported_option"
        }
        private let raw: Raw
        private init(_ raw: Raw) { self.raw = raw }
        public var description: String { raw.rawValue }

        public static let emptyFile = Code(.emptyFile)
        public static let headerOnly = Code(.headerOnly)
        public static let raggedRow = Code(.raggedRow)
        public static let duplicateColumn = Code(.duplicateColumn)
        public static let targetMissing = Code(.targetMissing)
        public static let constantTarget = Code(.constantTarget)
        public static let nonNumericTarget = Code(.nonNumericTarget)
        public static let allMissingFeature = Code(.allMissingFeature)
        public static let noFeatures = Code(.noFeatures)
        public static let wrongType = Code(.wrongType)
        public static let unknownColumn = Code(.unknownColumn)
        public static let incompatibleSchema = Code(.incompatibleSchema)
        public static let unknownClass = Code(.unknownClass)
        public static let tooFewRows = Code(.tooFewRows)
        /// NaN, ±infinity or an overflowing literal (`1e999`) where training needs a number.
        public static let nonFiniteValue = Code(.nonFiniteValue)
        /// Input to score lacks a column the model reads.
        public static let missingColumn = Code(.missingColumn)
        /// An option that does not apply to this model (probabilities of a regression model).
        public static let unsupportedOption = Code(.unsupportedOption)
    }

    public let code: Code
    /// CSV line number (1-based, the header is line 1), when the problem is on one line.
    public let line: Int?
    /// Record index (0-based) for `predict(records:)` problems.
    public let record: Int?
    /// The column concerned, if any.
    public let column: String?
    public let description: String

    init(_ code: Code, _ description: String, line: Int? = nil, record: Int? = nil, column: String? = nil) {
        self.code = code
        self.description = description
        self.line = line
        self.record = record
        self.column = column
    }

    /// The same error with `source` (which file: `data.train`) in front of its description.
    func from(_ source: String?) -> TabularDataError {
        guard let source else { return self }
        return TabularDataError(code, "\(source): \(description)", line: line, record: record, column: column)
    }
}
