import Foundation

/// The `${trigger.*}` placeholders of a trigger's template and their values when it fires:
/// `${trigger.name}` the trigger, `${trigger.file}` (watch) the absolute path of the file that
/// fired, `${trigger.slot}` (schedule) the slot as ISO 8601 in UTC (`2026-03-29T01:00:00Z`).
/// Other `${…}` text is left as written.
public struct TriggerPlaceholders: Sendable, Equatable {
    public var name: String
    public var file: String?
    public var slot: Date?

    public init(name: String, file: String? = nil, slot: Date? = nil) {
        self.name = name
        self.file = file
        self.slot = slot
    }

    /// Placeholders a template of `kind` may use.
    public static func known(for kind: TriggerKind) -> Set<String> {
        switch kind {
        case .watch: ["name", "file"]
        case .schedule: ["name", "slot"]
        }
    }

    /// The names of the `${trigger.NAME}` placeholders in `text`, in order of appearance.
    public static func names(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${trigger.") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { break }
            names.append(String(rest[start.upperBound..<end]))
            rest = rest[rest.index(after: end)...]
        }
        return names
    }

    /// Refuses a placeholder `kind` does not have (`${trigger.file}` in a schedule, a typo),
    /// naming it and where it is (`what`: "the spec template").
    public static func check(_ text: String, kind: TriggerKind, in what: String) throws(TrainyardError) {
        let known = known(for: kind)
        for name in names(in: text) where !known.contains(name) {
            throw TrainyardError(.invalidArgument, "unknown placeholder ${trigger.\(clientEcho(name))} in \(what); a \(kind.rawValue) trigger has "
                                 + known.sorted().map { "${trigger.\($0)}" }.joined(separator: ", "))
        }
    }

    /// `slot` as it is substituted: ISO 8601, UTC, whole seconds.
    public static func format(slot: Date) -> String {
        Date(timeIntervalSince1970: floor(slot.timeIntervalSince1970)).ISO8601Format()
    }

    func value(_ name: String) -> String? {
        switch name {
        case "name": self.name
        case "file": file
        case "slot": slot.map(Self.format(slot:))
        default: nil
        }
    }

    /// `text` with every known placeholder replaced; `escape` transforms each value first (and
    /// may refuse it), given the placeholder's name.
    public func apply(to text: String, escape: (_ name: String, _ value: String) throws(TrainyardError) -> String = { $1 }) throws(TrainyardError) -> String {
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${trigger.") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}"),
                  case let name = String(rest[start.upperBound..<end]), let value = value(name) else {
                result += rest[..<start.upperBound]
                rest = rest[start.upperBound...]
                continue
            }
            result += rest[..<start.lowerBound]
            result += try escape(name, value)
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    /// `apply` for spec text. A file's path comes from whoever can write into the watched
    /// folder and is put into YAML as a plain scalar, so it may hold only characters that cannot
    /// change the spec's structure — letters, digits, spaces inside, and `/ . _ - + = ~ @ ( ) %`:
    /// a file named `x.csv\nretries: 99` or `a: b.csv` is refused, not spliced into the spec.
    /// The trigger's name and the slot have fixed, safe forms.
    public func applyToSpec(_ text: String) throws(TrainyardError) -> String {
        try apply(to: text) { name, value throws(TrainyardError) in
            if name == "file" { try Self.checkPlainScalar(value) }
            return value
        }
    }

    static let plainPunctuation: Set<Unicode.Scalar> = ["/", ".", "_", "-", "+", "=", "~", "@", "(", ")", "%", " "]

    static func checkPlainScalar(_ value: String) throws(TrainyardError) {
        let ok = !value.isEmpty && value.first != " " && value.last != " "
            && value.unicodeScalars.allSatisfy { c in
                plainPunctuation.contains(c) || (c.properties.isAlphabetic && c.properties.generalCategory != .control)
                    || c.properties.numericType == .decimal
            }
        guard ok else {
            throw TrainyardError(.invalidArgument, "\"\(clientEcho(value))\" cannot be put into a spec template: only letters, digits, inner spaces "
                                 + "and / . _ - + = ~ @ ( ) % are allowed (other characters could change the spec's structure)")
        }
    }

    /// `apply` on every string inside a JSON value (a transform request): structure cannot be
    /// changed through a value there, so any value is put in as it is.
    public func apply(to value: JSONValue) throws(TrainyardError) -> JSONValue {
        switch value {
        case .string(let s): return .string(try apply(to: s))
        case .array(let items):
            var out: [JSONValue] = []
            for item in items { out.append(try apply(to: item)) }
            return .array(out)
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, v) in o { out[k] = try apply(to: v) }
            return .object(out)
        default: return value
        }
    }
}
