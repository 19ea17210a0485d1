import Foundation
import Synchronization
import TrainyardCore

/// `task: command`: trains with any program that honours the bring-your-own-model contract
/// (SageMaker-like; docs/byom.md).
///
/// The program runs with cwd = the staged spec folder (or its scratch folder when there is no
/// code) and an environment built from nothing (`ChildEnvironment`): the spec's `env:`, the
/// names `runner.env_allow` lets through, and
/// - `TRAINYARD_INPUT_DIR`: data channels, one folder each (`train/`, `validation/`);
/// - `TRAINYARD_MODEL_DIR`: write the model here (every file becomes an artifact);
/// - `TRAINYARD_CHECKPOINT_DIR`: the parent version's checkpoint on warm start; write yours here;
/// - `TRAINYARD_HYPERPARAMETERS`: path of a JSON file with `model.params`;
/// - `TRAINYARD_OUTPUT_DIR`: write `failure` with a reason on error;
/// - `TRAINYARD_JOB_ID`, and `PYTHONUNBUFFERED=1`.
/// Metrics: `metrics.json` in the model dir, or stdout lines `metric: name=value [step=N]`.
/// Exit 0 means success. It is started by `ChildProcess` (own process group, parent-death
/// signal, `runner.user`, write restriction) and stopped with SIGTERM to its group, then
/// SIGKILL after `terminationGrace`.
public struct CommandTrainer: Trainer {
    /// How long a stopped program gets between SIGTERM and SIGKILL.
    public var terminationGrace: Duration
    /// `runner.*`: environment allow-list, user, write restriction.
    public var runner: RunnerOptions

    public init(terminationGrace: Duration = .seconds(5), runner: RunnerOptions = RunnerOptions()) {
        self.terminationGrace = terminationGrace
        self.runner = runner
    }

    public func validate(_ spec: ParsedSpec) throws(TrainyardError) {
        guard let command = spec.spec.command, !command.isEmpty else {
            throw spec.error(at: "command", "required for task: command")
        }
    }

    public func train(_ run: TrainingRun) async throws -> TrainingOutput {
        guard let command = run.spec.command else { throw TrainingFailure("no command", retryable: false) }
        let fm = FileManager.default
        let base = run.workDirectory
        let inputDir = base.appendingPathComponent("input"), modelDir = base.appendingPathComponent("model")
        let checkpointDir = base.appendingPathComponent("checkpoint"), outputDir = base.appendingPathComponent("output")
        for dir in [inputDir, modelDir, checkpointDir, outputDir] { try fm.createDirectory(at: dir, withIntermediateDirectories: true) }
        for (channel, file) in run.inputs {
            let dir = inputDir.appendingPathComponent(channel)
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            try fm.copyItem(at: file, to: dir.appendingPathComponent(file.lastPathComponent))
        }
        if let parent = run.warmStart {
            for artifact in parent.manifest.artifacts where artifact.name.hasPrefix("checkpoint/") {
                let target = checkpointDir.appendingPathComponent(String(artifact.name.dropFirst("checkpoint/".count)))
                try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try fm.copyItem(at: parent.directory.appendingPathComponent(artifact.name), to: target)
            }
        }
        let hyperparameters = base.appendingPathComponent("hyperparameters.json")
        try JSON.encode(run.spec.model.params, pretty: true).write(to: hyperparameters)

        // The program's own folders: private to it (0700) and, with runner.user, owned by it.
        let ownFolders = [base] + (run.codeDirectory.map { [$0] } ?? [])
        for folder in ownFolders { try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder.path) }
        let identity = try RunnerIdentity.forChildren(runner)
        try identity?.takeOwnership(of: ownFolders)

        let cwd = run.codeDirectory ?? base
        let environment = ChildEnvironment.build(contract: [
            "TRAINYARD_INPUT_DIR": inputDir.path,
            "TRAINYARD_MODEL_DIR": modelDir.path,
            "TRAINYARD_CHECKPOINT_DIR": checkpointDir.path,
            "TRAINYARD_HYPERPARAMETERS": hyperparameters.path,
            "TRAINYARD_OUTPUT_DIR": outputDir.path,
            "TRAINYARD_JOB_ID": String(run.jobID),
            "PYTHONUNBUFFERED": "1",
        ], spec: run.spec.env, allowList: runner.environmentAllowList, identity: identity)
        var launch = ChildProcess.Launch(arguments: command, environment: environment, workingDirectory: cwd)
        launch.identity = identity
        launch.writablePaths = runner.writablePaths(own: ownFolders, environment: environment)

        let process: ChildProcess
        do { process = try ChildProcess.start(launch) } catch {
            throw TrainingFailure(error.message, retryable: false)
        }
        run.progress.log("started \(command.joined(separator: " ")) (pid \(process.pid)) in \(cwd.lastPathComponent)")
        let progress = run.progress
        let collector = MetricCollector()
        let stdout = process.standardOutput, stderr = process.standardError
        async let outDone: Void = runOnOwnThread(named: "trainyard-stdout") { if let stdout { Self.readLines(stdout) { line in
            progress.log(line)
            collector.consume(line, progress: progress)
        } } }
        async let errDone: Void = runOnOwnThread(named: "trainyard-stderr") { if let stderr { Self.readLines(stderr) { line in
            progress.log("stderr: \(line)")
            collector.keepStderr(line)
        } } }
        // Watch for cancellation while the program runs: asked through the reporter (cancel,
        // timeout), or the calling task cancelled (the watcher is detached, so it must be told).
        let grace = terminationGrace
        let callerCancelled = StopFlag()
        let watcher = Task.detached {
            while process.isRunning {
                if progress.isCancelled || callerCancelled.isSet {
                    await process.stop(grace: grace)
                    return
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let exit = await withTaskCancellationHandler {
            await process.wait()
        } onCancel: {
            callerCancelled.set()
        }
        _ = try await (outDone, errDone)
        watcher.cancel()
        if progress.isCancelled || callerCancelled.isSet { throw CancellationError() }

        guard exit.isSuccess else {
            let failureFile = outputDir.appendingPathComponent("failure")
            var reason: String
            if let text = try? String(contentsOf: failureFile, encoding: .utf8), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                reason = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                reason = exit.description
            }
            let tail = collector.stderrTail
            if !tail.isEmpty { reason += "\nstderr tail:\n" + tail.joined(separator: "\n") }
            throw TrainingFailure(reason, retryable: true)
        }

        var metrics = collector.finalMetrics
        let metricsFile = modelDir.appendingPathComponent("metrics.json")
        if let data = try? Data(contentsOf: metricsFile) {
            guard let decoded = try? JSON.decode([String: Double].self, from: data) else {
                throw TrainingFailure("metrics.json in the model dir must be a JSON object of numbers", retryable: false)
            }
            metrics.merge(decoded) { _, new in new }
        }
        var artifacts: [String: URL] = [:]
        for (prefix, dir) in [("", modelDir), ("checkpoint/", checkpointDir)] {
            for file in Self.files(in: dir) {
                artifacts[prefix + String(file.standardizedFileURL.path.dropFirst(dir.standardizedFileURL.path.count + 1))] = file
            }
        }
        guard artifacts.keys.contains(where: { !$0.hasPrefix("checkpoint/") }) else {
            throw TrainingFailure("the program exited 0 but wrote nothing to TRAINYARD_MODEL_DIR", retryable: false)
        }
        return TrainingOutput(algorithm: "command", artifacts: artifacts, metrics: metrics, history: collector.history,
                              params: run.spec.model.params)
    }

    static func files(in dir: URL) -> [URL] {
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        return e.compactMap { $0 as? URL }.filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
    }

    /// Reads a pipe to its end, calling `body` per line.
    static func readLines(_ handle: FileHandle, _ body: (String) -> Void) {
        var buffer = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                body(line.hasSuffix("\r") ? String(line.dropLast()) : line)
            }
        }
        if !buffer.isEmpty { body(String(decoding: buffer, as: UTF8.self)) }
    }
}

/// A flag set once from any thread (a cancellation handler) and read by another.
final class StopFlag: Sendable {
    private let state = Mutex(false)
    func set() { state.withLock { $0 = true } }
    var isSet: Bool { state.withLock { $0 } }
}

/// Parses `metric: name=value [step=N]` lines into final metrics, history and progress.
final class MetricCollector: Sendable {
    private struct State {
        var final: [String: Double] = [:]
        var history: [Int: [String: Double]] = [:]
        var stderr: [String] = []
    }
    private let state = Mutex(State())

    func consume(_ line: String, progress: any ProgressReporter) {
        guard line.hasPrefix("metric:") else { return }
        var name: String?, value: Double?, step: Int?
        for token in line.dropFirst("metric:".count).split(separator: " ") {
            let parts = token.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            if parts[0] == "step" { step = Int(parts[1]) } else { name = String(parts[0]); value = Double(parts[1]) }
        }
        guard let name, let value, value.isFinite else { return }
        let metrics: [String: Double] = state.withLock { s in
            s.final[name] = value
            if let step { s.history[step, default: [:]][name] = value; return s.history[step]! }
            return [name: value]
        }
        if let step {
            let loss = metrics["validation_loss"] ?? metrics["loss"] ?? metrics["train_loss"]
            progress.report(JobProgress(epoch: step, loss: loss, metrics: metrics))
        }
    }

    func keepStderr(_ line: String) {
        state.withLock { s in
            s.stderr.append(line)
            if s.stderr.count > 20 { s.stderr.removeFirst() }
        }
    }

    var finalMetrics: [String: Double] { state.withLock { $0.final } }
    var stderrTail: [String] { state.withLock { $0.stderr } }
    var history: [MetricPoint] {
        state.withLock { s in s.history.keys.sorted().map { MetricPoint(step: $0, metrics: s.history[$0]!) } }
    }
}
