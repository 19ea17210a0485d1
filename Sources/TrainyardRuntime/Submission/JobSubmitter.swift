import Foundation
import TrainyardCore

/// Turns spec text into a queued job: parse → task checks → stage data and code → enqueue.
///
/// Everything that can be known at submit time is checked before anything is written to the
/// queue, so a bad spec leaves no trace (blobs staged before a later failure are harmless:
/// content-addressed and deduplicated).
public struct JobSubmitter: Sendable {
    public let services: TrainyardServices

    public init(services: TrainyardServices) { self.services = services }

    public struct Options: Sendable {
        /// The spec's folder: relative paths resolve against it, and (`task: command`) it is the
        /// code that gets staged. Nil for specs submitted over HTTP, which must use absolute
        /// `file://` URIs or already staged `artifact:sha256:` references.
        public var baseDirectory: URL?
        public var submittedBy: String
        public var priority: Int?
        public var delay: Duration?
        /// Data and code a remote client already uploaded as blobs (`PUT /api/v1/blobs/…`):
        /// `data.train` / `data.validation` / `code` → digest. Those locations are replaced by
        /// their `artifact:sha256:` references before staging.
        public var staged: [DataDigest]

        public init(baseDirectory: URL? = nil, submittedBy: String = "local", priority: Int? = nil, delay: Duration? = nil,
                    staged: [DataDigest] = []) {
            self.baseDirectory = baseDirectory
            self.submittedBy = submittedBy
            self.priority = priority
            self.delay = delay
            self.staged = staged
        }
    }

    /// Parses and checks a spec without enqueuing it.
    public func check(_ text: String) throws(TrainyardError) -> ParsedSpec {
        let parsed = try SpecParser().parse(text)
        try services.trainers.trainer(for: parsed.spec.task).validate(parsed)
        return parsed
    }

    public func submit(_ text: String, options: Options = Options()) async throws -> Job {
        let parsed = try check(text)
        var local: [String: URL] = [:]
        for (key, location) in parsed.spec.data.locations {
            if let file = Stager.localFile(location, base: options.baseDirectory), FileManager.default.fileExists(atPath: file.path) {
                local[key] = file
            }
        }
        try services.trainers.trainer(for: parsed.spec.task).validateData(parsed, inputs: local)
        let staged = try await Stager(artifacts: services.artifacts).stage(parsed, baseDirectory: options.baseDirectory,
                                                                          preStaged: options.staged)
        let runAfter = options.delay.map { services.clock.now().addingTimeInterval($0.seconds) }
        return try await services.store.enqueue(EnqueueRequest(kind: .train, spec: staged, priority: options.priority,
                                                               runAfter: runAfter, submittedBy: options.submittedBy))
    }
}
