import Foundation
import TrainyardCore
import TrainyardRuntime

extension TrainerRegistry {
    /// Every trainer this build ships, with the default `ResourceLimits`.
    public static var standard: TrainerRegistry { standard(limits: ResourceLimits()) }

    /// Every trainer this build ships: the native learners (bounded by `limits.classes`,
    /// `limits.features` and `limits.train_memory_bytes`) and bring-your-own `command`.
    /// `runner`: how bring-your-own programs are started (`runner.*`).
    public static func standard(limits: ResourceLimits, runner: RunnerOptions = RunnerOptions()) -> TrainerRegistry {
        TrainerRegistry([
            .tabularRegression: TabularTrainer(limits: limits),
            .tabularClassification: TabularTrainer(limits: limits),
            .textClassification: TextClassificationTrainer(limits: limits),
            .ner: NERTrainer(),
            .command: CommandTrainer(runner: runner),
        ])
    }
}

/// The native trainers score a registered version the way `trainyard evaluate` does.
protocol NativeScoring: Trainer {}

extension NativeScoring {
    /// `version`'s metrics on `data`, read with `spec`'s format settings (promotion compares the
    /// alias's current version with the new one on the new one's validation file or held-out
    /// rows), with the number of rows they cover.
    public func score(_ version: ModelVersion, data: URL, spec: Spec, artifacts: any ArtifactStore) async throws -> VersionScore? {
        let model = try await NativeModel.load(version, reader: ArtifactReader(artifacts: artifacts))
        let bytes = [UInt8](try Data(contentsOf: data))
        let report = try await runOnOwnThread(named: "trainyard-score") {
            try model.evaluate(data: bytes, format: spec.data.format, textColumn: spec.data.textColumn, labelColumn: spec.data.labelColumn)
        }
        return VersionScore(metrics: report.metrics, rows: report.rows)
    }
}

extension TabularTrainer: NativeScoring {}
extension TextClassificationTrainer: NativeScoring {}
extension NERTrainer: NativeScoring {}
