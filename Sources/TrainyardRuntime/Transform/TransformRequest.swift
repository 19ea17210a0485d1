import Foundation
import TrainyardCore

/// A request to score a file or a folder with a model: what `trainyard transform`, `POST
/// /api/v1/transforms` and watch triggers send. `TransformSubmitter` checks it, pins the model
/// version, lists the input and enqueues a job of kind `transform`.
public struct TransformRequest: Sendable, Codable, Equatable {
    /// A model reference: `name`, `name@alias`, `name:N`.
    public var model: String
    /// A file or a folder (absolute path or `file://` URI; relative paths resolve against the
    /// CLI's working folder), an object `s3://bucket/key` or the objects under
    /// `s3://bucket/prefix/`.
    public var input: String
    /// The output folder (created if missing), or an `s3://bucket/prefix/`.
    public var output: String
    public var glob: String?
    public var format: TransformFormat?
    public var header: Bool?
    public var keep: [String]
    public var joinInput: Bool
    public var probabilities: Bool
    public var maxErrorRate: Double?
    public var outputTemplate: String?
    public var priority: Int?
    public var retries: Int?
    public var timeoutSeconds: Double?

    public init(model: String, input: String, output: String, glob: String? = nil, format: TransformFormat? = nil, header: Bool? = nil,
                keep: [String] = [], joinInput: Bool = false, probabilities: Bool = false, maxErrorRate: Double? = nil,
                outputTemplate: String? = nil, priority: Int? = nil, retries: Int? = nil, timeoutSeconds: Double? = nil) {
        self.model = model
        self.input = input
        self.output = output
        self.glob = glob
        self.format = format
        self.header = header
        self.keep = keep
        self.joinInput = joinInput
        self.probabilities = probabilities
        self.maxErrorRate = maxErrorRate
        self.outputTemplate = outputTemplate
        self.priority = priority
        self.retries = retries
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case model, input, output, glob, format, header, keep, probabilities, priority, retries
        case joinInput = "join_input"
        case maxErrorRate = "max_error_rate"
        case outputTemplate = "output_template"
        case timeoutSeconds = "timeout_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        input = try c.decode(String.self, forKey: .input)
        output = try c.decode(String.self, forKey: .output)
        glob = try c.decodeIfPresent(String.self, forKey: .glob)
        format = try c.decodeIfPresent(TransformFormat.self, forKey: .format)
        header = try c.decodeIfPresent(Bool.self, forKey: .header)
        keep = try c.decodeIfPresent([String].self, forKey: .keep) ?? []
        joinInput = try c.decodeIfPresent(Bool.self, forKey: .joinInput) ?? false
        probabilities = try c.decodeIfPresent(Bool.self, forKey: .probabilities) ?? false
        maxErrorRate = try c.decodeIfPresent(Double.self, forKey: .maxErrorRate)
        outputTemplate = try c.decodeIfPresent(String.self, forKey: .outputTemplate)
        priority = try c.decodeIfPresent(Int.self, forKey: .priority)
        retries = try c.decodeIfPresent(Int.self, forKey: .retries)
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds)
    }
}
