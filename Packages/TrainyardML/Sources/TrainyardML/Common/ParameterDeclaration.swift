/// One hyper-parameter, declared once: its name, type, default, allowed values and a one-line
/// doc (LightGBM's `config.h` style). Validation, error messages, the effective values recorded
/// with a model and `trainyard params` all derive from the declaration.
///
/// ```swift
/// static let trees = ParameterDeclaration.integer("trees", default: 1000, in: 1...100_000,
///                                                 doc: "Most boosting rounds (early stopping may end sooner).")
/// ```
public struct ParameterDeclaration: Sendable, Equatable, Hashable {
    /// The type and the values it allows.
    public enum Kind: Sendable, Equatable, Hashable {
        case integer(ClosedRange<Int>)
        case number(ClosedRange<Double>)
        case boolean
        case choice([String])
        /// A list of `count` integers, each in `each`.
        case integerList(each: ClosedRange<Int>, count: ClosedRange<Int>)
    }

    /// Where the value comes from when `model.params` does not name the key.
    public enum Default: Sendable, Equatable, Hashable {
        case value(ParamValue)
        /// Differs by task (public task name, e.g. `tabular-regression` → value).
        case perTask([String: ParamValue])
        /// The run's seed (the spec's top-level `seed`).
        case runSeed
    }

    public let name: String
    public let kind: Kind
    public let defaultValue: Default
    /// One line: what the parameter does (and, where it matters, why its default).
    public let doc: String
    /// Other names accepted for the same parameter (the name wins when both are given).
    public let aliases: [String]
    /// The tasks (public names) the parameter applies to; nil: every task of the algorithm.
    public let tasks: [String]?

    public init(_ name: String, kind: Kind, default defaultValue: Default, doc: String, aliases: [String] = [], tasks: [String]? = nil) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.doc = doc
        self.aliases = aliases
        self.tasks = tasks
    }

    public static func integer(_ name: String, default value: Int, in range: ClosedRange<Int>, doc: String,
                               aliases: [String] = [], tasks: [String]? = nil) -> Self {
        Self(name, kind: .integer(range), default: .value(.int(value)), doc: doc, aliases: aliases, tasks: tasks)
    }

    public static func number(_ name: String, default value: Double, in range: ClosedRange<Double>, doc: String,
                              aliases: [String] = [], tasks: [String]? = nil) -> Self {
        Self(name, kind: .number(range), default: .value(.double(value)), doc: doc, aliases: aliases, tasks: tasks)
    }

    public static func boolean(_ name: String, default value: Bool, doc: String, tasks: [String]? = nil) -> Self {
        Self(name, kind: .boolean, default: .value(.bool(value)), doc: doc, tasks: tasks)
    }

    /// A boolean whose default depends on the task (`perTask`: task name → default).
    public static func boolean(_ name: String, perTask defaults: [String: Bool], doc: String) -> Self {
        Self(name, kind: .boolean, default: .perTask(defaults.mapValues { .bool($0) }), doc: doc)
    }

    public static func choice(_ name: String, default value: String, from allowed: [String], doc: String) -> Self {
        Self(name, kind: .choice(allowed), default: .value(.string(value)), doc: doc)
    }

    public static func integerList(_ name: String, default value: [Int], each: ClosedRange<Int>, count: ClosedRange<Int>, doc: String) -> Self {
        Self(name, kind: .integerList(each: each, count: count), default: .value(.list(value.map { .int($0) })), doc: doc)
    }

    /// The seed of the algorithm's randomness, defaulting to the run's seed.
    public static func seed(in range: ClosedRange<Int>, doc: String = "Overrides the spec's seed for this algorithm's randomness.") -> Self {
        Self("seed", kind: .integer(range), default: .runSeed, doc: doc)
    }

    /// Whether the parameter applies to `task` (nil: any task).
    public func applies(to task: String?) -> Bool {
        guard let tasks, let task else { return true }
        return tasks.contains(task)
    }

    /// The effective default for a run of `task` seeded with `seed`.
    public func defaultValue(task: String?, seed: UInt64) -> ParamValue {
        switch defaultValue {
        case .value(let v): return v
        case .runSeed: return .int(Int(truncatingIfNeeded: seed))
        case .perTask(let byTask):
            if let task, let v = byTask[task] { return v }
            // No task given (a listing): the first task's, in name order, so it is stable.
            return byTask.sorted { $0.key < $1.key }.first!.value
        }
    }

    /// `integer`, `number`, `boolean`, `string`, `list of integers`.
    public var typeName: String {
        switch kind {
        case .integer: return "integer"
        case .number: return "number"
        case .boolean: return "boolean"
        case .choice: return "string"
        case .integerList: return "list of integers"
        }
    }

    /// The allowed values in words, as error messages and listings state them:
    /// `an integer in [1, 100000]`, `one of cosine, constant`.
    public var constraint: String {
        switch kind {
        case .integer(let r): return "an integer in [\(r.lowerBound), \(r.upperBound)]"
        case .number(let r): return "a number in [\(r.lowerBound), \(r.upperBound)]"
        case .boolean: return "true or false"
        case .choice(let allowed): return "one of \(allowed.joined(separator: ", "))"
        case .integerList(let each, let count):
            let size = count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound) to \(count.upperBound)"
            return "a list of \(size) integers, each in [\(each.lowerBound), \(each.upperBound)]"
        }
    }

    /// `value` checked against the declaration, as the learner reads it (an integer given
    /// for a number becomes a number).
    /// - Parameter key: the key the value was written under (the name or an alias).
    public func check(_ value: ParamValue, key: String? = nil) throws(ParameterError) -> ParamValue {
        let key = key ?? name
        func fail(_ got: ParamValue) -> ParameterError { ParameterError(key: key, message: "must be \(constraint); got \(got)") }
        switch kind {
        case .integer(let range):
            guard case .int(let v) = value, range.contains(v) else { throw fail(value) }
            return value
        case .number(let range):
            let v: Double
            switch value {
            case .int(let i): v = Double(i)
            case .double(let d): v = d
            default: throw fail(value)
            }
            guard v.isFinite, range.contains(v) else { throw fail(.double(v)) }
            return .double(v)
        case .boolean:
            guard case .bool = value else { throw fail(value) }
            return value
        case .choice(let allowed):
            guard case .string(let v) = value, allowed.contains(v) else { throw fail(value) }
            return value
        case .integerList(let each, let count):
            guard case .list(let items) = value else { throw fail(value) }
            for (i, item) in items.enumerated() {
                guard case .int(let v) = item, each.contains(v) else {
                    throw ParameterError(key: "\(key)[\(i)]", message: "must be an integer in [\(each.lowerBound), \(each.upperBound)]; got \(item)")
                }
            }
            guard count.contains(items.count) else { throw fail(value) }
            return value
        }
    }
}
