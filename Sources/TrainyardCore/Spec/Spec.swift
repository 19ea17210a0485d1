/// A training run, as a user writes it (YAML or JSON).
///
/// ```yaml
/// name: diamonds-price
/// task: tabular-regression
/// data: { train: data/diamonds.csv, validation: 0.15, target: price }
/// model: { algorithm: gbdt, params: { trees: 500 } }
/// warm_start: production
/// promote: { alias: production, metric: rmse }
/// retries: 2
/// timeout: 30m
/// ```
///
/// `SpecParser` builds one from text and rejects unknown keys, wrong types and impossible
/// values with the key path and line/column. Encoded as JSON (snake_case keys) it is what the
/// queue stores and what workers read.
public struct Spec: Sendable, Codable, Equatable {
    public var name: ModelName
    public var task: TaskKind
    public var data: DataSpec
    public var model: ModelSpec
    /// Continue from this model reference (`production`, `staging`, `3`, …) of the same model.
    public var warmStart: String?
    public var promote: Promotion?
    /// Extra attempts after the first failure.
    public var retries: Int
    public var timeout: Duration
    public var priority: Int
    public var seed: Int
    /// `task: command`: the training program, run with cwd = the spec's folder.
    public var command: [String]?
    /// `task: command`: how to serve the trained model (optional).
    public var serve: [String]?
    /// `task: command`: variables added to the training program's environment (`env:`); names
    /// checked by `SpecEnvironment`.
    public var env: [String: String]
    /// Free-form labels copied onto the registered version.
    public var tags: [String: String]
    /// Filled by staging: the exact bytes behind each data location and the code folder
    /// (`key` = `data.train`, `data.validation`, `code`), for lineage. Not written by users.
    public var staged: [DataDigest]
    /// Jobs of kind `transform` / `transform-part`: what to score and where (not a user-written key).
    public var transform: TransformSpec?
    /// The trigger (and file, slot or message) that made the job, if a trigger did.
    public var origin: JobOrigin?

    public init(
        name: ModelName, task: TaskKind, data: DataSpec = DataSpec(), model: ModelSpec = ModelSpec(),
        warmStart: String? = nil, promote: Promotion? = nil, retries: Int = Defaults.retries, timeout: Duration = Defaults.timeout,
        priority: Int = Defaults.priority, seed: Int = Defaults.seed, command: [String]? = nil, serve: [String]? = nil, tags: [String: String] = [:],
        env: [String: String] = [:]
    ) {
        self.name = name
        self.task = task
        self.data = data
        self.model = model
        self.warmStart = warmStart
        self.promote = promote
        self.retries = retries
        self.timeout = timeout
        self.priority = priority
        self.seed = seed
        self.command = command
        self.serve = serve
        self.env = env
        self.tags = tags
        self.staged = []
        self.transform = nil
        self.origin = nil
    }

    enum CodingKeys: String, CodingKey {
        case name, task, data, model, promote, retries, priority, seed, command, serve, env, tags, staged, transform, origin
        case warmStart = "warm_start"
        case timeoutSeconds = "timeout_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(ModelName.self, forKey: .name)
        task = try c.decode(TaskKind.self, forKey: .task)
        data = try c.decodeIfPresent(DataSpec.self, forKey: .data) ?? DataSpec()
        model = try c.decodeIfPresent(ModelSpec.self, forKey: .model) ?? ModelSpec()
        warmStart = try c.decodeIfPresent(String.self, forKey: .warmStart)
        promote = try c.decodeIfPresent(Promotion.self, forKey: .promote)
        retries = try c.decodeIfPresent(Int.self, forKey: .retries) ?? Defaults.retries
        timeout = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds).map { .milliseconds(Int64($0 * 1000)) } ?? Defaults.timeout
        priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? Defaults.priority
        seed = try c.decodeIfPresent(Int.self, forKey: .seed) ?? Defaults.seed
        command = try c.decodeIfPresent([String].self, forKey: .command)
        serve = try c.decodeIfPresent([String].self, forKey: .serve)
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        tags = try c.decodeIfPresent([String: String].self, forKey: .tags) ?? [:]
        staged = try c.decodeIfPresent([DataDigest].self, forKey: .staged) ?? []
        transform = try c.decodeIfPresent(TransformSpec.self, forKey: .transform)
        origin = try c.decodeIfPresent(JobOrigin.self, forKey: .origin)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(task, forKey: .task)
        try c.encode(data, forKey: .data)
        try c.encode(model, forKey: .model)
        try c.encodeIfPresent(warmStart, forKey: .warmStart)
        try c.encodeIfPresent(promote, forKey: .promote)
        try c.encode(retries, forKey: .retries)
        try c.encode(timeout.seconds, forKey: .timeoutSeconds)
        try c.encode(priority, forKey: .priority)
        try c.encode(seed, forKey: .seed)
        try c.encodeIfPresent(command, forKey: .command)
        try c.encodeIfPresent(serve, forKey: .serve)
        if !env.isEmpty { try c.encode(env, forKey: .env) }
        if !tags.isEmpty { try c.encode(tags, forKey: .tags) }
        if !staged.isEmpty { try c.encode(staged, forKey: .staged) }
        try c.encodeIfPresent(transform, forKey: .transform)
        try c.encodeIfPresent(origin, forKey: .origin)
    }
}

extension Spec {
    /// What a spec gets for each top-level key it leaves out, declared once: the parser, the
    /// initializer and the stored form's decoder all read these.
    public enum Defaults {
        public static let retries = 1
        public static let timeout = Duration.seconds(3600)
        public static let priority = 0
        public static let seed = 42
    }
}

/// What kind of model a spec trains.
public enum TaskKind: String, Sendable, Codable, CaseIterable {
    case textClassification = "text-classification"
    case ner
    case tabularRegression = "tabular-regression"
    case tabularClassification = "tabular-classification"
    case command

    public var isTabular: Bool { self == .tabularRegression || self == .tabularClassification }
}

/// Where training data comes from.
public struct DataSpec: Sendable, Codable, Equatable {
    /// A path (relative to the spec's folder), `file://` or `s3://` URI, or after staging an
    /// `artifact:sha256:<hex>` reference into the artifact store.
    public var train: String?
    public var validation: Validation?
    /// Tabular: the column to predict.
    public var target: String?
    /// Text classification: column names (defaults `text`/`sentence` and `label`).
    public var textColumn: String?
    public var labelColumn: String?
    /// `auto` (default), `csv`, `tsv`, `jsonl`, `fasttext`, `conll`.
    public var format: String?

    public init(train: String? = nil, validation: Validation? = nil, target: String? = nil,
                textColumn: String? = nil, labelColumn: String? = nil, format: String? = nil) {
        self.train = train
        self.validation = validation
        self.target = target
        self.textColumn = textColumn
        self.labelColumn = labelColumn
        self.format = format
    }

    enum CodingKeys: String, CodingKey {
        case train, validation, target, format
        case textColumn = "text_column"
        case labelColumn = "label_column"
    }

    /// A held-out fraction of the training data, or a separate file.
    public enum Validation: Sendable, Codable, Equatable {
        case fraction(Double)
        case location(String)

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let f = try? c.decode(Double.self) { self = .fraction(f) } else { self = .location(try c.decode(String.self)) }
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .fraction(let f): try c.encode(f)
            case .location(let l): try c.encode(l)
            }
        }
    }

    /// Every data location in the spec (for staging and lineage), with the key that names it.
    public var locations: [(key: String, location: String)] {
        var out: [(String, String)] = []
        if let train { out.append(("data.train", train)) }
        if case .location(let l) = validation { out.append(("data.validation", l)) }
        return out
    }
}

/// Which algorithm and its hyper-parameters.
public struct ModelSpec: Sendable, Codable, Equatable {
    /// One of the task's `BuiltInAlgorithm`s (`gbdt` | `mlp` | `linear` for tabular tasks);
    /// nil: the task's `defaultAlgorithm`.
    public var algorithm: String?
    public var params: [String: JSONValue]

    public init(algorithm: String? = nil, params: [String: JSONValue] = [:]) {
        self.algorithm = algorithm
        self.params = params
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        algorithm = try c.decodeIfPresent(String.self, forKey: .algorithm)
        params = try c.decodeIfPresent([String: JSONValue].self, forKey: .params) ?? [:]
    }
}

/// Move `alias` to the new version only if `metric` is better than the aliased version's.
public struct Promotion: Sendable, Codable, Equatable {
    public var alias: AliasName
    public var metric: String
    /// `promote.min`: the new version's metric must be at least this to take the alias, even
    /// when the alias is unset (a bad first version is not promoted).
    public var min: Double?
    /// `promote.max`: the new version's metric must be at most this (e.g. an rmse ceiling).
    public var max: Double?

    public init(alias: AliasName, metric: String, min: Double? = nil, max: Double? = nil) {
        self.alias = alias
        self.metric = metric
        self.min = min
        self.max = max
    }

    /// Whether a larger value of `metric` is better (`accuracy`, `f1`, `r2`, …) or a smaller
    /// one (`rmse`, `mae`, `logloss`, any `*loss`).
    public var higherIsBetter: Bool { Self.higherIsBetter(metric) }

    public static func higherIsBetter(_ metric: String) -> Bool { MetricDirection(of: metric) == .higherIsBetter }
}
