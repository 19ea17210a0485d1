import Foundation
import TrainyardCore
import TrainyardRuntime

/// Prints a live progress line until the job ends. In local mode with no server, runs an
/// in-process worker so `train --wait` trains right here.
func followJob(_ id: JobID, plane: any ControlPlane, json: Bool) async throws -> Job {
    var pool: Task<Void, any Error>?
    if let local = plane as? LocalControlPlane {
        let workers = WorkerPool(services: local.services, options: .init(workers: 1, exitWhenIdle: .seconds(3600)))
        pool = Task { try await workers.run() }
    }
    defer { pool?.cancel() }
    let interactive = isatty(STDOUT_FILENO) == 1 && !json
    var lastLine = ""
    var logSeq: Int64 = 0
    while true {
        let job = try await plane.job(id)
        // Echo the job's log lines (not on a TTY progress line, where they would interleave).
        if !json && !interactive {
            for line in try await plane.logs(id, after: logSeq) {
                logSeq = line.sequence
                print("  \(line.text)")
            }
        }
        let line = "job \(id): \(Format.progress(job))"
        if interactive {
            if line != lastLine { FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8)) }
        } else if !json && line != lastLine {
            print(line)
        }
        lastLine = line
        if job.state.isTerminal {
            if interactive { print("") }
            if !json {
                if job.state == .succeeded, let v = job.resultVersion {
                    print("registered \(job.model):\(v)")
                } else if job.state == .succeeded, job.kind == .transform, let p = job.progress, let rows = p.rows {
                    print("scored \(rows) rows: \(p.rowsOut ?? 0) written, \(p.rowErrors ?? 0) errors" + (job.spec.transform.map { " → \($0.output)" } ?? ""))
                } else if let reason = job.failureReason {
                    print("\(job.state.rawValue): \(reason)")
                }
            }
            return job
        }
        try await Task.sleep(for: .milliseconds(250))
    }
}
