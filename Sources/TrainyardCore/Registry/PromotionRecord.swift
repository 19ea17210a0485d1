import Foundation

/// What `promote:` decided when a version was registered, kept with the version so that
/// `trainyard models show`, the API and the dashboard say why an alias moved or did not.
public struct PromotionRecord: Sendable, Codable, Equatable {
    public var alias: AliasName
    public var metric: String
    /// Whether the alias was moved to this version.
    public var promoted: Bool
    /// The decision in one sentence, as in the job's log: "not promoted: rmse 812.3 is not
    /// better than production (v3) 640.1 on the same 1,200 held-out rows",
    /// "not promoted: rmse 5000 is above promote.max 1000", "promoted to production: …".
    public var reason: String
    /// This version's metric (nil when it has none).
    public var value: Double?
    /// The version the alias pointed at when the decision was made, and its metric as
    /// compared; nil when there was none or no comparison was made.
    public var incumbentVersion: Int?
    public var incumbentValue: Double?
    /// What the two versions were compared on; nil when they were not compared (a bound
    /// failed, the alias was unset, a metric was missing).
    public var comparedOn: PromotionComparison?
    /// How many rows both versions were scored on (same-rows comparisons, when known).
    public var rows: Int?

    public init(alias: AliasName, metric: String, promoted: Bool, reason: String, value: Double? = nil, incumbentVersion: Int? = nil,
                incumbentValue: Double? = nil, comparedOn: PromotionComparison? = nil, rows: Int? = nil) {
        self.alias = alias
        self.metric = metric
        self.promoted = promoted
        self.reason = reason
        self.value = value
        self.incumbentVersion = incumbentVersion
        self.incumbentValue = incumbentValue
        self.comparedOn = comparedOn
        self.rows = rows
    }

    enum CodingKeys: String, CodingKey {
        case alias, metric, promoted, reason, value, rows
        case incumbentVersion = "incumbent_version"
        case incumbentValue = "incumbent_value"
        case comparedOn = "compared_on"
    }
}

/// The rows on which a new version and the alias's current version were compared.
public enum PromotionComparison: String, Sendable, Codable, Equatable, CaseIterable {
    /// The validation rows the new version's learner held out of its training data
    /// (`data.validation: 0.15`); the incumbent was scored on exactly those rows.
    case heldOutRows = "held_out_rows"
    /// The new job's validation file; the incumbent was scored on it.
    case validationFile = "validation_file"
    /// Each version's own registered metric (the incumbent could not be scored on the new
    /// version's rows): not the same rows.
    case storedMetrics = "stored_metrics"
}
