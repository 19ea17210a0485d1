import Foundation
import Logging
import TrainyardCore

/// One receive from an `sqs` trigger's queue and the handling of every message it brought:
/// what each of `TriggerService`'s pollers does in a loop.
///
/// Per message: `MessagePlan` says which jobs it makes (a spec as sent, the template filled with
/// its fields, one job per created object of an S3 event, nothing for `s3:TestEvent`); each job
/// is submitted with the idempotency key of its message and record
/// (`trigger:<name>:sqs:<message id>[:<record>]`) and records its `JobOrigin`; only once every
/// job is enqueued (the store's commit) is the message deleted. A message that cannot be
/// turned into jobs, or whose jobs cannot be enqueued, is left on the queue: it comes back after
/// its visibility timeout, and the queue's redrive policy moves it to its dead-letter queue
/// after enough receives. The problem is recorded on the trigger (`triggers show`) and logged
/// with the message id, never the body. Every delivery of a message asks for the same jobs, so a
/// message delivered twice (or whose delete was lost) makes its jobs once.
struct MessageIngress: Sendable {
    let services: TrainyardServices
    let submitting: any TriggerJobSubmitting

    /// The longest reason recorded for a message that could not become jobs.
    static let maxReasonCharacters = 2000

    var logger: Logger { services.logger }

    /// Receives once (waiting up to the trigger's wait time) and handles what came. Errors of
    /// the receive itself (the queue is unreachable, does not exist, refuses the credentials)
    /// are thrown; each message's own problems are in the report.
    func receive(_ trigger: Trigger, _ source: SQSSource, from queue: any MessageQueue) async throws -> TriggerPassReport {
        await handle(try await fetch(source, from: queue), trigger: trigger, queue: queue)
    }

    /// One receive with the trigger's settings.
    func fetch(_ source: SQSSource, from queue: any MessageQueue) async throws -> [QueueMessage] {
        try await queue.receive(max: source.maxMessages, wait: .seconds(source.waitSeconds),
                                visibilityTimeout: source.visibilityTimeoutSeconds.map { .seconds($0) })
    }

    /// Handles `messages` one by one (at most the 10 a receive may return).
    func handle(_ messages: [QueueMessage], trigger: Trigger, queue: any MessageQueue) async -> TriggerPassReport {
        var report = TriggerPassReport()
        report.received = messages.count
        for message in messages.prefix(SQSSource.maxMaxMessages) {
            await handle(message, trigger: trigger, queue: queue, &report)
        }
        return report
    }

    func handle(_ message: QueueMessage, trigger: Trigger, queue: any MessageQueue, _ report: inout TriggerPassReport) async {
        let plan: MessagePlan
        do {
            plan = try MessagePlan.make(id: message.id, body: message.body, trigger: trigger.name, action: trigger.action,
                                        maxSpecBytes: services.configuration.limits.specBytes)
        } catch {
            await failed(message, trigger: trigger, because: TriggerEngine.message(error), &report)
            return
        }
        switch plan {
        case .ignore(let why):
            logger.info("trigger message needs nothing done; deleting it", metadata: metadata(trigger, message, ["trainyard.trigger.reason": .string(why)]))
            report.ignoredMessages.append(message.id)
        case .jobs(let jobs):
            for job in jobs {
                do {
                    let jobID = try await submit(job, trigger: trigger)
                    report.fired.append(.init(trigger: trigger.name, cause: .message(job.cause), jobID: jobID))
                } catch {
                    // Jobs of earlier records stay enqueued: the next delivery finds them by their keys.
                    let record = job.cause.record.map { "S3 event record \($0) (\(clientEcho(job.cause.file ?? ""))): " } ?? ""
                    await failed(message, trigger: trigger, because: record + TriggerEngine.message(error), &report)
                    return
                }
            }
        }
        do {
            try await queue.delete(message.receipt)
            report.deletedMessages.append(message.id)
        } catch {
            // The jobs are enqueued: the next delivery finds them by their keys and deletes it.
            await TriggerEngine.recordFailure(services: services, trigger, message: "message \(message.id): its jobs are enqueued but deleting it failed: "
                                              + "\(TriggerEngine.message(error)); it will be delivered again and find them", &report)
        }
    }

    /// Makes the job (or finds the one an earlier delivery made, in any process) and records
    /// the firing once, when the job is new.
    private func submit(_ job: MessageJob, trigger: Trigger) async throws -> JobID {
        let cause = TriggerFiring.Cause.message(job.cause)
        let key = TriggerFiring.idempotencyKey(trigger: trigger.name, triggerID: trigger.id, cause: cause)
        if let existing = try await services.store.job(idempotencyKey: key) { return existing.id }
        let firing = TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: cause, jobID: 0)
        let submittedBy = "trigger:\(trigger.name.rawValue)"
        let made: Job
        switch job.work {
        case .train(let spec, let base):
            made = try await submitting.submitTrain(spec, options: .init(baseDirectory: base.map { URL(fileURLWithPath: $0) }, submittedBy: submittedBy,
                                                                         access: trigger.dataAccess, idempotencyKey: key, origin: firing.origin))
        case .transform(let input):
            guard case .transform(let template) = trigger.action else {
                throw TrainyardError(.internal, "a transform job planned for a trigger without a transform request")
            }
            let request = try TriggerRequests.transform(template, placeholders: TriggerPlaceholders(name: trigger.name.rawValue, file: input), input: input)
            made = try await submitting.submitTransform(request, options: .init(submittedBy: submittedBy, access: trigger.dataAccess, baseDirectory: nil,
                                                                                idempotencyKey: key, origin: firing.origin))
        }
        logger.info("trigger fired", metadata: ["trainyard.trigger": .string(trigger.name.rawValue), "trainyard.job.id": .stringConvertible(made.id),
                                                "trainyard.trigger.cause": .string(TriggerEngine.describe(cause))])
        var recorded = firing
        recorded.jobID = made.id
        try await services.store.recordFiring(recorded)
        return made.id
    }

    private func failed(_ message: QueueMessage, trigger: Trigger, because reason: String, _ report: inout TriggerPassReport) async {
        // A spec's problems can run long: the recorded reason is bounded (the first ones say enough).
        await TriggerEngine.recordFailure(services: services, trigger, message: "message \(message.id) (delivery \(message.receiveCount)): "
                                          + "\(clientEcho(reason, limit: Self.maxReasonCharacters)); left on the queue (its redrive policy decides when it moves to the dead-letter queue)",
                                          &report)
    }

    private func metadata(_ trigger: Trigger, _ message: QueueMessage, _ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var m: Logger.Metadata = ["trainyard.trigger": .string(trigger.name.rawValue), "trainyard.trigger.message": .string(message.id),
                                  "trainyard.trigger.receive_count": .stringConvertible(message.receiveCount)]
        m.merge(extra) { $1 }
        return m
    }
}
