/// A hyper-parameter value as written in a spec's `model.params`.
public enum ParamValue: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case list([ParamValue])

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .string(let v): return "\"\(v)\""
        case .bool(let v): return String(v)
        case .list(let v): return "[" + v.map(\.description).joined(separator: ", ") + "]"
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int.self) { self = .int(v) }
        else if let v = try? c.decode(Double.self) { self = .double(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else { self = .list(try c.decode([ParamValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .list(let v): try c.encode(v)
        }
    }
}

/// A bad hyper-parameter: which key, and what is wrong with it, in scikit-learn's style
/// ("must be an integer in [1, 100000]; got -3").
public struct ParameterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key inside `model.params` (e.g. `trees`, or `hidden_layers[1]`).
    public var key: String
    public var message: String
    public init(key: String, message: String) { self.key = key; self.message = message }
    public var description: String { "model.params.\(key): \(message)" }
}
