/// Bad text input: an empty or over-long text, a malformed line, an unknown file format, a label
/// set the learner cannot use. `description` names the line, row or index and what is wrong.
///
/// Growable error codes: compare `error.code` with the static members of ``TextInputError/Code``.
public struct TextInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case emptyText = "empty_text"
            case textTooLong = "text_too_long"
            case malformedLine = "malformed_line"
            case unknownFormat = "unknown_format"
            case missingColumn = "missing_column"
            case singleClass = "single_class"
            case emptyDataset = "empty_dataset"
            case unknownLabel = "unknown_label"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        public var description: String { base.rawValue }

        public static let emptyText = Code(.emptyText)
        public static let textTooLong = Code(.textTooLong)
        public static let malformedLine = Code(.malformedLine)
        public static let unknownFormat = Code(.unknownFormat)
        public static let missingColumn = Code(.missingColumn)
        public static let singleClass = Code(.singleClass)
        public static let emptyDataset = Code(.emptyDataset)
        public static let unknownLabel = Code(.unknownLabel)
    }

    public let code: Code
    /// 1-based line number in the input file, when the problem is tied to one line.
    public let line: Int?
    public let message: String

    public init(_ code: Code, line: Int? = nil, _ message: String) {
        self.code = code
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "line \(line): \(message)" }
        return message
    }
}
