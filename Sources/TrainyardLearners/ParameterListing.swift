import TrainyardCore
import TrainyardML

/// What `trainyard params` shows of one built-in algorithm: the catalog entry
/// (`BuiltInAlgorithm`) with its learner's declared parameters, in the order declared.
public struct AlgorithmListing: Sendable, Encodable, Equatable {
    public var algorithm: String
    public var summary: String
    public var tasks: [String]
    /// The tasks that train this algorithm when a spec names none.
    public var defaultFor: [String]
    public var parameters: [ParameterListing]

    enum CodingKeys: String, CodingKey {
        case algorithm, summary, tasks, parameters
        case defaultFor = "default_for"
    }
}

/// One declared hyper-parameter, as listed (JSON keys snake_case).
public struct ParameterListing: Sendable, Encodable, Equatable {
    public var name: String
    /// `integer`, `number`, `boolean`, `string`, `list of integers`.
    public var type: String
    /// The default; nil when it depends on the task (`defaultByTask`) or comes from the spec
    /// (`defaultFrom`).
    public var defaultValue: JSONValue?
    public var defaultByTask: [String: JSONValue]?
    /// The spec key whose value is the default (`seed`).
    public var defaultFrom: String?
    /// The allowed values in words: "an integer in [1, 100000]".
    public var allowed: String
    public var minimum: Double?
    public var maximum: Double?
    public var choices: [String]?
    public var aliases: [String]
    /// nil: every task of the algorithm.
    public var tasks: [String]?
    public var doc: String

    enum CodingKeys: String, CodingKey {
        case name, type, allowed, minimum, maximum, choices, aliases, tasks, doc
        case defaultValue = "default"
        case defaultByTask = "default_by_task"
        case defaultFrom = "default_from"
    }

    init(_ d: ParameterDeclaration) {
        name = d.name
        type = d.typeName
        switch d.defaultValue {
        case .value(let v): defaultValue = LearnerBridge.json(v)
        case .perTask(let byTask): defaultByTask = byTask.mapValues(LearnerBridge.json)
        case .runSeed: defaultFrom = "seed"
        }
        allowed = d.constraint
        switch d.kind {
        case .integer(let r): (minimum, maximum) = (Double(r.lowerBound), Double(r.upperBound))
        case .number(let r): (minimum, maximum) = (r.lowerBound, r.upperBound)
        case .integerList(let each, _): (minimum, maximum) = (Double(each.lowerBound), Double(each.upperBound))
        case .choice(let allowed): choices = allowed
        case .boolean: break
        }
        aliases = d.aliases
        tasks = d.tasks
        doc = d.doc
    }

    /// The default for a table: `1000`, `true (tabular-regression), false (…)`, `the spec's seed`.
    public var defaultText: String {
        if let defaultValue { return Self.text(defaultValue) }
        if let defaultByTask { return defaultByTask.sorted { $0.key > $1.key }.map { "\(Self.text($0.value)) (\($0.key))" }.joined(separator: ", ") }
        return defaultFrom.map { "the spec's \($0)" } ?? "-"
    }

    static func text(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .array(let items): return "[" + items.map(text).joined(separator: ", ") + "]"
        default: return (try? JSON.encodeString(v)) ?? "\(v)"
        }
    }
}

extension NativeParameters {
    /// Every built-in algorithm with its parameters, in catalog order.
    public static func listing() -> [AlgorithmListing] {
        BuiltInAlgorithm.all.map(listing)
    }

    /// `name`'s listing; an unknown name is a bad argument naming the known algorithms.
    public static func listing(for name: String) throws(TrainyardError) -> AlgorithmListing {
        guard let algorithm = BuiltInAlgorithm.named(name) else {
            throw TrainyardError(.invalidArgument, "unknown algorithm \"\(clientEcho(name))\"; known algorithms: \(BuiltInAlgorithm.names.joined(separator: ", "))")
        }
        return listing(algorithm)
    }

    static func listing(_ algorithm: BuiltInAlgorithm) -> AlgorithmListing {
        // Every catalog entry has a learner (NativeParametersTests): a gap is a build defect.
        guard let set = parameters(for: algorithm.name) else { preconditionFailure("no learner declares the parameters of \(algorithm.name)") }
        return AlgorithmListing(algorithm: algorithm.name, summary: algorithm.summary, tasks: algorithm.tasks.map(\.rawValue),
                                defaultFor: algorithm.tasks.filter { $0.defaultAlgorithm == algorithm.name }.map(\.rawValue),
                                parameters: set.declarations.map(ParameterListing.init))
    }
}
