/// The one error type that crosses module boundaries and reaches users.
///
/// It carries a stable machine code, a human message naming what is wrong and where, and
/// optional details (one per offending field). The HTTP layer maps `code` to a status and
/// renders `{"error": {"code", "message", "details"}}`; the CLI maps it to exit code 2 for
/// client mistakes and 1 otherwise. Anything that is not a `TrainyardError` is an internal
/// error: logged, never echoed.
public struct TrainyardError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Code
    public var message: String
    public var details: [Detail]

    public init(_ code: Code, _ message: String, details: [Detail] = []) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String {
        details.isEmpty ? message : message + "\n" + details.map { "  " + $0.description }.joined(separator: "\n")
    }

    /// A growable set of error codes (a struct, so adding one never breaks a `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        /// Whether the caller, not the system, is at fault (HTTP 4xx, CLI exit 2).
        public let isClientError: Bool
        public let httpStatus: Int

        init(_ rawValue: String, status: Int) {
            self.rawValue = rawValue
            self.httpStatus = status
            self.isClientError = (400..<500).contains(status)
        }

        public var description: String { rawValue }

        public static let invalidSpec = Code("invalid_spec", status: 400)
        public static let invalidArgument = Code("invalid_argument", status: 400)
        public static let invalidInput = Code("invalid_input", status: 400)
        public static let unauthorized = Code("unauthorized", status: 401)
        public static let forbidden = Code("forbidden", status: 403)
        public static let notFound = Code("not_found", status: 404)
        public static let conflict = Code("conflict", status: 409)
        public static let payloadTooLarge = Code("payload_too_large", status: 413)
        public static let unsupportedMediaType = Code("unsupported_media_type", status: 415)
        public static let leaseLost = Code("lease_lost", status: 409)
        public static let unavailable = Code("unavailable", status: 503)
        public static let timeout = Code("timeout", status: 504)
        public static let artifactCorrupt = Code("artifact_corrupt", status: 500)
        public static let trainingFailed = Code("training_failed", status: 500)
        public static let `internal` = Code("internal", status: 500)

        public static let all: [Code] = [
            .invalidSpec, .invalidArgument, .invalidInput, .unauthorized, .forbidden, .notFound, .conflict,
            .payloadTooLarge, .unsupportedMediaType, .leaseLost, .unavailable, .timeout, .artifactCorrupt,
            .trainingFailed, .internal,
        ]

        public init?(rawValue: String) {
            guard let found = Code.all.first(where: { $0.rawValue == rawValue }) else { return nil }
            self = found
        }
    }

    /// One offending field: where (a key path such as `model.params.trees`, a column, a row) and what.
    public struct Detail: Sendable, Equatable, Codable, CustomStringConvertible {
        public var path: String?
        public var line: Int?
        public var column: Int?
        public var message: String

        public init(path: String? = nil, line: Int? = nil, column: Int? = nil, message: String) {
            self.path = path
            self.line = line
            self.column = column
            self.message = message
        }

        public var description: String {
            var location = ""
            if let path { location += path }
            if let line {
                location += location.isEmpty ? "" : " "
                location += "(line \(line)" + (column.map { ", column \($0)" } ?? "") + ")"
            }
            return location.isEmpty ? message : "\(location): \(message)"
        }
    }
}

extension TrainyardError {
    public static func notFound(_ what: String) -> TrainyardError { TrainyardError(.notFound, "\(what) not found") }
    public static func invalidArgument(_ message: String) -> TrainyardError { TrainyardError(.invalidArgument, message) }
    public static func conflict(_ message: String) -> TrainyardError { TrainyardError(.conflict, message) }
}
