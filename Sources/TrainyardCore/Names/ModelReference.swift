/// How a user names a model version: `name` (alias `production` if set, else the latest
/// version), `name@alias`, or `name:3`.
public struct ModelReference: Hashable, Sendable, CustomStringConvertible {
    public enum Selector: Hashable, Sendable {
        /// `production` if that alias exists, else the latest ready version.
        case `default`
        case alias(AliasName)
        case version(Int)
    }

    public var name: ModelName
    public var selector: Selector

    /// The alias a bare model name resolves to when it is set (`.default`); else the latest
    /// ready version answers. Declared here once, for every store.
    public static let defaultAlias = AliasName.production

    public init(name: ModelName, selector: Selector = .default) {
        self.name = name
        self.selector = selector
    }

    /// Parses `name`, `name@alias` or `name:N`.
    public init(parsing text: String) throws(TrainyardError) {
        if let at = text.firstIndex(of: "@") {
            name = try ModelName(String(text[..<at]))
            selector = .alias(try AliasName(String(text[text.index(after: at)...])))
        } else if let colon = text.firstIndex(of: ":") {
            name = try ModelName(String(text[..<colon]))
            let v = String(text[text.index(after: colon)...])
            guard let number = Int(v), number >= 1 else {
                throw TrainyardError(.invalidArgument, "invalid version \"\(clientEcho(v))\" in model reference \"\(clientEcho(text))\": must be a positive integer")
            }
            selector = .version(number)
        } else {
            name = try ModelName(text)
            selector = .default
        }
    }

    public var description: String {
        switch selector {
        case .default: return name.rawValue
        case .alias(let a): return "\(name)@\(a)"
        case .version(let v): return "\(name):\(v)"
        }
    }
}
