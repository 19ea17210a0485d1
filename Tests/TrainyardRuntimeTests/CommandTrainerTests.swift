import Foundation
import Testing
import TrainyardCore
@testable import TrainyardRuntime

@Suite("CommandTrainer")
struct CommandTrainerTests {
    func run(_ h: Harness, folder: URL, params: [String: JSONValue], recorder: JobProgressRecorder) throws -> TrainingRun {
        var spec = Spec(name: try ModelName("byom"), task: .command, command: ["python3", "train.py"])
        spec.model.params = params
        let csv = folder.appendingPathComponent("data/train.csv")
        return TrainingRun(jobID: 1, attempt: 1, spec: spec, inputs: ["train": csv], codeDirectory: folder,
                           workDirectory: h.root.appendingPathComponent("work-\(UUID().uuidString)"), warmStart: nil, progress: recorder)
    }

    @Test func trainsDirectly() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let recorder = JobProgressRecorder()
        let output = try await CommandTrainer().train(try run(h, folder: folder, params: ["epochs": .int(2)], recorder: recorder))
        #expect(output.metrics["loss"] == 0.25)
        #expect(output.history.map(\.step) == [1, 2])
        #expect(Set(output.artifacts.keys) == ["model.json", "metrics.json", "checkpoint/state.json"])
        #expect(output.params["epochs"] == .int(2))
        let (lines, progress) = recorder.drain()
        #expect(lines.contains("metric: loss=0.25 step=2"))
        #expect(progress?.epoch == 2)
        #expect(progress?.loss == 0.25)
    }

    @Test func cancellingTheCallingTaskStopsTheProgram() async throws {
        let h = try await Harness()
        let folder = try h.specFolder()
        let pidFile = h.root.appendingPathComponent("pid")
        let training = try run(h, folder: folder, params: ["mode": .string("sleep"), "pid_file": .string(pidFile.path)],
                               recorder: JobProgressRecorder())
        let task = Task { try await CommandTrainer(terminationGrace: .seconds(1)).train(training) }
        try await h.eventually("the program to start") { FileManager.default.fileExists(atPath: pidFile.path) }
        let pid = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8)))
        let start = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - start < .seconds(60)) // grace 1 s; bounded generously for a loaded machine
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(!Harness.processAlive(pid))
    }

    @Test func metricLines() {
        let collector = MetricCollector()
        let recorder = JobProgressRecorder()
        for line in ["metric: loss=0.5 step=1", "metric: accuracy=0.9 step=1", "metric: loss=0.25 step=2", "metric: f1=0.7",
                     "metric: broken", "metric: nan_metric=nan", "not a metric: x=1"] {
            collector.consume(line, progress: recorder)
        }
        #expect(collector.finalMetrics == ["loss": 0.25, "accuracy": 0.9, "f1": 0.7])
        #expect(collector.history == [MetricPoint(step: 1, metrics: ["loss": 0.5, "accuracy": 0.9]),
                                      MetricPoint(step: 2, metrics: ["loss": 0.25])])
    }
}
