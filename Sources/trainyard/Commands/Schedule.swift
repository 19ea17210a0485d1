import ArgumentParser
import Foundation
import TrainyardCore
import TrainyardRuntime

/// `trainyard schedule add NAME --cron '0 3 * * *' --tz Europe/Berlin (--train SPEC | --transform REF --input IN --output OUT)`.
struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Schedule triggers: a cron expression in a time zone makes a train or transform job.",
        subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a trigger that fires at the slots of a 5-field cron expression in a time zone.",
            discussion: """
            Fields: minute hour day-of-month month day-of-week, with *, lists, ranges, steps and names (JAN, MON); or \
            @hourly, @daily, @weekly, @monthly, @yearly. After downtime the missed slots fire once (the latest), not once \
            each; slots that pass while the trigger is paused are skipped. Daylight-saving changes: a fixed-hour slot the \
            clock skips fires at the end of the gap, one it shows twice fires once; expressions whose hour field starts \
            with * follow real time. With --train, ${trigger.slot} in the spec is the slot (ISO 8601, UTC).
            """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The trigger's name ([a-z0-9][a-z0-9._-]{0,63}).")
        var name: String
        @Option(help: "The cron expression, e.g. '0 3 * * *'.")
        var cron: String
        @Option(help: "The IANA time zone the expression is read in (default: this machine's, else UTC).")
        var tz: String?
        @Option(help: "Transform: the file or folder to score at each slot.")
        var input: String?
        @Option(help: "Transform: which files of the input folder to score (e.g. '*.csv').")
        var glob: String?
        @OptionGroup var action: TriggerActionOptions
        @Flag(help: "Create it paused.")
        var paused = false

        func run() async throws {
            let zone = tz ?? TimeZone.current.identifier
            let source = try ScheduleSource(cron: cron, timeZone: zone)
            if action.transform != nil, input == nil { throw usageError("--transform needs --input (what to score at each slot)") }
            if action.train != nil, glob != nil { throw usageError("--glob is a transform option") }
            let definition = try TriggerDefinition(name: TriggerName(name), source: .schedule(source),
                                                   action: try action.action(kind: .schedule, input: input, glob: glob), paused: paused)
            let trigger = try await global.controlPlane().createTrigger(definition)
            if global.json { return try printJSON(trigger) }
            print("trigger \(trigger.name) created: \(TriggerText.source(trigger)) → \(TriggerText.action(trigger))\(trigger.paused ? " (paused)" : "")")
            if let next = trigger.nextSlot { print("next slot: \(TriggerText.slot(next, trigger))") }
        }
    }
}
