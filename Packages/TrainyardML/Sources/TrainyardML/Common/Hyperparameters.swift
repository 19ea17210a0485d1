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

/// Reads typed hyper-parameters out of a `[String: ParamValue]`, each declared once with its
/// default and its allowed range, and rejects keys nobody asked for.
///
/// ```swift
/// var reader = ParameterReader(params)
/// let trees = try reader.int("trees", default: 100, in: 1...100_000)
/// try reader.finish()   // throws for any unknown key
/// ```
public struct ParameterReader: Sendable {
    private let params: [String: ParamValue]
    private var consumed: Set<String> = []

    public init(_ params: [String: ParamValue]) { self.params = params }

    public mutating func int(_ key: String, default value: Int, in range: ClosedRange<Int>) throws(ParameterError) -> Int {
        consumed.insert(key)
        guard let raw = params[key] else { return value }
        guard case .int(let v) = raw else {
            throw ParameterError(key: key, message: "must be an integer in [\(range.lowerBound), \(range.upperBound)]; got \(raw)")
        }
        guard range.contains(v) else {
            throw ParameterError(key: key, message: "must be an integer in [\(range.lowerBound), \(range.upperBound)]; got \(v)")
        }
        return v
    }

    public mutating func double(_ key: String, default value: Double, in range: ClosedRange<Double>) throws(ParameterError) -> Double {
        consumed.insert(key)
        guard let raw = params[key] else { return value }
        let v: Double
        switch raw {
        case .int(let i): v = Double(i)
        case .double(let d): v = d
        default: throw ParameterError(key: key, message: "must be a number in [\(range.lowerBound), \(range.upperBound)]; got \(raw)")
        }
        guard v.isFinite, range.contains(v) else {
            throw ParameterError(key: key, message: "must be a number in [\(range.lowerBound), \(range.upperBound)]; got \(v)")
        }
        return v
    }

    public mutating func bool(_ key: String, default value: Bool) throws(ParameterError) -> Bool {
        consumed.insert(key)
        guard let raw = params[key] else { return value }
        guard case .bool(let v) = raw else { throw ParameterError(key: key, message: "must be true or false; got \(raw)") }
        return v
    }

    public mutating func choice(_ key: String, default value: String, from allowed: [String]) throws(ParameterError) -> String {
        consumed.insert(key)
        guard let raw = params[key] else { return value }
        guard case .string(let v) = raw, allowed.contains(v) else {
            throw ParameterError(key: key, message: "must be one of \(allowed.joined(separator: ", ")); got \(raw)")
        }
        return v
    }

    public mutating func intList(_ key: String, default value: [Int], each range: ClosedRange<Int>) throws(ParameterError) -> [Int] {
        consumed.insert(key)
        guard let raw = params[key] else { return value }
        guard case .list(let items) = raw else {
            throw ParameterError(key: key, message: "must be a list of integers; got \(raw)")
        }
        var out: [Int] = []
        for (i, item) in items.enumerated() {
            guard case .int(let v) = item, range.contains(v) else {
                throw ParameterError(key: "\(key)[\(i)]", message: "must be an integer in [\(range.lowerBound), \(range.upperBound)]; got \(item)")
            }
            out.append(v)
        }
        return out
    }

    /// Throws for the first key (alphabetically) that no accessor asked for.
    public func finish() throws(ParameterError) {
        if let unknown = params.keys.filter({ !consumed.contains($0) }).sorted().first {
            let known = consumed.sorted().joined(separator: ", ")
            throw ParameterError(key: unknown, message: "unknown parameter; known: \(known)")
        }
    }
}
