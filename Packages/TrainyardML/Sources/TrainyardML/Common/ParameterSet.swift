/// Every hyper-parameter of one algorithm, in the order they are listed, and the one place a
/// `model.params` mapping is checked against them.
///
/// ```swift
/// let values = try GBDTConfig.parameters.resolve(params, task: "tabular-regression", seed: 42)
/// let trees = values.int(GBDTConfig.trees)
/// ```
public struct ParameterSet: Sendable, Equatable {
    /// The algorithm's public name (`gbdt`, `crf`, …).
    public let algorithm: String
    public let declarations: [ParameterDeclaration]

    public init(algorithm: String, _ declarations: [ParameterDeclaration]) {
        let names = declarations.flatMap { [$0.name] + $0.aliases }
        precondition(Set(names).count == names.count, "\(algorithm): a parameter name or alias is declared twice")
        self.algorithm = algorithm
        self.declarations = declarations
    }

    /// The declaration named `name` (not an alias), if any.
    public subscript(name: String) -> ParameterDeclaration? { declarations.first { $0.name == name } }

    /// The declarations that apply to `task` (nil: all of them).
    public func declarations(for task: String?) -> [ParameterDeclaration] { declarations.filter { $0.applies(to: task) } }

    /// Checks `params` and fills in every default.
    ///
    /// Throws for the first problem, in declaration order: a wrong type or a value out of
    /// range, then a key no declaration of `task` has (naming the known ones, or the tasks a
    /// parameter applies to).
    public func resolve(_ params: [String: ParamValue], task: String?, seed: UInt64) throws(ParameterError) -> ResolvedParameters {
        var values: [String: ParamValue] = [:]
        var given: Set<String> = []
        var used: Set<String> = []
        let applicable = declarations(for: task)
        for declaration in applicable {
            var chosen: ParamValue?
            // Every spelling given is checked; the name wins over an alias.
            for key in [declaration.name] + declaration.aliases {
                guard let raw = params[key] else { continue }
                used.insert(key)
                let value = try declaration.check(raw, key: key)
                if chosen == nil { chosen = value }
            }
            if chosen != nil { given.insert(declaration.name) }
            values[declaration.name] = chosen ?? declaration.defaultValue(task: task, seed: seed)
        }
        if let unknown = params.keys.filter({ !used.contains($0) }).sorted().first {
            if let other = declarations.first(where: { $0.name == unknown || $0.aliases.contains(unknown) }), let tasks = other.tasks {
                throw ParameterError(key: unknown, message: "applies only to \(tasks.joined(separator: ", ")) with \(algorithm)")
            }
            let known = applicable.map(\.name).sorted().joined(separator: ", ")
            throw ParameterError(key: unknown, message: "unknown parameter of \(algorithm); known: \(known)")
        }
        return ResolvedParameters(values: values, given: given)
    }
}

/// The effective value of every applicable parameter after `ParameterSet.resolve`: what the
/// user gave, else the declared default. Read by declaration, so a name is written once.
public struct ResolvedParameters: Sendable, Equatable {
    /// Parameter name → effective value (the record stored with a model).
    public var values: [String: ParamValue]
    /// The names the user gave (under the name or an alias).
    public let given: Set<String>

    public init(values: [String: ParamValue], given: Set<String>) {
        self.values = values
        self.given = given
    }

    public func isGiven(_ d: ParameterDeclaration) -> Bool { given.contains(d.name) }

    // A declaration read as the wrong type, or one not resolved, is a programmer error.

    public func int(_ d: ParameterDeclaration) -> Int {
        guard case .int(let v)? = values[d.name] else { preconditionFailure("\(d.name) is not a resolved integer") }
        return v
    }

    public func double(_ d: ParameterDeclaration) -> Double {
        switch values[d.name] {
        case .double(let v)?: return v
        case .int(let v)?: return Double(v)
        default: preconditionFailure("\(d.name) is not a resolved number")
        }
    }

    public func bool(_ d: ParameterDeclaration) -> Bool {
        guard case .bool(let v)? = values[d.name] else { preconditionFailure("\(d.name) is not a resolved boolean") }
        return v
    }

    public func string(_ d: ParameterDeclaration) -> String {
        guard case .string(let v)? = values[d.name] else { preconditionFailure("\(d.name) is not a resolved string") }
        return v
    }

    public func intList(_ d: ParameterDeclaration) -> [Int] {
        guard case .list(let items)? = values[d.name] else { preconditionFailure("\(d.name) is not a resolved list") }
        return items.map { item in
            guard case .int(let v) = item else { preconditionFailure("\(d.name) holds a non-integer") }
            return v
        }
    }
}
