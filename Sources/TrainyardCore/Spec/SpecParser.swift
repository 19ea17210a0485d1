import Foundation
import Yams

/// A spec together with where each key was written, so later checks (hyper-parameters
/// validated by the learner, data files checked by the stager) can still point at a line.
public struct ParsedSpec: Sendable {
    public var spec: Spec
    /// Key path (`model.params.trees`) → 1-based line and column of its value.
    public var locations: [String: SourceLocation]

    /// A `TrainyardError(.invalidSpec)` for `path`, with its line/column when known.
    public func error(at path: String, _ message: String) -> TrainyardError {
        let loc = locations[path]
        return TrainyardError(.invalidSpec, "invalid spec: \(path): \(message)",
                              details: [.init(path: path, line: loc?.line, column: loc?.column, message: message)])
    }
}

public struct SourceLocation: Sendable, Equatable, Codable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) { self.line = line; self.column = column }
}

/// Parses spec text (YAML, or JSON, which is YAML) into a `Spec`.
///
/// Every problem found is reported, not just the first: unknown keys (with the known ones),
/// wrong types, impossible values, missing required keys, each with its key path and the
/// line/column where it was written. Nothing is half-accepted: either a whole `Spec` or an
/// error.
public struct SpecParser {
    /// Largest spec text accepted (`limits.spec_bytes`).
    public var maxBytes: Int

    public init(maxBytes: Int = ResourceLimits().specBytes) { self.maxBytes = maxBytes }

    public func parse(_ text: String) throws(TrainyardError) -> ParsedSpec {
        guard text.utf8.count <= maxBytes else {
            throw TrainyardError(.invalidSpec, "invalid spec: the text is \(text.utf8.count) bytes; limits.spec_bytes allows \(maxBytes)",
                                 details: [.init(line: 1, column: 1, message: "spec larger than limits.spec_bytes (\(maxBytes) bytes)")])
        }
        try Self.preflight(text)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw TrainyardError(.invalidSpec, "invalid spec: the document is empty",
                                     details: [.init(line: 1, column: 1, message: "empty document")])
            }
            root = node
        } catch let error as TrainyardError {
            throw error
        } catch let error as YamlError {
            throw Self.syntaxError(error)
        } catch {
            throw TrainyardError(.invalidSpec, "invalid spec: \(error)")
        }
        var walker = Walker()
        let spec = walker.spec(root)
        if !walker.problems.isEmpty || spec == nil {
            let first = walker.problems.first
            let summary = first.map { "\($0.path ?? "spec")\($0.line.map { " (line \($0), column \(walker.columnOf(first!))" } ?? ""): \($0.message)" } ?? "invalid"
            let more = walker.problems.count > 1 ? " (and \(walker.problems.count - 1) more)" : ""
            throw TrainyardError(.invalidSpec, "invalid spec: \(summary)\(more)", details: walker.problems)
        }
        return ParsedSpec(spec: spec!, locations: walker.locations)
    }

    /// Refuses anchors, aliases, deep nesting and huge node counts before Yams composes a tree
    /// (see `YAMLPreflight`). Syntax errors are left to the composer, which words them well.
    static func preflight(_ text: String) throws(TrainyardError) {
        do { try YAMLPreflight.check(text) } catch {
            let (line, column, message): (Int, Int, String)
            switch error {
            case .syntax: return
            case .anchor(let l, let c): (line, column, message) = (l, c, "YAML anchors (&name) and aliases (*name) are not supported in specs")
            case .alias(let l, let c): (line, column, message) = (l, c, "YAML aliases (*name) are not supported in specs")
            case .tooDeep(let l, let c): (line, column, message) = (l, c, "nested deeper than \(YAMLPreflight.maxDepth) levels")
            case .tooManyNodes(let l, let c): (line, column, message) = (l, c, "more than \(YAMLPreflight.maxNodes) values")
            }
            throw TrainyardError(.invalidSpec, "invalid spec: line \(line), column \(column): \(message)",
                                 details: [.init(line: line, column: column, message: message)])
        }
    }

    static func syntaxError(_ error: YamlError) -> TrainyardError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return TrainyardError(.invalidSpec, "invalid spec: YAML syntax error at line \(mark.line), column \(mark.column): \(problem)",
                                  details: [.init(line: mark.line, column: mark.column, message: problem)])
        case .duplicatedKeysInMapping(let duplicates, let context):
            return TrainyardError(.invalidSpec, "invalid spec: duplicated keys \(duplicates.joined(separator: ", ")) at line \(context.mark.line), column \(context.mark.column)",
                                  details: [.init(path: duplicates.first, line: context.mark.line, column: context.mark.column, message: "duplicated key")])
        default:
            return TrainyardError(.invalidSpec, "invalid spec: \(error)")
        }
    }
}

/// Walks the YAML node tree, recording problems instead of stopping at the first.
private struct Walker {
    var problems: [TrainyardError.Detail] = []
    var locations: [String: SourceLocation] = [:]

    func columnOf(_ d: TrainyardError.Detail) -> Int { d.column ?? 0 }

    mutating func problem(_ path: String, _ node: Node?, _ message: String) {
        let mark = node?.mark
        problems.append(.init(path: path, line: mark?.line, column: mark?.column, message: message))
    }

    mutating func note(_ path: String, _ node: Node) {
        if let m = node.mark { locations[path] = SourceLocation(line: m.line, column: m.column) }
    }

    /// The mapping's pairs keyed by string; reports non-string keys and unknown keys.
    mutating func fields(_ node: Node, at path: String, known: [String]) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            problem(path.isEmpty ? "spec" : path, node, "must be a mapping (key: value pairs); got \(kindName(node))")
            return nil
        }
        var out: [String: Node] = [:]
        for (k, v) in mapping {
            guard let key = k.scalar?.string else { problem(path, k, "keys must be strings"); continue }
            if !known.contains(key) {
                let childPath = path.isEmpty ? clientEcho(key, limit: 64) : "\(path).\(clientEcho(key, limit: 64))"
                let suggestion = known.min { editDistance($0, key) < editDistance($1, key) }
                let hint = suggestion.map { editDistance($0, key) <= 2 ? " (did you mean \"\($0)\"?)" : "" } ?? ""
                problem(childPath, k, "unknown key\(hint); known keys: \(known.joined(separator: ", "))")
                continue
            }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            note(childPath, v)
            out[key] = v
        }
        return out
    }

    mutating func string(_ node: Node?, _ path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let s) = node, node.null == nil || s.style != .plain else {
            problem(path, node, "must be a string; got \(kindName(node))")
            return nil
        }
        return s.string
    }

    mutating func int(_ node: Node?, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard let node else { return nil }
        guard let v = node.int, node.scalar?.style == .plain else {
            problem(path, node, "must be an integer in [\(range.lowerBound), \(range.upperBound)]; got \(kindName(node))")
            return nil
        }
        guard range.contains(v) else {
            problem(path, node, "must be an integer in [\(range.lowerBound), \(range.upperBound)]; got \(v)")
            return nil
        }
        return v
    }

    mutating func stringList(_ node: Node?, _ path: String) -> [String]? {
        guard let node else { return nil }
        guard case .sequence(let seq) = node else {
            problem(path, node, "must be a list of strings, e.g. [\"python3\", \"train.py\"]; got \(kindName(node))")
            return nil
        }
        var out: [String] = []
        for (i, item) in seq.enumerated() {
            guard let s = string(item, "\(path)[\(i)]") else { return nil }
            out.append(s)
        }
        if out.isEmpty { problem(path, node, "must not be empty"); return nil }
        return out
    }

    mutating func spec(_ root: Node) -> Spec? {
        let known = ["name", "task", "data", "model", "warm_start", "promote", "retries", "timeout", "priority",
                     "seed", "command", "serve", "env", "tags"]
        guard let f = fields(root, at: "", known: known) else { return nil }

        var name: ModelName?
        if let node = f["name"], let raw = string(node, "name") {
            do { name = try ModelName(raw) } catch { problem("name", node, error.message) }
        } else if f["name"] == nil {
            problem("name", root, "required key is missing")
        }

        var task: TaskKind?
        if let node = f["task"], let raw = string(node, "task") {
            task = TaskKind(rawValue: raw)
            if task == nil {
                problem("task", node, "unknown task \"\(clientEcho(raw))\"; expected one of \(TaskKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        } else if f["task"] == nil {
            problem("task", root, "required key is missing")
        }

        let data = f["data"].flatMap { dataSpec($0) } ?? DataSpec()
        let model = f["model"].flatMap { modelSpec($0) } ?? ModelSpec()
        let warmStart = string(f["warm_start"], "warm_start")
        if let ws = warmStart, let node = f["warm_start"] {
            let valid = ModelName.isValid(ws) || (Int(ws).map { $0 >= 1 } ?? false)
            if !valid { problem("warm_start", node, "must be an alias or a version number of this model; got \"\(clientEcho(ws))\"") }
        }
        let promote = f["promote"].flatMap { promotion($0, task: task) }
        let retries = int(f["retries"], "retries", in: 0...20) ?? Spec.Defaults.retries
        var timeout = Spec.Defaults.timeout
        if let node = f["timeout"] {
            let raw = node.scalar?.string ?? ""
            if let d = DurationText.parse(raw), d > .zero, d <= .seconds(7 * 86_400) { timeout = d } else {
                problem("timeout", node, "must be a duration between 1s and 7d such as 90s, 30m or 2h; got \"\(clientEcho(raw))\"")
            }
        }
        let priority = int(f["priority"], "priority", in: -1000...1000) ?? Spec.Defaults.priority
        let seed = int(f["seed"], "seed", in: 0...Int(Int32.max)) ?? Spec.Defaults.seed
        let command = stringList(f["command"], "command")
        let serve = stringList(f["serve"], "serve")
        let env = f["env"].map { environment($0) } ?? [:]
        var tags: [String: String] = [:]
        if let node = f["tags"] {
            if case .mapping(let m) = node {
                for (k, v) in m {
                    guard let key = k.scalar?.string, let value = v.scalar?.string else {
                        problem("tags", v, "tags must map strings to strings"); continue
                    }
                    tags[key] = value
                }
            } else { problem("tags", node, "must be a mapping of strings") }
        }

        // Cross-field rules: what each task needs.
        if let task {
            switch task {
            case .command:
                if command == nil && f["command"] == nil { problem("command", root, "required for task: command (e.g. [\"python3\", \"train.py\"])") }
            default:
                if f["command"] != nil { problem("command", f["command"], "only allowed with task: command") }
                if f["serve"] != nil { problem("serve", f["serve"], "only allowed with task: command") }
                if f["env"] != nil { problem("env", f["env"], "only allowed with task: command") }
                if data.train == nil {
                    problem("data.train", f["data"] ?? root, "required key is missing (a path, file:// or s3:// URI)")
                }
            }
            if task.isTabular && data.target == nil && f["data"] != nil {
                problem("data.target", f["data"], "required for \(task.rawValue): the column to predict")
            }
            let algorithms = task.algorithms.map(\.name)
            if !algorithms.isEmpty, let alg = model.algorithm, !algorithms.contains(alg) {
                problem("model.algorithm", locationNode(f["model"], "algorithm"),
                        "unknown algorithm \"\(clientEcho(alg))\" for \(task.rawValue); expected \(Self.orList(algorithms))")
            }
        }
        guard let name, let task else { return nil }
        return Spec(name: name, task: task, data: data, model: model, warmStart: warmStart, promote: promote,
                    retries: retries, timeout: timeout, priority: priority, seed: seed, command: command,
                    serve: serve, tags: tags, env: env)
    }

    /// `env:`: upper-case names (`SpecEnvironment`) to strings or numbers.
    mutating func environment(_ node: Node) -> [String: String] {
        guard case .mapping(let mapping) = node else {
            problem("env", node, "must be a mapping of variable names to strings, e.g. { OMP_NUM_THREADS: 2 }; got \(kindName(node))")
            return [:]
        }
        var out: [String: String] = [:]
        for (k, v) in mapping {
            guard let name = k.scalar?.string else { problem("env", k, "keys must be strings"); continue }
            let path = "env.\(name.prefix(64))"
            if let why = SpecEnvironment.problem(forName: name) { problem(path, k, why); continue }
            note(path, v)
            guard case .scalar(let scalar) = v, v.null == nil, scalar.style != .plain || v.bool == nil,
                  !scalar.string.utf8.contains(0) else {
                problem(path, v, "must be a string or a number (quote it: \"yes\"); got \(kindName(v))"); continue
            }
            out[name] = scalar.string
        }
        return out
    }

    func locationNode(_ parent: Node?, _ key: String) -> Node? { parent?[key] ?? parent }

    /// "a", "a or b", "a, b or c".
    static func orList(_ items: [String]) -> String {
        items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " or " + items.last!
    }

    mutating func dataSpec(_ node: Node) -> DataSpec? {
        guard let f = fields(node, at: "data", known: ["train", "validation", "target", "text_column", "label_column", "format"]) else { return nil }
        var d = DataSpec()
        d.train = string(f["train"], "data.train")
        if let v = f["validation"] {
            if let fraction = v.float, v.scalar?.style == .plain {
                if fraction > 0 && fraction < 1 { d.validation = .fraction(fraction) } else {
                    problem("data.validation", v, "a fraction must be in (0, 1); got \(fraction)")
                }
            } else if let s = string(v, "data.validation") {
                d.validation = .location(s)
            }
        }
        d.target = string(f["target"], "data.target")
        d.textColumn = string(f["text_column"], "data.text_column")
        d.labelColumn = string(f["label_column"], "data.label_column")
        if let fmt = string(f["format"], "data.format") {
            let formats = ["auto", "csv", "tsv", "jsonl", "fasttext", "conll"]
            if formats.contains(fmt) { d.format = fmt } else {
                problem("data.format", f["format"], "unknown format \"\(fmt)\"; expected one of \(formats.joined(separator: ", "))")
            }
        }
        for (key, loc) in d.locations where loc.isEmpty { problem(key, f[String(key.dropFirst(5))], "must not be empty") }
        return d
    }

    mutating func modelSpec(_ node: Node) -> ModelSpec? {
        guard let f = fields(node, at: "model", known: ["algorithm", "params"]) else { return nil }
        var m = ModelSpec()
        m.algorithm = string(f["algorithm"], "model.algorithm")
        if let p = f["params"] {
            guard case .mapping(let mapping) = p else {
                problem("model.params", p, "must be a mapping of hyper-parameters; got \(kindName(p))")
                return m
            }
            for (k, v) in mapping {
                guard let key = k.scalar?.string else { problem("model.params", k, "keys must be strings"); continue }
                note("model.params.\(key)", v)
                if let value = jsonValue(v, "model.params.\(key)") { m.params[key] = value }
            }
        }
        return m
    }

    /// - Parameter task: `task: command` programs report metrics under their own names
    ///   (`loss`, `val_acc`, …), so only other tasks are held to the built-in metric names.
    mutating func promotion(_ node: Node, task: TaskKind?) -> Promotion? {
        guard let f = fields(node, at: "promote", known: ["alias", "metric", "min", "max"]) else { return nil }
        guard let aliasNode = f["alias"], let raw = string(aliasNode, "promote.alias") else {
            problem("promote.alias", node, "required key is missing"); return nil
        }
        guard let metricNode = f["metric"], let metric = string(metricNode, "promote.metric") else {
            problem("promote.metric", node, "required key is missing (e.g. rmse, accuracy, f1)"); return nil
        }
        let known = BuiltInMetric.names
        if task != .command && !known.contains(metric) && !metric.contains("_") {
            problem("promote.metric", metricNode, "unknown metric \"\(metric)\"; built-in metrics: \(known.joined(separator: ", "))")
        }
        let min = bound(f["min"], "promote.min"), max = bound(f["max"], "promote.max")
        if let min, let max, min > max, let node = f["max"] {
            problem("promote.max", node, "must be at least promote.min (\(PromotionPolicy.format(min))); got \(PromotionPolicy.format(max))")
        }
        do { return Promotion(alias: try AliasName(raw), metric: metric, min: min, max: max) } catch {
            problem("promote.alias", aliasNode, error.message); return nil
        }
    }

    /// `promote.min` / `promote.max`: a finite number.
    mutating func bound(_ node: Node?, _ path: String) -> Double? {
        guard let node else { return nil }
        guard node.scalar?.style == .plain, let v = node.float, v.isFinite else {
            problem(path, node, "must be a finite number (the metric's value, e.g. 0.9 or 550); got \(kindName(node))")
            return nil
        }
        return v
    }

    mutating func jsonValue(_ node: Node, _ path: String) -> JSONValue? {
        switch node {
        case .scalar(let s):
            if s.style != .plain { return .string(s.string) }
            if node.null != nil { return .null }
            if let b = node.bool { return .bool(b) }
            if let i = node.int { return .int(i) }
            if let d = node.float { return .double(d) }
            return .string(s.string)
        case .sequence(let seq):
            var out: [JSONValue] = []
            for (i, item) in seq.enumerated() { if let v = jsonValue(item, "\(path)[\(i)]") { out.append(v) } }
            return .array(out)
        case .mapping(let m):
            var out: [String: JSONValue] = [:]
            for (k, v) in m { if let key = k.scalar?.string, let value = jsonValue(v, "\(path).\(key)") { out[key] = value } }
            return .object(out)
        case .alias:
            problem(path, node, "YAML aliases are not supported")
            return nil
        }
    }

    func kindName(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let s):
            if s.style != .plain { return "the string \"\(clientEcho(s.string))\"" }
            if node.null != nil { return "null" }
            if node.bool != nil { return "the boolean \(s.string)" }
            if node.int != nil { return "the integer \(s.string)" }
            if node.float != nil { return "the number \(s.string)" }
            return "\"\(clientEcho(s.string))\""
        }
    }
}

/// Levenshtein distance, for "did you mean" hints on unknown keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
