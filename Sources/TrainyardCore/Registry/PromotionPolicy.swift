import Foundation

/// Whether a newly registered version takes an alias: the pure decision behind `promote:`.
///
/// The store reads what the alias points at now and hands it over; the policy compares and
/// explains. The decision is kept with the new version (`PromotionRecord`), its reason is written
/// to the job's log and, when the alias moves, to the alias audit trail.
public struct PromotionPolicy: Sendable, Equatable {
    public var promotion: Promotion

    public init(_ promotion: Promotion) { self.promotion = promotion }

    /// The version the alias points at when the decision is made.
    public struct Incumbent: Sendable, Equatable {
        public var version: Int
        /// Its metrics as registered (on its own validation data).
        public var storedMetrics: [String: Double]
        public init(version: Int, storedMetrics: [String: Double]) { self.version = version; self.storedMetrics = storedMetrics }
    }

    public struct Decision: Sendable, Equatable {
        public var promote: Bool
        /// "rmse 512.3 is better than production (v2) 530.1 on the same 1,200 held-out rows",
        /// "production was unset", "rmse 5000 is above promote.max 1000", …
        public var reason: String
        /// The new version's metric, when it has one.
        public var value: Double?
        /// The version the alias pointed at and its metric as compared (nil: no comparison).
        public var incumbentVersion: Int?
        public var incumbentValue: Double?
        /// What the two were compared on; nil when they were not compared.
        public var comparedOn: PromotionComparison?
        /// How many rows both were scored on, when known (same-rows comparisons).
        public var rows: Int?

        public init(promote: Bool, reason: String, value: Double? = nil, incumbentVersion: Int? = nil, incumbentValue: Double? = nil,
                    comparedOn: PromotionComparison? = nil, rows: Int? = nil) {
            self.promote = promote
            self.reason = reason
            self.value = value
            self.incumbentVersion = incumbentVersion
            self.incumbentValue = incumbentValue
            self.comparedOn = comparedOn
            self.rows = rows
        }
    }

    /// - Parameters:
    ///   - newMetrics: the new version's metrics.
    ///   - incumbent: what the alias points at now; nil when the alias is unset.
    ///   - sameDataScore: the incumbent scored by the worker on the new version's validation
    ///     rows (its validation file or the rows its learner held out). Used only if it is still
    ///     the aliased version (the alias may have moved while the job ran) and for the same
    ///     metric; otherwise the stored metrics are compared, and the reason says so.
    public func decide(newMetrics: [String: Double], incumbent: Incumbent?, sameDataScore: IncumbentScore?) -> Decision {
        let metric = promotion.metric, alias = promotion.alias
        guard let new = newMetrics[metric] else {
            return Decision(promote: false, reason: "the new version has no metric \(metric)")
        }
        // The floor and ceiling come first: they hold whatever the alias points at, or if nothing.
        if let min = promotion.min, !(new >= min) {
            return Decision(promote: false, reason: "\(metric) \(Self.format(new)) is below promote.min \(Self.format(min))", value: new)
        }
        if let max = promotion.max, !(new <= max) {
            return Decision(promote: false, reason: "\(metric) \(Self.format(new)) is above promote.max \(Self.format(max))", value: new)
        }
        guard let incumbent else { return Decision(promote: true, reason: "\(alias) was unset", value: new) }
        let holder = "\(alias) (v\(incumbent.version))"
        let sameData = sameDataScore.flatMap { $0.version == incumbent.version && $0.metric == metric ? $0 : nil }
        guard let old = sameData?.value ?? incumbent.storedMetrics[metric] else {
            return Decision(promote: true, reason: "\(holder) has no metric \(metric)", value: new, incumbentVersion: incumbent.version)
        }
        // A tie keeps the incumbent: moving an alias has a cost (reloads, audit noise) and no gain.
        let better = MetricDirection(of: metric) == .higherIsBetter ? new > old : new < old
        let basis = sameData.map { Self.sameRows($0) } ?? "(each on its own validation data)"
        return Decision(promote: better,
                        reason: "\(metric) \(Self.format(new)) is \(better ? "better" : "not better") than \(holder) \(Self.format(old)) \(basis)",
                        value: new, incumbentVersion: incumbent.version, incumbentValue: old,
                        comparedOn: sameData?.comparedOn ?? .storedMetrics, rows: sameData?.rows)
    }

    /// "on the same 1,200 held-out rows", "on the same 300 rows of the validation file".
    static func sameRows(_ score: IncumbentScore) -> String {
        guard let rows = score.rows else { return "on the same validation data" }
        switch score.comparedOn {
        case .heldOutRows: return "on the same \(groupedThousands(rows)) held-out rows"
        case .validationFile: return "on the same \(groupedThousands(rows)) rows of the validation file"
        case .storedMetrics: return "on the same validation data"
        }
    }

    public static func format(_ v: Double) -> String { String(format: "%.6g", v) }

    /// 1200 → "1,200": independent of the machine's locale, as every reason is.
    public static func groupedThousands(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// What the job's completion reports about the decision (`CompletionOutcome.promotionNote`).
    public func note(_ decision: Decision) -> String {
        decision.promote ? "promoted to \(promotion.alias): \(decision.reason)" : "not promoted: \(decision.reason)"
    }

    /// The decision as kept with the new version (`ModelVersion.promotion`).
    public func record(_ decision: Decision) -> PromotionRecord {
        PromotionRecord(alias: promotion.alias, metric: promotion.metric, promoted: decision.promote, reason: note(decision),
                        value: decision.value, incumbentVersion: decision.incumbentVersion, incumbentValue: decision.incumbentValue,
                        comparedOn: decision.comparedOn, rows: decision.rows)
    }

    /// The reason written to the alias audit trail when the alias moves.
    public func auditReason(_ decision: Decision) -> String { "promoted: \(decision.reason)" }

    /// The audit trail's actor for an alias a job's completion moved.
    public static func actor(jobID: JobID) -> String { "job:\(jobID)" }
}

/// Which way a metric improves: declared once for every metric name Trainyard reports, with a
/// rule for names it does not know (`*loss`, `*error` go down; anything else goes up).
public enum MetricDirection: Sendable, Equatable {
    case higherIsBetter
    case lowerIsBetter

    /// The metrics the native learners report (`BuiltInMetric`, where they are declared), and
    /// `mse`, which bring-your-own programs often report and the suffix rule would get wrong.
    public static let known: [String: MetricDirection] =
        Dictionary(uniqueKeysWithValues: BuiltInMetric.all.map { ($0.name, $0.direction) }).merging(["mse": .lowerIsBetter]) { a, _ in a }

    public init(of metric: String) {
        if let direction = Self.known[metric] { self = direction; return }
        self = metric.hasSuffix("loss") || metric.hasSuffix("error") ? .lowerIsBetter : .higherIsBetter
    }
}
