import Foundation

/// The placeholders of a trigger's template and their values when it fires:
/// `${trigger.name}` the trigger, `${trigger.file}` the file that fired (watch: its absolute
/// path; sqs: the `s3://bucket/key` of an S3 event notification's object), `${trigger.slot}`
/// (schedule) the slot as ISO 8601 in UTC (`2026-03-29T01:00:00Z`), and `${message.KEY}` (sqs)
/// a top-level field of a JSON message (`{"name": "my-model", "epochs": 1}`).
/// Other `${…}` text is left as written.
public struct TriggerPlaceholders: Sendable, Equatable {
    public var name: String
    public var file: String?
    public var slot: Date?
    /// sqs: the fields of the JSON message that fired; nil leaves `${message.*}` as written
    /// (watch and schedule templates predate them), empty makes every one an error naming it.
    public var message: [String: JSONValue]?

    public init(name: String, file: String? = nil, slot: Date? = nil, message: [String: JSONValue]? = nil) {
        self.name = name
        self.file = file
        self.slot = slot
        self.message = message
    }

    static let triggerPrefix = "${trigger."
    static let messagePrefix = "${message."
    /// The longest message field name a placeholder may use.
    public static let maxFieldNameBytes = 64

    /// Placeholders a template of `kind` may use.
    public static func known(for kind: TriggerKind) -> Set<String> {
        switch kind {
        case .watch: ["name", "file"]
        case .schedule: ["name", "slot"]
        case .sqs: ["name", "file"]
        }
    }

    /// The names of the `${trigger.NAME}` placeholders in `text`, in order of appearance.
    public static func names(in text: String) -> [String] { scan(text, prefix: triggerPrefix) }

    /// The fields named by `${message.FIELD}` placeholders in `text`, in order of appearance.
    public static func messageFields(in text: String) -> [String] { scan(text, prefix: messagePrefix) }

    static func scan(_ text: String, prefix: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: prefix) {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { break }
            names.append(String(rest[start.upperBound..<end]))
            rest = rest[rest.index(after: end)...]
        }
        return names
    }

    /// Refuses a placeholder `kind` does not have (`${trigger.file}` in a schedule, a typo),
    /// naming it and where it is (`what`: "the spec template"). An sqs template's
    /// `${message.FIELD}` must name a field as JSON messages have them (letters, digits, `_`, `-`).
    public static func check(_ text: String, kind: TriggerKind, in what: String) throws(TrainyardError) {
        let known = known(for: kind)
        for name in names(in: text) where !known.contains(name) {
            throw TrainyardError(.invalidArgument, "unknown placeholder ${trigger.\(clientEcho(name))} in \(what); a \(kind.rawValue) trigger has "
                                 + (known.sorted().map { "${trigger.\($0)}" } + (kind == .sqs ? ["${message.FIELD}"] : [])).joined(separator: ", "))
        }
        guard kind == .sqs else { return }
        for field in messageFields(in: text) where !isFieldName(field) {
            throw TrainyardError(.invalidArgument, "invalid placeholder ${message.\(clientEcho(field))} in \(what): a message field is 1–\(maxFieldNameBytes) "
                                 + "letters, digits, _ or - (a top-level key of the JSON message)")
        }
    }

    static func isFieldName(_ name: String) -> Bool {
        (1...maxFieldNameBytes).contains(name.utf8.count)
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
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

    /// One placeholder found in a template.
    public enum Placeholder: Sendable, Equatable {
        /// `${trigger.NAME}`
        case trigger(String)
        /// `${message.FIELD}`
        case message(String)
    }

    /// `text` with every known placeholder replaced; `escape` transforms each value first (and
    /// may refuse it), given the placeholder and its value. `${message.FIELD}` (when `message`
    /// is set) is the field as text: a string as it is, a number or boolean as JSON writes it;
    /// a field the message lacks, or one that is null, an object or a list, is an error naming it.
    ///
    /// - Parameter maxBytes: the longest result: a value repeated by many placeholders cannot
    ///   build an unbounded text (`limits.spec_bytes` for a spec).
    public func apply(to text: String, maxBytes: Int = .max,
                      escape: (_ placeholder: Placeholder, _ value: String) throws(TrainyardError) -> String = { $1 }) throws(TrainyardError) -> String {
        var result = ""
        var bytes = 0
        func append(_ piece: some StringProtocol) throws(TrainyardError) {
            bytes += piece.utf8.count
            guard bytes <= maxBytes else {
                throw TrainyardError(.invalidArgument, "the template with its placeholders filled in is larger than \(maxBytes) bytes")
            }
            result += piece
        }
        var rest = Substring(text)
        while let start = nextPlaceholder(in: rest) {
            let isTrigger = rest[start...].hasPrefix(Self.triggerPrefix)
            let prefixEnd = rest.index(start, offsetBy: (isTrigger ? Self.triggerPrefix : Self.messagePrefix).count)
            guard let end = rest[prefixEnd...].firstIndex(of: "}") else { break }
            let key = String(rest[prefixEnd..<end])
            let placeholder: Placeholder = isTrigger ? .trigger(key) : .message(key)
            guard let value = try resolve(placeholder) else {
                try append(rest[..<prefixEnd])
                rest = rest[prefixEnd...]
                continue
            }
            try append(rest[..<start])
            try append(try escape(placeholder, value))
            rest = rest[rest.index(after: end)...]
        }
        try append(rest)
        return result
    }

    /// Where the next `${trigger.` or (with message fields) `${message.` begins.
    private func nextPlaceholder(in text: Substring) -> Substring.Index? {
        let trigger = text.range(of: Self.triggerPrefix)?.lowerBound
        guard message != nil, let field = text.range(of: Self.messagePrefix)?.lowerBound else { return trigger }
        return trigger.map { min($0, field) } ?? field
    }

    /// The text a placeholder stands for; nil to leave it as written.
    private func resolve(_ placeholder: Placeholder) throws(TrainyardError) -> String? {
        switch placeholder {
        case .trigger(let name): return value(name)
        case .message(let field):
            guard let message else { return nil }
            guard let value = message[field] else {
                throw TrainyardError(.invalidArgument, message.isEmpty
                    ? "the template uses ${message.\(clientEcho(field))}, but this message has no fields (only a JSON message of the older shape does)"
                    : "the message has no field \"\(clientEcho(field))\" (the template uses ${message.\(clientEcho(field))}); it has "
                        + message.keys.sorted().prefix(20).map { clientEcho($0) }.joined(separator: ", "))
            }
            return try Self.text(of: value, field: field)
        }
    }

    /// A message field as template text: strings as they are, numbers and booleans as JSON
    /// writes them (a double always with a `.`, so YAML reads a float back).
    static func text(of value: JSONValue, field: String) throws(TrainyardError) -> String {
        func refuse(_ what: String) -> TrainyardError {
            TrainyardError(.invalidArgument, "message field \"\(clientEcho(field))\" is \(what); only strings, numbers and booleans can fill ${message.\(clientEcho(field))}")
        }
        switch value {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .double(let d):
            guard d.isFinite else { throw refuse("not a finite number") }
            var text = String(d)
            // Swift writes 1e-05; YAML 1.1 reads a float only with a '.' (1.0e-05).
            if !text.contains("."), let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) { text.insert(contentsOf: ".0", at: e) }
            return text
        case .null: throw refuse("null")
        case .array: throw refuse("a list")
        case .object: throw refuse("an object")
        }
    }

    /// `apply` for spec text. A file's path and a message's strings come from whoever can write
    /// into the watched folder or send to the queue, and are put into YAML as plain scalars, so
    /// they may hold only characters that cannot change the spec's structure — letters, digits,
    /// spaces inside, `/ . _ - + = ~ @ ( ) %`, and `:` followed by something other than a
    /// space (`s3://bucket/key`, `image:tag`): a file named `x.csv\nretries: 99` or `a: b.csv` is
    /// refused, not spliced into the spec. The trigger's name, the slot, numbers and booleans
    /// have fixed, safe forms.
    public func applyToSpec(_ text: String, maxBytes: Int = .max) throws(TrainyardError) -> String {
        try apply(to: text, maxBytes: maxBytes) { placeholder, value throws(TrainyardError) in
            switch placeholder {
            case .trigger("file"): try Self.checkPlainScalar(value, what: "file")
            case .message(let field): try Self.checkPlainScalar(value, what: "message field \"\(clientEcho(field))\"")
            case .trigger: break
            }
            return value
        }
    }

    static let plainPunctuation: Set<Unicode.Scalar> = ["/", ".", "_", "-", "+", "=", "~", "@", "(", ")", "%", " "]

    static func checkPlainScalar(_ value: String, what: String = "file") throws(TrainyardError) {
        let scalars = Array(value.unicodeScalars)
        var ok = !scalars.isEmpty && scalars.first != " " && scalars.last != " "
        for (i, c) in scalars.enumerated() where ok {
            if c == ":" {
                // `a:b` stays one scalar; `a: b` or a final `:` would start a mapping.
                ok = i + 1 < scalars.count && scalars[i + 1] != " "
            } else {
                ok = plainPunctuation.contains(c) || (c.properties.isAlphabetic && c.properties.generalCategory != .control)
                    || c.properties.numericType == .decimal
            }
        }
        guard ok else {
            throw TrainyardError(.invalidArgument, "\(what) \"\(clientEcho(value))\" cannot be put into a spec template: only letters, digits, inner spaces, "
                                 + "/ . _ - + = ~ @ ( ) % and : not followed by a space are allowed (other characters could change the spec's structure)")
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
