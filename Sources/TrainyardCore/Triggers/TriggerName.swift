/// A trigger's name: `[a-z0-9][a-z0-9._-]{0,63}`, the rule of model names.
///
/// Names appear in URLs (`/api/v1/triggers/{name}`), idempotency keys and the origin recorded
/// on every job a trigger makes, so they are validated once at the boundary.
public struct TriggerName: ValidatedName, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) throws(TrainyardError) {
        guard ModelName.isValid(rawValue) else {
            throw TrainyardError(.invalidArgument, "invalid trigger name \"\(clientEcho(rawValue))\": must match [a-z0-9][a-z0-9._-]{0,63}")
        }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
    public static func < (a: TriggerName, b: TriggerName) -> Bool { a.rawValue < b.rawValue }
}
