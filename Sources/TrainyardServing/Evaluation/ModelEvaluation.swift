import Foundation
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime

/// Metrics of a registered version on labelled data. `trainyard evaluate` on the local store
/// and `POST /api/v1/models/{name}/evaluate` on a server run this one path, so both answer the
/// same metrics in the same shape.
///
/// The data is read in the format the version was trained on (the job's `data.format`,
/// `text_column`, `label_column`); native models only (a bring-your-own model is refused).
public struct ModelEvaluation: Sendable {
    public let store: any MetadataStore
    public let artifacts: any ArtifactStore

    public init(store: any MetadataStore, artifacts: any ArtifactStore) {
        self.store = store
        self.artifacts = artifacts
    }

    /// What `evaluate` found: the CLI's `--json` output and the route's answer.
    public struct Result: Sendable, Codable, Equatable {
        public var model: String
        public var version: Int
        /// Where the data came from, as the caller named it.
        public var data: String
        public var rows: Int
        public var seconds: Double
        public var metrics: [String: Double]
        public var perType: [String: [String: Double]]?

        public init(model: String, version: Int, data: String, rows: Int, seconds: Double, metrics: [String: Double],
                    perType: [String: [String: Double]]?) {
            self.model = model
            self.version = version
            self.data = data
            self.rows = rows
            self.seconds = seconds
            self.metrics = metrics
            self.perType = perType
        }

        enum CodingKeys: String, CodingKey { case model, version, data, rows, seconds, metrics, perType = "per_type" }
    }

    /// Resolves `reference` and evaluates that version (`evaluate(_:data:dataName:)` with a version).
    public func evaluate(_ reference: ModelReference, data: [UInt8], dataName: String) async throws -> Result {
        try await evaluate(try await store.resolve(reference), data: data, dataName: dataName)
    }

    /// Loads `version` (digests checked) and scores `data` off the cooperative pool.
    /// `dataName` is only echoed in the result.
    public func evaluate(_ version: ModelVersion, data: [UInt8], dataName: String) async throws -> Result {
        try Self.checkEvaluable(version)
        let model = try await NativeModel.load(version, reader: ArtifactReader(artifacts: artifacts))
        let spec = try await version.jobID.asyncMap { try await store.job($0)?.spec } ?? nil
        let started = ContinuousClock.now
        let report = try await runOnOwnThread(named: "trainyard-evaluate") {
            try model.evaluate(data: data, format: spec?.data.format, textColumn: spec?.data.textColumn, labelColumn: spec?.data.labelColumn)
        }
        return Result(model: version.model.rawValue, version: version.version, data: dataName, rows: report.rows,
                      seconds: (ContinuousClock.now - started).seconds, metrics: report.metrics, perType: report.perType)
    }

    /// Refuses, before any artifact or data is read, a version this evaluation cannot score.
    public static func checkEvaluable(_ version: ModelVersion) throws {
        guard version.manifest.task != .command else {
            throw TrainyardError(.invalidArgument, "\(version.model):\(version.version) is a bring-your-own model: evaluate scores native models only "
                                 + "(score the data with `trainyard transform` and compute the metrics from its output)")
        }
    }
}

extension Optional where Wrapped: Sendable {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
