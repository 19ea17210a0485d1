import Foundation
import TrainyardCore

/// Turns a `TransformRequest` into a queued job of kind `transform`: checks the request, pins
/// the model version, lists the input with each file's identity, checks that the model can
/// score each file's columns and that the output folder can be written, then enqueues with an
/// idempotency key derived from the input's identity, the model version and the options, so
/// the same input submitted again (a retried request, a re-delivered trigger) is the same job.
public struct TransformSubmitter: Sendable {
    public let services: TrainyardServices

    public init(services: TrainyardServices) { self.services = services }

    public struct Options: Sendable {
        public var submittedBy: String
        /// Which local files the request may read and write (`.unrestricted` for the CLI).
        public var access: DataAccessPolicy
        /// Relative input/output paths resolve against it (the CLI's working folder); nil over HTTP.
        public var baseDirectory: URL?
        /// Overrides the derived key (a client's `Idempotency-Key`).
        public var idempotencyKey: String?
        /// The trigger that submits (recorded on the job).
        public var origin: JobOrigin?

        public init(submittedBy: String = "local", access: DataAccessPolicy = .unrestricted, baseDirectory: URL? = nil,
                    idempotencyKey: String? = nil, origin: JobOrigin? = nil) {
            self.submittedBy = submittedBy
            self.access = access
            self.baseDirectory = baseDirectory
            self.idempotencyKey = idempotencyKey
            self.origin = origin
        }
    }

    /// Enqueues (or returns the job an identical earlier request made).
    public func submit(_ request: TransformRequest, options: Options = Options()) async throws -> Job {
        throw TrainyardError(.internal, "transform submission is being built")
    }
}
