import ArgumentParser
import Foundation
import TrainyardCore
import TrainyardRuntime

/// `trainyard triggers [ls|show NAME|pause NAME|resume NAME|rm NAME]`.
struct TriggersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triggers",
        abstract: "List, show, pause, resume and remove triggers (add them with `watch add` (a folder or an SQS queue) and `schedule add`).",
        subcommands: [List.self, Show.self, Pause.self, Resume.self, Remove.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List triggers.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let triggers = try await global.controlPlane().triggers()
            if global.json { return try printJSON(triggers) }
            var table = Table("NAME", "KIND", "STATE", "FIRES ON", "MAKES", "FIRED", "LAST")
            for t in triggers {
                let last = t.status.lastError.map { "error: " + ($0.split(separator: "\n").first.map(String.init) ?? $0) }
                    ?? t.status.lastJobID.map { "job \($0)" } ?? "-"
                table.add(t.name.rawValue, t.kind.rawValue, t.paused ? "paused" : "active", TriggerText.source(t), TriggerText.action(t),
                          String(t.status.firedCount), last)
            }
            print(table.render())
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a trigger: what it fires on and makes, what it did last, its last error.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let t = try await global.controlPlane().trigger(try TriggerName(name))
            if global.json { return try printJSON(t) }
            var lines = [
                "trigger    \(t.name) (\(t.kind.rawValue), \(t.paused ? "paused" : "active"))",
                "fires on   \(TriggerText.source(t))",
                "makes      \(TriggerText.action(t))",
                "created    \(Format.date(t.createdAt)) by \(t.createdBy)",
                "fired      \(t.status.firedCount) time(s)" + (t.status.lastFiredAt.map { ", last \(Format.date($0))" } ?? ""),
            ]
            if let job = t.status.lastJobID { lines.append("last job   \(job)") }
            if let file = t.status.lastFile { lines.append("last file  \(file)") }
            if let slot = t.status.lastSlot { lines.append("last slot  \(TriggerText.slot(slot, t))") }
            if let next = t.nextSlot { lines.append("next slot  \(TriggerText.slot(next, t))") }
            if let roots = t.definition.dataRoots { lines.append("data roots \(roots.isEmpty ? "(none)" : roots.joined(separator: ", "))") }
            if let error = t.status.lastError {
                lines.append("last error \(t.status.lastErrorAt.map { Format.date($0) + ": " } ?? "")\(error)")
            }
            print(lines.joined(separator: "\n"))
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a trigger: nothing fires until it is resumed.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let t = try await global.controlPlane().setTriggerPaused(try TriggerName(name), paused: true)
            if global.json { return try printJSON(t) }
            print("trigger \(t.name) paused")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a trigger: files that arrived meanwhile fire; schedule slots that passed are skipped.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let t = try await global.controlPlane().setTriggerPaused(try TriggerName(name), paused: false)
            if global.json { return try printJSON(t) }
            print("trigger \(t.name) resumed" + (t.nextSlot.map { "; next slot \(TriggerText.slot($0, t))" } ?? ""))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a trigger (the jobs it made stay).")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let triggerName = try TriggerName(name)
            try await global.controlPlane().deleteTrigger(triggerName)
            if global.json { return try printJSON(["removed": triggerName.rawValue]) }
            print("trigger \(triggerName) removed")
        }
    }
}

/// How triggers read in tables and messages.
enum TriggerText {
    static func source(_ t: Trigger) -> String {
        switch t.source {
        case .watch(let w): "\(w.path)\(w.objects == nil ? "/" : "")\(w.glob.text) (settle \(DurationText.format(.milliseconds(Int64(w.settleSeconds * 1000)))))"
        case .schedule(let s): "'\(s.cron.text)' \(s.timeZoneName)"
        case .sqs(let q):
            "\(q.queueURL) (wait \(q.waitSeconds)s, up to \(q.maxMessages)" + (q.visibilityTimeoutSeconds.map { ", visibility \($0)s" } ?? "") + ")"
        }
    }

    static func action(_ t: Trigger) -> String {
        switch t.action {
        case .transform(let request):
            let model = request["model"]?.stringValue ?? "?"
            let output = request["output"]?.stringValue ?? "?"
            let input = t.kind == .schedule ? (request["input"]?.stringValue).map { " \($0)" } ?? "" : ""
            return "transform \(model)\(input) → \(output)"
        case .train(let template):
            let name = template.spec.split(separator: "\n").first { $0.hasPrefix("name:") }
                .map { $0.dropFirst("name:".count).trimmingCharacters(in: .whitespaces) }
            return "train \(name ?? "(spec template)")"
        }
    }

    /// A slot in the trigger's time zone and in UTC.
    static func slot(_ date: Date, _ t: Trigger) -> String {
        guard case .schedule(let s) = t.source else { return Format.date(date) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = s.timeZone
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return "\(f.string(from: date)) \(s.timeZoneName) (\(TriggerPlaceholders.format(slot: date)))"
    }
}

/// Bad flags of a trigger command: exit 2 with the message alone (a `ValidationError` thrown
/// from `run` would print the root command's usage instead of the subcommand's).
func usageError(_ message: String) -> TrainyardError { TrainyardError(.invalidArgument, message) }
