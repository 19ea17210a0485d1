import Foundation
import TrainyardCore

/// Where a firing trigger sends the job it makes: the system's own submitters
/// (`StandardTriggerJobSubmitting`), which check, stage and enqueue; a test may record instead.
/// Either way the options carry the firing's idempotency key, so the store makes one job per
/// file or slot however many processes fire it.
public protocol TriggerJobSubmitting: Sendable {
    func submitTransform(_ request: TransformRequest, options: TransformSubmitter.Options) async throws -> Job
    func submitTrain(_ spec: String, options: JobSubmitter.Options) async throws -> Job
}

/// `TransformSubmitter` and `JobSubmitter` on the services.
public struct StandardTriggerJobSubmitting: TriggerJobSubmitting {
    public let services: TrainyardServices

    public init(services: TrainyardServices) { self.services = services }

    public func submitTransform(_ request: TransformRequest, options: TransformSubmitter.Options) async throws -> Job {
        try await services.transformSubmitter.submit(request, options: options)
    }

    public func submitTrain(_ spec: String, options: JobSubmitter.Options) async throws -> Job {
        try await services.submitter.submit(spec, options: options)
    }
}
