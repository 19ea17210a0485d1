import Foundation

/// Whether a newly registered version takes an alias: the pure decision behind `promote:`.
///
/// The store reads what the alias points at now and hands it over; the policy compares and
/// explains. Its reason is written to the alias audit trail (promoted) or the job's log (not).
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
        /// "rmse 512.3 vs 530.1 of version 2 on the same validation data", "production was unset", …
        public var reason: String
    }

    /// - Parameters:
    ///   - newMetrics: the new version's metrics.
    ///   - incumbent: what the alias points at now; nil when the alias is unset.
    ///   - sameDataScore: the incumbent scored by the worker on the new version's validation
    ///     data. Used only if it is still the aliased version (the alias may have moved while
    ///     the job ran) and for the same metric; otherwise the stored metric is compared.
    public func decide(newMetrics: [String: Double], incumbent: Incumbent?, sameDataScore: IncumbentScore?) -> Decision {
        let metric = promotion.metric
        guard let new = newMetrics[metric] else {
            return Decision(promote: false, reason: "the new version has no metric \(metric)")
        }
        // The floor and ceiling come first: they hold whatever the alias points at, or if nothing.
        if let min = promotion.min, !(new >= min) {
            return Decision(promote: false, reason: "\(metric) \(Self.format(new)) is below promote.min \(Self.format(min))")
        }
        if let max = promotion.max, !(new <= max) {
            return Decision(promote: false, reason: "\(metric) \(Self.format(new)) is above promote.max \(Self.format(max))")
        }
        guard let incumbent else { return Decision(promote: true, reason: "\(promotion.alias) was unset") }
        let sameData = sameDataScore.flatMap { $0.version == incumbent.version && $0.metric == metric ? $0.value : nil }
        guard let old = sameData ?? incumbent.storedMetrics[metric] else {
            return Decision(promote: true, reason: "version \(incumbent.version) has no metric \(metric)")
        }
        let comparison = "\(metric) \(Self.format(new)) vs \(Self.format(old)) of version \(incumbent.version)"
            + (sameData != nil ? " on the same validation data" : "")
        // A tie keeps the incumbent: moving an alias has a cost (reloads, audit noise) and no gain.
        let better = MetricDirection(of: metric) == .higherIsBetter ? new > old : new < old
        return Decision(promote: better, reason: comparison)
    }

    public static func format(_ v: Double) -> String { String(format: "%.6g", v) }

    /// What the job's completion reports about the decision (`CompletionOutcome.promotionNote`).
    public func note(_ decision: Decision) -> String {
        decision.promote ? "promoted to \(promotion.alias): \(decision.reason)" : "not promoted: \(decision.reason)"
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
