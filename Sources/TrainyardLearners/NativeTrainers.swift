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
