import Foundation
import Logging
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime

/// The `BatchScoring` port as serving implements it: native models are loaded from the artifact
/// store (every artifact checked against its manifest digest) and scored in process, by task
/// (`TabularRecordScorer`, `TextRecordScorer`, `NERRecordScorer`); bring-your-own models
/// through a serve process started for the file (`CommandRecordScorer`).
///
/// The application builder injects it as `TrainyardServices.scoring`, so every worker pool (and
/// the transform submitter's column check) scores with it.
public struct ServingBatchScoring: BatchScoring {
    let services: TrainyardServices
    let serving: ServingOptions
    let transform: TransformOptions
    let metrics: ServingMetrics

    /// - Parameters:
    ///   - serving: how bring-your-own serve processes run (`serving.command`); default: the configuration's.
    ///   - metrics: where serve-process restarts are counted.
    public init(services: TrainyardServices, serving: ServingOptions? = nil, metrics: ServingMetrics = ServingMetrics()) {
        self.services = services
        self.serving = serving ?? services.configuration.serving
        self.transform = services.configuration.transform
        self.metrics = metrics
    }

    public func open(_ version: ModelVersion, layout: TransformLayout) async throws -> any RecordBlockScorer {
        if version.manifest.task == .command {
            return try await CommandRecordScorer.open(version, layout: layout, services: services, serving: serving, transform: transform,
                                                      metrics: metrics, logger: services.logger)
        }
        switch try await NativeModel.load(version, reader: ArtifactReader(artifacts: services.artifacts)) {
        case .tabular(let predictor):
            return try TabularRecordScorer.open(predictor: predictor, layout: layout)
        case .text(let classifier):
            return try TextRecordScorer.open(classifier: classifier, layout: layout, textColumn: await textColumn(of: version))
        case .entities(let recognizer):
            return try NERRecordScorer.open(recognizer: recognizer, layout: layout, textColumn: await textColumn(of: version))
        }
    }

    /// The text column the version was trained on: its input schema's `text_column` when it
    /// records one, else its training spec's `data.text_column` (when the job is still there).
    func textColumn(of version: ModelVersion) async -> String? {
        if let column = version.manifest.inputSchema?["text_column"]?.stringValue { return column }
        let id = version.jobID ?? version.manifest.lineage.jobID
        return (try? await services.store.job(id))?.spec.data.textColumn
    }
}
