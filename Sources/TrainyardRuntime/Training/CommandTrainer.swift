import Foundation
import Synchronization
import TrainyardCore

/// `task: command`: trains with any program that honours the bring-your-own-model contract
/// (SageMaker-like).
///
/// The program runs with cwd = the staged spec folder and these environment variables:
/// - `TRAINYARD_INPUT_DIR`: data channels, one folder each (`train/`, `validation/`);
/// - `TRAINYARD_MODEL_DIR`: write the model here (every file becomes an artifact);
/// - `TRAINYARD_CHECKPOINT_DIR`: the parent version's checkpoint on warm start; write yours here;
/// - `TRAINYARD_HYPERPARAMETERS`: path of a JSON file with `model.params`;
/// - `TRAINYARD_OUTPUT_DIR`: write `failure` with a reason on error.
/// Metrics: `metrics.json` in the model dir, or stdout lines `metric: name=value [step=N]`.
/// Exit 0 means success.
public struct CommandTrainer: Trainer {
    /// How long a stopped program gets between SIGTERM and SIGKILL.
    public var terminationGrace: Duration

    public init(terminationGrace: Duration = .seconds(5)) { self.terminationGrace = terminationGrace }

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

        let process = Process()
        let cwd = run.codeDirectory ?? base
        process.currentDirectoryURL = cwd
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        var environment = ProcessInfo.processInfo.environment
        environment["TRAINYARD_INPUT_DIR"] = inputDir.path
        environment["TRAINYARD_MODEL_DIR"] = modelDir.path
        environment["TRAINYARD_CHECKPOINT_DIR"] = checkpointDir.path
        environment["TRAINYARD_HYPERPARAMETERS"] = hyperparameters.path
        environment["TRAINYARD_OUTPUT_DIR"] = outputDir.path
        environment["TRAINYARD_JOB_ID"] = String(run.jobID)
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice

        let collector = MetricCollector()
        do { try process.run() } catch {
            throw TrainingFailure("could not start \(command.joined(separator: " ")): \(error)", retryable: false)
        }
        run.progress.log("started \(command.joined(separator: " ")) (pid \(process.processIdentifier)) in \(cwd.lastPathComponent)")
        let progress = run.progress
        async let outDone: Void = runBlocking { Self.readLines(stdout.fileHandleForReading) { line in
            progress.log(line)
            collector.consume(line, progress: progress)
        } }
        async let errDone: Void = runBlocking { Self.readLines(stderr.fileHandleForReading) { line in
            progress.log("stderr: \(line)")
            collector.keepStderr(line)
        } }
        // Watch for cancellation while the program runs: asked through the reporter, or the
        // calling task cancelled (the watcher is detached, so it must be told explicitly).
        let grace = terminationGrace
        let callerCancelled = StopFlag()
        let watcher = Task.detached {
            while process.isRunning {
                if progress.isCancelled || callerCancelled.isSet {
                    process.terminate()
                    try? await Task.sleep(for: grace)
                    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                    return
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        try await withTaskCancellationHandler {
            try await runBlocking { process.waitUntilExit() }
        } onCancel: {
            callerCancelled.set()
        }
        _ = try await (outDone, errDone)
        watcher.cancel()
        if progress.isCancelled || callerCancelled.isSet { throw CancellationError() }

        guard process.terminationStatus == 0, process.terminationReason == .exit else {
            let failureFile = outputDir.appendingPathComponent("failure")
            var reason: String
            if let text = try? String(contentsOf: failureFile, encoding: .utf8), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                reason = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else if process.terminationReason == .uncaughtSignal {
                reason = "killed by signal \(process.terminationStatus)"
            } else {
                reason = "exited with code \(process.terminationStatus)"
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
