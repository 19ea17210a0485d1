import Foundation
import TrainyardCore
import TrainyardRuntime

extension TrainerRegistry {
    /// Every trainer this build ships: the native learners and bring-your-own `command`.
    public static var standard: TrainerRegistry {
        TrainerRegistry([
            .tabularRegression: TabularTrainer(),
            .tabularClassification: TabularTrainer(),
            .textClassification: TextClassificationTrainer(),
            .ner: NERTrainer(),
            .command: CommandTrainer(),
        ])
    }
}

/// The native trainers score a registered version the way `trainyard evaluate` does.
protocol NativeScoring: Trainer {}

extension NativeScoring {
    /// `version`'s metrics on `data`, read with `spec`'s format settings (promotion compares the
    /// alias's current version with the new one on the new one's validation file).
    public func score(_ version: ModelVersion, data: URL, spec: Spec, artifacts: any ArtifactStore) async throws -> [String: Double]? {
        let model = try await NativeModel.load(version, reader: ArtifactReader(artifacts: artifacts))
        let bytes = [UInt8](try Data(contentsOf: data))
        return try await runBlocking {
            try model.evaluate(data: bytes, format: spec.data.format, textColumn: spec.data.textColumn, labelColumn: spec.data.labelColumn).metrics
        }
    }
}

extension TabularTrainer: NativeScoring {}
extension TextClassificationTrainer: NativeScoring {}
extension NERTrainer: NativeScoring {}
