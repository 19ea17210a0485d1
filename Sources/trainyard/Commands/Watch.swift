import ArgumentParser
import Foundation
import TrainyardCore
import TrainyardRuntime

/// `trainyard watch add NAME --path DIR --glob '*.csv' (--transform REF --output OUT | --train SPEC)`.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch triggers: a new file in a folder makes a transform or train job.",
        subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a trigger that fires on each new file in a folder matching a glob, once the file has settled.",
            discussion: """
            A file fires once its size and modification time have held for --settle (a file still being written waits), \
            once per path + size + modification time, whatever restarts or however many servers run. Files already in \
            the folder fire too, and so do files that arrive while the trigger is paused, once it is resumed. Names \
            beginning with '.' match only a glob that does (copy tools' temporaries). With --transform the file is the \
            transform's input; with --train, ${trigger.file} in the spec is the file's path. `trainyard up` or \
            `trainyard server` fires triggers.
            """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The trigger's name ([a-z0-9][a-z0-9._-]{0,63}).")
        var name: String
        @Option(help: "The folder to watch (on the server with --server).")
        var path: String
        @Option(help: "File names to fire on (default '*').")
        var glob = "*"
        @Option(help: "How long a file's size and modification time must hold before it fires (default 5s).")
        var settle = "5s"
        @OptionGroup var action: TriggerActionOptions
        @Flag(help: "Create it paused.")
        var paused = false

        func run() async throws {
            guard let settleDuration = DurationText.parse(settle) else { throw usageError("--settle \(settle): expected a duration like 5s or 1m") }
            let source = try WatchSource(path: TransformCommand.absolute(path), glob: glob, settleSeconds: settleDuration.seconds)
            let definition = try TriggerDefinition(name: TriggerName(name), source: .watch(source), action: try action.action(kind: .watch), paused: paused)
            let trigger = try await global.controlPlane().createTrigger(definition)
            if global.json { return try printJSON(trigger) }
            print("trigger \(trigger.name) created: \(TriggerText.source(trigger)) → \(TriggerText.action(trigger))\(trigger.paused ? " (paused)" : "")")
        }
    }
}

/// What a trigger makes, as flags: `--transform REF --output OUT [transform options]` or
/// `--train SPEC` (shared by `watch add` and `schedule add`).
struct TriggerActionOptions: ParsableArguments {
    @Option(help: "Make a transform job with this model (NAME, NAME@ALIAS, NAME:VERSION).")
    var transform: String?
    @Option(help: "Transform: the output folder.")
    var output: String?
    @Option(help: "Make a train job from this spec file (a template: ${trigger.file}, ${trigger.slot}, ${trigger.name}).")
    var train: String?
    @Option(help: "Transform: input columns copied to the output (comma-separated).")
    var keep: String?
    @Flag(help: "Transform: every input column, then the predictions.")
    var joinInput = false
    @Flag(help: "Transform: a probability column per class.")
    var probabilities = false
    @Option(help: "Transform: a file whose bad rows exceed this fraction fails (default 0.01).")
    var maxErrorRate: Double?
    @Option(help: "Transform: csv, tsv or jsonl (default: by extension).")
    var format: String?
    @Flag(inversion: .prefixedNo, help: "Transform: whether the first line is a header (default: detected).")
    var header: Bool?
    @Option(help: "Transform: output names from a template ({name}, {stem}, {date}, {timestamp}, {job}).")
    var outputTemplate: String?
    @Option(help: "Priority of the jobs it makes (transform).")
    var priority: Int?
    @Option(help: "Retries of the jobs it makes (transform).")
    var retries: Int?
    @Option(help: "Time limit of one attempt of the jobs it makes (transform; e.g. 30m).")
    var timeout: String?

    /// The action; `input` and `glob` are the transform's (schedule), absent for a watch.
    func action(kind: TriggerKind, input: String? = nil, glob: String? = nil) throws -> TriggerAction {
        switch (transform, train) {
        case (let model?, nil):
            guard let output else { throw usageError("--transform needs --output") }
            var request: [String: JSONValue] = ["model": .string(model), "output": .string(TransformCommand.absolute(output))]
            if let input { request["input"] = .string(TransformCommand.absolute(input)) }
            if let glob { request["glob"] = .string(glob) }
            if let keep { request["keep"] = .array(keep.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }) }
            if joinInput { request["join_input"] = .bool(true) }
            if probabilities { request["probabilities"] = .bool(true) }
            if let maxErrorRate { request["max_error_rate"] = .double(maxErrorRate) }
            if let format {
                guard TransformFormat(rawValue: format.lowercased()) != nil else { throw usageError("--format \(format): expected csv, tsv or jsonl") }
                request["format"] = .string(format.lowercased())
            }
            if let header { request["header"] = .bool(header) }
            if let outputTemplate { request["output_template"] = .string(outputTemplate) }
            if let priority { request["priority"] = .int(priority) }
            if let retries { request["retries"] = .int(retries) }
            if let timeout {
                guard let d = DurationText.parse(timeout) else { throw usageError("--timeout \(timeout): expected a duration like 30s, 10m, 2h") }
                request["timeout_seconds"] = .double(d.seconds)
            }
            return .transform(request)
        case (nil, let spec?):
            let transformOnly = [output != nil, keep != nil, joinInput, probabilities, maxErrorRate != nil, format != nil, header != nil,
                                 outputTemplate != nil, priority != nil, retries != nil, timeout != nil, input != nil]
            guard !transformOnly.contains(true) else { throw usageError("--train takes no transform options (the spec says what to train)") }
            let file = URL(fileURLWithPath: TransformCommand.absolute(spec))
            return .train(TrainTemplate(spec: try readSpec(file), baseDirectory: file.deletingLastPathComponent().path))
        case (nil, nil): throw usageError("give --transform MODEL --output OUT, or --train SPEC")
        case (_?, _?): throw usageError("give one of --transform and --train, not both")
        }
    }
}
