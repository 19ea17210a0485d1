import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TrainyardCore

/// Fires the stored triggers: a `Service` that `trainyard up` and `trainyard server` run beside
/// the HTTP server. Every `pollInterval` it takes one look at every trigger (`pass`):
///
/// - **watch**: lists the folder, and a matching file fires once two looks at least the
///   trigger's settle time apart saw the same size and modification time (`SettleTracker`: a
///   half-written file waits; a burst of files settles and fires in one pass). A file is fired
///   once per identity (path + size + modification time): the store keeps the files each
///   trigger fired, so a restart does not fire them again. Files that arrive while a trigger is
///   paused fire after it is resumed (the folder is an inbox; nothing is lost).
///   An `s3://` prefix is listed through the data-objects port a slice per pass
///   (`triggers.max_keys_per_pass` keys, `WatchedObjects`), after the listing cursor persisted
///   with the trigger, so any number of processes and restarts continue where the last pass
///   stopped and wrap to the beginning at the end; an object fires once its size and ETag held
///   for the settle time, once per URI + size + ETag (an object overwritten with other bytes
///   fires again). See `TriggerEngine+Objects.swift`.
/// - **schedule**: when a slot after the last one fired (and after the trigger was created or
///   last resumed) has come, the latest such slot fires: after downtime, the missed slots fire
///   once, not once each. Slots that passed while paused are skipped.
/// - **sqs**: each active trigger has a poller of its own (started by the pass that first sees
///   it, stopped when it is paused or removed) that long-polls its queue and hands what comes to
///   `MessageIngress`: a message is deleted only after its jobs are enqueued. A queue that
///   cannot be read is recorded on the trigger and tried again after a doubling delay.
///
/// Never twice, however many processes run: each firing enqueues with an idempotency key
/// derived from the trigger and the file or slot (`TriggerFiring.idempotencyKey`), so two
/// servers firing the same file at once make one job; the job records the trigger and the file
/// or slot as its origin. A firing that fails (a bad template, a deleted model, a file the model
/// cannot score) is recorded on the trigger (`triggers show`) and retried after a delay that
/// doubles up to `retryMax`.
public final class TriggerService: Service, Sendable {
    public struct Options: Sendable {
        public var pollInterval: Duration
        /// Most files of one folder examined per pass; a larger backlog is worked through in
        /// name order, this many per pass.
        public var maxFilesPerPass: Int
        /// Most entries read from one folder per pass.
        public var maxFolderEntries: Int
        /// The first retry delay after a failed firing, doubling up to `retryMax`.
        public var retryBase: Duration
        public var retryMax: Duration
        /// Most keys listed from one watched `s3://` prefix per pass (`triggers.max_keys_per_pass`).
        public var maxKeysPerPass: Int
        /// Most objects of one watched prefix this process keeps in memory at once, in each of:
        /// those waiting to settle, those known fired, those waiting for a retry. Beyond it an
        /// object is picked up again at a later look (a cycle of the listing later): memory
        /// stays bounded whatever the prefix holds.
        public var maxTrackedObjects: Int

        public init(pollInterval: Duration = .seconds(1), maxFilesPerPass: Int = 10_000, maxFolderEntries: Int = 200_000,
                    retryBase: Duration = .seconds(5), retryMax: Duration = .seconds(300), maxKeysPerPass: Int = 1_000,
                    maxTrackedObjects: Int = 100_000) {
            self.pollInterval = pollInterval
            self.maxFilesPerPass = maxFilesPerPass
            self.maxFolderEntries = maxFolderEntries
            self.retryBase = retryBase
            self.retryMax = retryMax
            self.maxKeysPerPass = maxKeysPerPass
            self.maxTrackedObjects = maxTrackedObjects
        }

        /// The configured `triggers.*` settings.
        public init(_ configured: TriggerOptions) {
            self.init(pollInterval: configured.pollInterval, maxFilesPerPass: configured.maxFilesPerLook, retryMax: configured.retryMax,
                      maxKeysPerPass: configured.maxKeysPerPass)
        }
    }

    public let services: TrainyardServices
    public let options: Options
    private let engine: TriggerEngine
    private let ingress: MessageIngress
    private let pollers = MessagePollers()
    private let wakeup = WakeupSignal()
    private let stopping = Atomic<Bool>(false)

    /// - Parameters:
    ///   - options: nil for the configuration's `triggers.*`.
    ///   - submitting: where jobs go (default: the services' transform and job submitters).
    public init(services: TrainyardServices, options: Options? = nil, submitting: (any TriggerJobSubmitting)? = nil) {
        let options = options ?? Options(services.configuration.triggers)
        self.services = services
        self.options = options
        let submitting = submitting ?? StandardTriggerJobSubmitting(services: services)
        engine = TriggerEngine(services: services, options: options, submitting: submitting)
        ingress = MessageIngress(services: services, submitting: submitting)
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while !stopping.load(ordering: .acquiring) && !Task.isCancelled {
                    _ = await engine.pass()
                    for trigger in pollers.start(await engine.activeSQSTriggers) {
                        group.addTask { await self.poll(trigger) }
                    }
                    await wakeup.wait(timeout: options.pollInterval)
                }
                // Ends the pollers' receives; a message being handled is finished first.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
            self.wakeup.signal()
        }
    }

    /// One look at every trigger; what is due fires. `run` calls it every `pollInterval`;
    /// tests call it directly, moving the services' clock between calls. `sqs` triggers are
    /// read by their pollers, not here (`receiveMessages`).
    @discardableResult
    public func pass() async -> TriggerPassReport { await engine.pass() }

    /// One receive from the queue of the `sqs` trigger `name` (waiting up to its wait time) and
    /// the handling of every message that came: what each poller does in a loop. Tests call it
    /// directly. Throws when the trigger is not an active sqs trigger or its queue cannot be read.
    @discardableResult
    public func receiveMessages(_ name: TriggerName) async throws -> TriggerPassReport {
        guard let trigger = try await services.store.trigger(name) else { throw TrainyardError.notFound("trigger \(name)") }
        guard case .sqs(let source) = trigger.source, !trigger.paused else {
            throw TrainyardError(.invalidArgument, "trigger \(name) is not an active sqs trigger")
        }
        return try await ingress.receive(trigger, source, from: try openQueue(source))
    }

    private func openQueue(_ source: SQSSource) throws -> any MessageQueue {
        guard let queues = services.messageQueues else {
            throw TrainyardError(.unavailable, "this process has no message-queue backend to read \(source.queueURL)")
        }
        return try queues.queue(url: source.queueURL)
    }

    /// The loop of one sqs trigger's poller: receive and handle until the trigger is paused,
    /// removed or the service stops. A failed receive is recorded on the trigger and tried again
    /// after a delay doubling from `retryBase` to `retryMax`; an empty receive that came back
    /// sooner than `pollInterval` (a short poll) waits out the rest before the next.
    private func poll(_ trigger: Trigger) async {
        defer { pollers.finished(trigger.id) }
        guard case .sqs(let source) = trigger.source else { return }
        var failures = 0
        var queue: (any MessageQueue)?
        while pollers.isWanted(trigger.id) && !stopping.load(ordering: .acquiring) && !Task.isCancelled {
            do {
                let opened = try queue ?? openQueue(source)
                queue = opened
                let started = ContinuousClock.now
                let messages = try await ingress.fetch(source, from: opened)
                failures = 0
                // Paused or removed during the wait: what came is left to come back (not deleted).
                guard pollers.isWanted(trigger.id) else { break }
                if !messages.isEmpty {
                    // Not cancelled with the receive: a message half handled would only come back.
                    let ingress = self.ingress
                    _ = await Task { await ingress.handle(messages, trigger: trigger, queue: opened) }.value
                } else if case let elapsed = ContinuousClock.now - started, elapsed < options.pollInterval {
                    // A short poll (wait 0 s), or an endpoint that answers at once: no busy loop.
                    try await Task.sleep(for: options.pollInterval - elapsed)
                }
            } catch {
                if Task.isCancelled || stopping.load(ordering: .acquiring) { return }
                failures += 1
                let delay = min(options.retryBase.seconds * pow(2, Double(min(failures - 1, 30))), options.retryMax.seconds)
                var report = TriggerPassReport()
                await TriggerEngine.recordFailure(services: services, trigger, message: "queue \(source.queueURL): \(TriggerEngine.message(error)) "
                                                  + "(tried again in \(Int(delay)) s)", &report)
                try? await Task.sleep(for: .seconds(delay))
            }
        }
    }
}

/// What one pass did.
public struct TriggerPassReport: Sendable, Equatable {
    public struct Fired: Sendable, Equatable {
        public var trigger: TriggerName
        public var cause: TriggerFiring.Cause
        public var jobID: JobID
    }

    public struct Failure: Sendable, Equatable {
        public var trigger: TriggerName
        public var message: String
    }

    public var fired: [Fired] = []
    public var failures: [Failure] = []
    /// sqs: messages received, and the ids of those deleted (their jobs enqueued, or nothing
    /// to do) and of those that needed nothing done (`s3:TestEvent`).
    public var received = 0
    public var deletedMessages: [String] = []
    public var ignoredMessages: [String] = []
}

/// The passes' state: what each watch has seen, what it knows was fired, the retry delays.
actor TriggerEngine {
    let services: TrainyardServices
    let options: TriggerService.Options
    let submitting: any TriggerJobSubmitting
    /// One pass at a time (the actor alone would interleave two passes at their awaits): a
    /// pass in progress, and the passes waiting for it.
    private var passing = false
    private var waitingPasses: [CheckedContinuation<Void, Never>] = []

    struct WatchState {
        var triggerID: Int64
        var settle = SettleTracker()
        /// Path → identity of files known to be fired (asked of the store once per identity).
        var fired: [String: String] = [:]
        /// Path → retry key of files whose firing failed (forgotten with the file).
        var retrying: [String: String] = [:]
        var cursor: String?
    }

    var watches: [TriggerName: WatchState] = [:]
    /// The sqs triggers that are not paused, as the last pass read them: their pollers run.
    private(set) var activeSQSTriggers: [Trigger] = []
    /// Per schedule trigger: the base its next slot was computed from, and that slot.
    private var nextSlots: [Int64: (base: Date, next: Date?)] = [:]
    var retries: TriggerRetries

    init(services: TrainyardServices, options: TriggerService.Options, submitting: any TriggerJobSubmitting) {
        self.services = services
        self.options = options
        self.submitting = submitting
        retries = TriggerRetries(base: options.retryBase, max: options.retryMax)
    }

    var logger: Logger { services.logger }

    func pass() async -> TriggerPassReport {
        while passing {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in waitingPasses.append(waiter) }
        }
        passing = true
        defer {
            passing = false
            if !waitingPasses.isEmpty { waitingPasses.removeFirst().resume() }
        }
        return await passOnce()
    }

    private func passOnce() async -> TriggerPassReport {
        var report = TriggerPassReport()
        let triggers: [Trigger]
        do {
            triggers = try await services.store.triggers()
        } catch {
            logger.warning("triggers: cannot read the triggers from the store: \(error)")
            return report
        }
        forgetStateOfTriggersGone(triggers)
        activeSQSTriggers = triggers.filter { $0.kind == .sqs && !$0.paused }
        for trigger in triggers where !trigger.paused {
            switch trigger.source {
            case .watch(let source):
                if let objects = source.objects {
                    await passObjectWatch(trigger, source, objects, &report)
                } else {
                    await passWatch(trigger, source, &report)
                }
            case .schedule(let source): await passSchedule(trigger, source, &report)
            case .sqs: continue  // read by its poller
            }
        }
        return report
    }

    /// Drops what is kept for triggers that were removed, replaced (a new id) or paused (their
    /// observations start afresh on resume).
    private func forgetStateOfTriggersGone(_ triggers: [Trigger]) {
        let active = Dictionary(triggers.filter { !$0.paused }.map { ($0.name, $0.id) }, uniquingKeysWith: { a, _ in a })
        watches = watches.filter { active[$0.key] == $0.value.triggerID }
        let ids = Set(active.values)
        nextSlots = nextSlots.filter { ids.contains($0.key) }
        retries.keepOnly { key in ids.contains(Int64(key.prefix { $0 != ":" }) ?? -1) }
    }

    // MARK: Watch

    private func passWatch(_ trigger: Trigger, _ source: WatchSource, _ report: inout TriggerPassReport) async {
        let now = services.clock.now()
        let folderKey = "\(trigger.id):folder"
        guard retries.isDue(folderKey, now: now) else { return }
        var state = watches[trigger.name] ?? WatchState(triggerID: trigger.id)
        defer { watches[trigger.name] = state }
        let folder = WatchedFolder(path: source.path, glob: source.glob)
        let cursor = state.cursor, limit = options.maxFilesPerPass, maxEntries = options.maxFolderEntries
        let look: WatchedFolder.Look
        do {
            look = try await runBlocking { try folder.look(after: cursor, limit: limit, maxEntries: maxEntries) }
        } catch {
            retries.failed(folderKey, now: now)
            await recordFailure(trigger, message: Self.message(error), &report)
            return
        }
        retries.succeeded(folderKey)
        if look.truncated {
            await recordFailure(trigger, message: "watch folder \(source.path) holds more than \(maxEntries) entries; only that many are read per look: move processed files away",
                                &report)
        }
        state.cursor = look.cursor
        let present = Set(look.names.map { source.path == "/" ? "/" + $0 : source.path + "/" + $0 })
        state.settle.keepOnly(present)
        state.fired = state.fired.filter { present.contains($0.key) }
        for (path, key) in state.retrying where !present.contains(path) {
            retries.succeeded(key)
            state.retrying[path] = nil
        }
        for file in look.files {
            guard state.settle.observe(file, at: now, settle: source.settleSeconds) else { continue }
            let identity = file.identity(trigger: trigger.id)
            if state.fired[file.path] == identity { continue }
            let retryKey = "\(trigger.id):file:\(identity)"
            guard retries.isDue(retryKey, now: now) else { continue }
            do {
                if try await services.store.firedFile(trigger: trigger.id, identity: identity) == nil {
                    let firing = try await fire(trigger, cause: .file(file))
                    report.fired.append(.init(trigger: trigger.name, cause: firing.cause, jobID: firing.jobID))
                }
                state.fired[file.path] = identity
                retries.succeeded(retryKey)
                if let previous = state.retrying.removeValue(forKey: file.path) { retries.succeeded(previous) }
            } catch {
                let next = retries.failed(retryKey, now: now)
                // A file rewritten after a failure is another file (its own key, tried at once):
                // the old file's delay is dropped.
                if let previous = state.retrying[file.path], previous != retryKey { retries.succeeded(previous) }
                state.retrying[file.path] = retryKey
                await recordFailure(trigger, message: "file \(file.path): \(Self.message(error)) (retried after \(next.ISO8601Format()))", &report)
            }
        }
    }

    // MARK: Schedule

    private func passSchedule(_ trigger: Trigger, _ source: ScheduleSource, _ report: inout TriggerPassReport) async {
        let now = services.clock.now()
        let base = max(trigger.status.lastSlot ?? trigger.activeSince, trigger.activeSince)
        // The next slot after `base` is computed once; until it comes there is nothing to do.
        if let cached = nextSlots[trigger.id], cached.base == base, cached.next.map({ $0 > now }) ?? true { return }
        guard let slot = source.dueSlot(lastSlot: trigger.status.lastSlot, activeSince: trigger.activeSince, now: now) else {
            nextSlots[trigger.id] = (base, source.cron.next(after: base, in: source.timeZone))
            return
        }
        let retryKey = "\(trigger.id):slot:\(slot.timeIntervalSince1970)"
        // Only the slot due now is retried: a later slot replaces an earlier one that failed.
        retries.keepOnly { !$0.hasPrefix("\(trigger.id):slot:") || $0 == retryKey }
        guard retries.isDue(retryKey, now: now) else { return }
        do {
            let firing = try await fire(trigger, cause: .slot(slot))
            report.fired.append(.init(trigger: trigger.name, cause: firing.cause, jobID: firing.jobID))
            retries.succeeded(retryKey)
        } catch {
            let next = retries.failed(retryKey, now: now)
            await recordFailure(trigger, message: "slot \(TriggerPlaceholders.format(slot: slot)): \(Self.message(error)) (retried after \(next.ISO8601Format()))",
                                &report)
        }
    }

    // MARK: Firing

    /// Makes the job for `cause` (or finds the one an earlier firing made, in any process) and
    /// records the firing.
    func fire(_ trigger: Trigger, cause: TriggerFiring.Cause) async throws -> TriggerFiring {
        let key = TriggerFiring.idempotencyKey(trigger: trigger.name, triggerID: trigger.id, cause: cause)
        let job: Job
        if let existing = try await services.store.job(idempotencyKey: key) {
            job = existing
        } else {
            job = try await submit(trigger, cause: cause, key: key)
            logger.info("trigger fired", metadata: ["trainyard.trigger": .string(trigger.name.rawValue), "trainyard.job.id": .stringConvertible(job.id),
                                                    "trainyard.trigger.cause": .string(Self.describe(cause))])
        }
        let firing = TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: cause, jobID: job.id)
        try await services.store.recordFiring(firing)
        return firing
    }

    private func submit(_ trigger: Trigger, cause: TriggerFiring.Cause, key: String) async throws -> Job {
        let origin = TriggerFiring(trigger: trigger.name, triggerID: trigger.id, cause: cause, jobID: 0).origin
        var placeholders = TriggerPlaceholders(name: trigger.name.rawValue)
        var input: String?
        switch cause {
        case .file(let file):
            placeholders.file = file.path
            input = file.path
        case .slot(let slot):
            placeholders.slot = slot
        case .message(let message):
            // Messages are submitted by `MessageIngress`; an S3 object is the file here too.
            placeholders.file = message.file
            input = message.file
        }
        let submittedBy = "trigger:\(trigger.name.rawValue)"
        switch trigger.action {
        case .transform(let template):
            let request = try TriggerRequests.transform(template, placeholders: placeholders, input: input)
            return try await submitting.submitTransform(request, options: .init(submittedBy: submittedBy, access: trigger.dataAccess, baseDirectory: nil,
                                                                                idempotencyKey: key, origin: origin))
        case .train(let template):
            let text = try TriggerRequests.spec(template, placeholders: placeholders)
            return try await submitting.submitTrain(text, options: .init(baseDirectory: template.baseDirectory.map { URL(fileURLWithPath: $0) },
                                                                         submittedBy: submittedBy, access: trigger.dataAccess, idempotencyKey: key,
                                                                         origin: origin))
        }
    }

    func recordFailure(_ trigger: Trigger, message: String, _ report: inout TriggerPassReport) async {
        await Self.recordFailure(services: services, trigger, message: message, &report)
    }

    /// Reports, logs and records on the trigger (`triggers show`) why it could not fire.
    static func recordFailure(services: TrainyardServices, _ trigger: Trigger, message: String, _ report: inout TriggerPassReport) async {
        report.failures.append(.init(trigger: trigger.name, message: message))
        services.logger.warning("trigger could not fire", metadata: ["trainyard.trigger": .string(trigger.name.rawValue), "error.description": .string(message)])
        do {
            try await services.store.recordTriggerError(trigger.name, triggerID: trigger.id, message: message)
        } catch {
            services.logger.warning("triggers: cannot record the error of \(trigger.name): \(error)")
        }
    }

    static func message(_ error: any Error) -> String {
        if let e = error as? TrainyardError { return e.description }
        return String(describing: error)
    }

    static func describe(_ cause: TriggerFiring.Cause) -> String {
        switch cause {
        case .file(let f): "file \(f.path)"
        case .slot(let s): "slot \(TriggerPlaceholders.format(slot: s))"
        case .message(let m): "message \(m.id)" + (m.record.map { " record \($0)" } ?? "") + (m.file.map { " (\($0))" } ?? "")
        }
    }
}
