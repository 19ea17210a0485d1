import Foundation

/// What a trigger makes when it fires.
public enum TriggerAction: Sendable, Equatable {
    /// A transform job: a transform request (the JSON object `POST /api/v1/transforms` takes:
    /// `model`, `input`, `output`, `keep`, `max_error_rate`, …). A watch sets `input` to the file
    /// that fired. `${trigger.*}` placeholders in its string values are replaced when it fires.
    case transform([String: JSONValue])
    /// A train job from a spec template.
    case train(TrainTemplate)

    public var jobKind: JobKind {
        switch self {
        case .transform: .transform
        case .train: .train
        }
    }
}

/// A training spec with placeholders, submitted when the trigger fires.
public struct TrainTemplate: Sendable, Equatable, Codable {
    /// The spec's text (YAML or JSON), with `${trigger.file}` (watch), `${trigger.slot}`
    /// (schedule) and `${trigger.name}`.
    public var spec: String
    /// Relative paths in the spec resolve against this folder, and for `task: command` it is the
    /// code that is staged: the spec file's folder when the trigger was added from the CLI.
    public var baseDirectory: String?

    public init(spec: String, baseDirectory: String? = nil) {
        self.spec = spec
        self.baseDirectory = baseDirectory
    }

    enum CodingKeys: String, CodingKey {
        case spec
        case baseDirectory = "base_directory"
    }

    public init(from decoder: any Decoder) throws {
        try TriggerCoding.refuseUnknownKeys(decoder, allowed: ["spec", "base_directory"], in: "train")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        spec = try c.decode(String.self, forKey: .spec)
        baseDirectory = try c.decodeIfPresent(String.self, forKey: .baseDirectory)
    }
}
