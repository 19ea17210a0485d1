import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import TrainyardCore

/// A server-sent-event stream of one job: its new log lines (`event: log`, `id:` = sequence),
/// its state/progress whenever they change (`event: progress`), and, once the job is
/// terminal, the final job (`event: end`), after which the stream closes.
///
/// The store is polled (every `options.pollInterval`); a comment line keeps idle connections
/// alive. The stream also ends when the client goes away (a write fails) or the server shuts
/// down gracefully.
struct JobEventStream: Sendable {
    let store: any MetadataStore
    let jobID: JobID
    /// Log lines after this sequence are streamed; nil streams only state and progress.
    let after: Int64?
    let options: ControlAPI.Options

    /// The data of a `progress` event.
    struct Snapshot: Encodable, Equatable {
        var id: JobID
        var state: JobState
        var attempt: Int
        var progress: JobProgress?
        var cancelRequested: Bool
        var failureReason: String?
        var resultVersion: Int?

        init(_ job: Job) {
            id = job.id
            state = job.state
            attempt = job.attempt
            progress = job.progress
            cancelRequested = job.cancelRequested
            failureReason = job.failureReason
            resultVersion = job.resultVersion
        }

        enum CodingKeys: String, CodingKey {
            case id, state, attempt, progress
            case cancelRequested = "cancel_requested"
            case failureReason = "failure_reason"
            case resultVersion = "result_version"
        }
    }

    func response() -> Response {
        let stream = self
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no"],
            body: ResponseBody { writer in
                try await stream.run(&writer)
                try await writer.finish(nil)
            }
        )
    }

    static func event(_ name: String, id: String? = nil, data: some Encodable) throws -> ByteBuffer {
        var text = ""
        if let id { text += "id: \(id)\n" }
        text += "event: \(name)\n"
        // JSON never contains a raw newline, so one data line carries it.
        text += "data: \(try JSON.encodeString(data))\n\n"
        return ByteBuffer(string: text)
    }

    func run(_ writer: inout any ResponseBodyWriter) async throws {
        var cursor = after ?? 0
        var last: Snapshot?
        var sinceKeepAlive = Duration.zero
        let batch = 500
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // Read the job first: lines appended before it turned terminal are then drained below.
            guard let job = try await store.job(jobID) else { return }
            if after != nil {
                while true {
                    let lines = try await store.logs(jobID, after: cursor, limit: batch)
                    for line in lines {
                        try await writer.write(Self.event("log", id: String(line.sequence), data: line))
                        cursor = line.sequence
                    }
                    if lines.count < batch { break }
                }
            }
            let snapshot = Snapshot(job)
            if snapshot != last {
                try await writer.write(Self.event("progress", data: snapshot))
                last = snapshot
                sinceKeepAlive = .zero
            }
            if job.state.isTerminal {
                try await writer.write(Self.event("end", data: job))
                return
            }
            if sinceKeepAlive >= options.keepAliveInterval {
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                sinceKeepAlive = .zero
            }
            do {
                try await Task.sleep(for: options.pollInterval)
            } catch {
                return
            }
            sinceKeepAlive += options.pollInterval
        }
    }
}
