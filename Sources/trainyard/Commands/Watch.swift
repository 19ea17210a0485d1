import ArgumentParser
import Foundation
import TrainyardCore
import TrainyardRuntime

/// `trainyard watch add NAME --path DIR|s3://BUCKET/PREFIX --glob '*.csv' (--transform REF --output OUT | --train SPEC)`
/// and `trainyard watch add NAME --sqs QUEUE_URL (--train SPEC | --transform REF --output OUT)`.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch triggers: a new file in a folder or s3:// prefix, or a message on an SQS queue, makes a transform or train job.",
        subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a trigger that fires on each new file in a folder or s3:// prefix matching a glob (--path), or on each message on an SQS queue (--sqs).",
            discussion: """
            --path: a file fires once its size and modification time have held for --settle (a file still being written waits), \
            once per path + size + modification time, whatever restarts or however many servers run. Files already in \
            the folder fire too, and so do files that arrive while the trigger is paused, once it is resumed. Names \
            beginning with '.' match only a glob that does (copy tools' temporaries). With --transform the file is the \
            transform's input; with --train, ${trigger.file} in the spec is the file's path.

            --path s3://BUCKET/PREFIX: the objects directly under the prefix (as the files in a folder) fire once their \
            size and ETag have held for --settle, once per URI + size + ETag: an object overwritten with other bytes fires \
            again. A large prefix is listed triggers.max_keys_per_pass keys per look, continuing where the last look (of \
            any server) stopped. ${trigger.file} is s3://BUCKET/KEY. Needs S3 configured where triggers fire.

            --sqs: the queue is long-polled. A message that is a spec (YAML or JSON) is submitted as it is; a JSON \
            message of fields ({"name": "my-model", "epochs": 1}) fills the --train template (${message.name}, \
            ${message.epochs}); an S3 event notification makes one job per created object: with --transform the \
            object (s3://bucket/key) is the input, with --train it is ${trigger.file}. A message is deleted only once \
            its jobs are enqueued, and every delivery of it makes its jobs once; a message that cannot become a job \
            stays on the queue for its redrive (dead-letter) policy, and the reason is shown by `triggers show`. \
            Whoever can send to the queue submits jobs with this trigger's rights.

            `trainyard up` or `trainyard server` fires triggers.
            """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The trigger's name ([a-z0-9][a-z0-9._-]{0,63}).")
        var name: String
        @Option(help: "The folder (on the server with --server) or s3://BUCKET/PREFIX to watch.")
        var path: String?
        @Option(help: "File names to fire on (default '*'; --path).")
        var glob: String?
        @Option(help: "How long a file's size and modification time must hold before it fires (default 5s; --path).")
        var settle: String?
        @Option(help: "The SQS queue URL to read (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE).")
        var sqs: String?
        @Option(help: "SQS: how long one receive waits for messages, 0–20 s (default 20s).")
        var waitTime: String?
        @Option(help: "SQS: most messages one receive returns, 1–10 (default 10).")
        var maxMessages: Int?
        @Option(help: "SQS: how long a received message stays hidden from other receivers (default: the queue's).")
        var visibilityTimeout: String?
        @OptionGroup var action: TriggerActionOptions
        @Flag(help: "Create it paused.")
        var paused = false

        func run() async throws {
            let source: TriggerSource
            switch (path, sqs) {
            case (let path?, nil):
                guard waitTime == nil, maxMessages == nil, visibilityTimeout == nil else {
                    throw usageError("--wait-time, --max-messages and --visibility-timeout are for --sqs, not --path")
                }
                let settleText = settle ?? "5s"
                guard let settleDuration = DurationText.parse(settleText) else { throw usageError("--settle \(settleText): expected a duration like 5s or 1m") }
                source = .watch(try WatchSource(path: TransformCommand.absolute(path), glob: glob ?? "*", settleSeconds: settleDuration.seconds))
            case (nil, let queueURL?):
                guard glob == nil, settle == nil else { throw usageError("--glob and --settle are for --path, not --sqs") }
                source = .sqs(try SQSSource(queueURL: queueURL, waitSeconds: try wholeSeconds(waitTime, "--wait-time") ?? SQSSource.defaultWaitSeconds,
                                            maxMessages: maxMessages ?? SQSSource.defaultMaxMessages,
                                            visibilityTimeoutSeconds: try wholeSeconds(visibilityTimeout, "--visibility-timeout")))
            case (nil, nil): throw usageError("give --path DIR (a folder to watch) or --sqs QUEUE_URL (a queue to read)")
            case (_?, _?): throw usageError("give one of --path and --sqs, not both")
            }
            let definition = try TriggerDefinition(name: TriggerName(name), source: source, action: try action.action(kind: source.kind), paused: paused)
            let trigger = try await global.controlPlane().createTrigger(definition)
            if global.json { return try printJSON(trigger) }
            print("trigger \(trigger.name) created: \(TriggerText.source(trigger)) → \(TriggerText.action(trigger))\(trigger.paused ? " (paused)" : "")")
        }

        /// A duration flag in whole seconds (SQS counts in seconds).
        func wholeSeconds(_ text: String?, _ flag: String) throws -> Int? {
            guard let text else { return nil }
            guard let d = DurationText.parse(text), d.seconds >= 0, d.seconds == d.seconds.rounded(), d.seconds <= Double(Int32.max) else {
                throw usageError("\(flag) \(text): expected whole seconds like 20s or 5m")
            }
            return Int(d.seconds)
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
    @Option(help: "Make a train job from this spec file (a template: ${trigger.file}, ${trigger.slot}, ${trigger.name}, ${message.FIELD}).")
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
