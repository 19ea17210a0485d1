/// A model's name: `[a-z0-9][a-z0-9._-]{0,63}`.
///
/// Names appear in storage keys, URLs and table rows, so they are validated once at the
/// boundary and carried as this type afterwards.
public struct ModelName: ValidatedName, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) throws(TrainyardError) {
        guard Self.isValid(rawValue) else {
            throw TrainyardError(.invalidArgument, "invalid model name \"\(clientEcho(rawValue))\": must match [a-z0-9][a-z0-9._-]{0,63}")
        }
        self.rawValue = rawValue
    }

    /// The shared rule for model and alias names: lowercase ASCII letters and digits first,
    /// then up to 63 of letters, digits, `.`, `_`, `-`.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        func isAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard isAlnum(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { isAlnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    public var description: String { rawValue }
    public static func < (a: ModelName, b: ModelName) -> Bool { a.rawValue < b.rawValue }
}

/// An alias name (`production`, `staging`, …), same rule as model names.
public struct AliasName: ValidatedName, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) throws(TrainyardError) {
        guard ModelName.isValid(rawValue), !rawValue.allSatisfy(\.isNumber) else {
            throw TrainyardError(.invalidArgument, "invalid alias \"\(clientEcho(rawValue))\": must match [a-z0-9][a-z0-9._-]{0,63} and not be a number")
        }
        // `GET /api/v1/models/{name}/aliases/history` is the audit trail.
        guard !Self.reserved.contains(rawValue) else {
            throw TrainyardError(.invalidArgument, "invalid alias \"\(clientEcho(rawValue))\": the name is reserved")
        }
        self.rawValue = rawValue
    }

    public static let production = try! AliasName("production")
    static let reserved: Set<String> = ["history"]
    public var description: String { rawValue }
    public static func < (a: AliasName, b: AliasName) -> Bool { a.rawValue < b.rawValue }
}

/// A string checked once at the boundary; encoded as the plain string, and validated again
/// when decoded (a stored or received value is never trusted blindly).
public protocol ValidatedName: Hashable, Sendable, Codable {
    var rawValue: String { get }
    init(_ rawValue: String) throws(TrainyardError)
}

extension ValidatedName {
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(raw) } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
