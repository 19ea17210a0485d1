import ArgumentParser
import Foundation
import TrainyardCore

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show, follow and cancel jobs.",
        subcommands: [List.self, Show.self, Logs.self, Cancel.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List jobs, newest first (--state failed: the dead letters).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only jobs in these states (comma-separated: queued,running,succeeded,failed,cancelled).")
        var state: String?
        @Option(help: "Only jobs of this model.")
        var model: String?
        @Option(help: "At most this many.")
        var limit = 50

        func run() async throws {
            var filter = JobFilter(limit: limit)
            if let state {
                for raw in state.split(separator: ",") {
                    guard let s = JobState(rawValue: String(raw)) else {
                        throw ValidationError("--state \(raw): expected one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    filter.states.insert(s)
                }
            }
            if let model { filter.model = try ModelName(model) }
            let jobs = try await global.controlPlane().jobs(filter)
            if global.json { return try printJSON(jobs) }
            var table = Table("ID", "MODEL", "STATE", "ATTEMPT", "CREATED", "VERSION", "DETAIL")
            for j in jobs {
                table.add(String(j.id), j.model.rawValue, j.state.rawValue, "\(j.attempt)/\(j.maxAttempts)", Format.date(j.createdAt),
                          j.resultVersion.map(String.init) ?? "-", (j.state == .failed ? j.failureReason?.split(separator: "\n").first.map(String.init) : nil) ?? Format.progress(j))
            }
            print(table.render())
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: JobID

        func run() async throws {
            let j = try await global.controlPlane().job(id)
            if global.json { return try printJSON(j) }
            print("""
                job       \(j.id) (\(j.kind.rawValue))
                model     \(j.model)  task \(j.spec.task.rawValue)
                state     \(Format.progress(j))
                attempt   \(j.attempt) of \(j.maxAttempts)
                created   \(Format.date(j.createdAt)) by \(j.submittedBy)
                started   \(Format.date(j.startedAt))
                finished  \(Format.date(j.finishedAt))
                version   \(j.resultVersion.map { "\(j.model):\($0)" } ?? "-")
                """)
            if let t = j.spec.transform {
                print("scores    \(t.files.count) file(s) of \(t.input) with \(j.model):\(t.version) → \(t.output)")
                if let part = t.part { print("part      \(part.index) of job \(part.parent): bytes \(part.start)–\(part.end) from line \(part.firstLine)") }
            }
            if let origin = j.spec.origin {
                print("trigger   \(origin.trigger)" + (origin.file.map { " (file \($0))" } ?? "") + (origin.slot.map { " (slot \(Format.date($0)))" } ?? "")
                      + (origin.message.map { " (message \($0))" } ?? ""))
            }
            if let reason = j.failureReason { print("reason    \(reason)") }
            if let m = j.progress?.metrics, !m.isEmpty { print("metrics   \(Format.metrics(m, limit: 8))") }
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a job's log (-f follows it until the job ends).")
        @OptionGroup var global: GlobalOptions
        @Argument var id: JobID
        @Flag(name: .shortAndLong, help: "Follow new lines until the job ends.")
        var follow = false

        func run() async throws {
            let plane = try await global.controlPlane()
            var seq: Int64 = 0
            while true {
                for line in try await plane.logs(id, after: seq) {
                    seq = line.sequence
                    print(global.json ? String(decoding: try JSON.encode(line), as: UTF8.self) : line.text)
                }
                guard follow else { return }
                if try await plane.job(id).state.isTerminal {
                    for line in try await plane.logs(id, after: seq) { print(line.text) }
                    return
                }
                try await Task.sleep(for: .milliseconds(300))
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued or running job.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: JobID

        func run() async throws {
            let j = try await global.controlPlane().cancel(id)
            if global.json { return try printJSON(j) }
            print(j.state == .cancelled ? "job \(id) cancelled" : "job \(id): cancellation requested; it stops at its next check")
        }
    }
}
