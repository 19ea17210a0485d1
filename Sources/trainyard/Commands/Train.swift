import ArgumentParser
import Foundation
import TrainyardCore
import TrainyardRuntime

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Submit a training spec (YAML or JSON).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The spec file.")
    var spec: String

    @Flag(help: "Follow the job (state, epoch, loss, ETA) until it ends; exit 1 if it fails.")
    var wait = false

    @Option(help: "Priority (higher runs first).")
    var priority: Int?

    @Option(help: "Start no earlier than this from now (e.g. 10m).")
    var delay: String?

    @Flag(help: "Only check the spec and its data files as a submit would; upload and enqueue nothing.")
    var check = false

    func run() async throws {
        let delayDuration = try delay.map { text -> Duration in
            guard let d = DurationText.parse(text) else { throw ValidationError("--delay \(text): expected a duration like 30s, 10m, 2h") }
            return d
        }
        let file = URL(fileURLWithPath: spec)
        let plane = try await global.controlPlane()
        if check {
            // The same checks as a submit (data files and their headers too), nothing enqueued.
            let parsed = try await plane.check(specFile: file)
            print("ok: \(parsed.spec.name) (\(parsed.spec.task.rawValue))")
            return
        }
        if wait {
            // Following a job needs the read scope; find out before submitting, so a token that
            // may only train does not leave a job behind and then fail with exit 2.
            do { _ = try await plane.jobs(JobFilter(limit: 1)) } catch let error as TrainyardError where error.code == .forbidden || error.code == .unauthorized {
                throw TrainyardError(error.code, "--wait follows the job, which needs a token with the read scope: \(error.message); nothing was submitted (submit without --wait, or use a token with train+read)")
            }
        }
        let job = try await plane.submit(specFile: file, priority: priority, delay: delayDuration)
        if !wait {
            if global.json { try printJSON(job) } else { print("submitted job \(job.id) (\(job.model), \(job.state.rawValue))") }
            return
        }
        if !global.json { print("submitted job \(job.id) (\(job.model))") }
        let final = try await followJob(job.id, plane: plane, json: global.json)
        if global.json { try printJSON(final) }
        guard final.state == .succeeded else {
            throw CommandFailure(message: "job \(final.id) \(final.state.rawValue)" + (final.failureReason.map { ": \($0)" } ?? ""), exitCode: 1)
        }
    }
}
