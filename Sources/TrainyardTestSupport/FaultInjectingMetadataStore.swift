import Foundation
import Synchronization
import TrainyardCore

/// A `MetadataStore` that forwards to `base` until told the store is unreachable
/// (`setUnreachable(true)`): every call then throws `TrainyardError(.unavailable)` before
/// reaching `base`, as a lost database connection would; or until told it hangs
/// (`setHanging(true)`): every call then waits until it is cancelled, as a store that accepted
/// the connection and never answers. Counts the calls it refused, and the `fail` calls that
/// went through (a worker must not fail jobs because of an outage).
public final class FaultInjectingMetadataStore: MetadataStore {
    public let base: any MetadataStore
    private struct State {
        var unreachable = false
        var hanging = false
        var refused: [String: Int] = [:]
        var failCalls = 0
        var nextLeasesGranted = 0
        var afterLeasingCompletion: (@Sendable () async -> Void)?
    }
    private let state = Mutex(State())

    public init(base: any MetadataStore) { self.base = base }

    public func setUnreachable(_ unreachable: Bool) { state.withLock { $0.unreachable = unreachable } }
    public func setHanging(_ hanging: Bool) { state.withLock { $0.hanging = hanging } }
    public var isUnreachable: Bool { state.withLock { $0.unreachable } }
    /// Calls refused while unreachable or hanging, by method name.
    public var refusedCalls: [String: Int] { state.withLock { $0.refused } }
    /// `fail` calls that reached `base`.
    public var failCalls: Int { state.withLock { $0.failCalls } }
    /// Runs `hook` after each completion asked to lease the next job has returned (a worker told
    /// to stop just then, say).
    public func setAfterLeasingCompletion(_ hook: @escaping @Sendable () async -> Void) {
        state.withLock { $0.afterLeasingCompletion = hook }
    }
    /// Completions that leased the worker's next job.
    public var nextLeasesGranted: Int { state.withLock { $0.nextLeasesGranted } }

    private func check(_ method: String) async throws {
        let hanging = try state.withLock { s -> Bool in
            if method == "fail" && !s.unreachable && !s.hanging { s.failCalls += 1 }
            guard s.unreachable || s.hanging else { return false }
            s.refused[method, default: 0] += 1
            if s.unreachable { throw TrainyardError(.unavailable, "injected fault: the metadata store is unreachable (\(method))") }
            return true
        }
        if hanging {
            // Until cancelled (a caller's timeout); a store that never answers.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(60)) }
            throw TrainyardError(.unavailable, "injected fault: the metadata store did not answer (\(method))")
        }
    }

    public func enqueue(_ request: EnqueueRequest) async throws -> Job {
        try await check("enqueue")
        return try await base.enqueue(request)
    }
    public func job(idempotencyKey: String) async throws -> Job? {
        try await check("job")
        return try await base.job(idempotencyKey: idempotencyKey)
    }
    public func dequeue(workerID: String, kinds: Set<JobKind>, leaseDuration: Duration) async throws -> Lease? {
        try await check("dequeue")
        return try await base.dequeue(workerID: workerID, kinds: kinds, leaseDuration: leaseDuration)
    }
    public func heartbeat(_ lease: LeaseToken, leaseDuration: Duration, progress: JobProgress?) async throws -> HeartbeatReply {
        try await check("heartbeat")
        return try await base.heartbeat(lease, leaseDuration: leaseDuration, progress: progress)
    }
    public func complete(_ lease: LeaseToken, registration: VersionRegistration?, finalLog: [String]) async throws -> CompletionOutcome {
        try await check("complete")
        return try await base.complete(lease, registration: registration, finalLog: finalLog)
    }
    public func complete(_ lease: LeaseToken, registration: VersionRegistration?, finalLog: [String],
                         leasingNext next: NextLeaseRequest) async throws -> (CompletionOutcome, Lease?) {
        try await check("complete")
        let (outcome, granted) = try await base.complete(lease, registration: registration, finalLog: finalLog, leasingNext: next)
        let hook = state.withLock { s in
            if granted != nil { s.nextLeasesGranted += 1 }
            return s.afterLeasingCompletion
        }
        await hook?()
        return (outcome, granted)
    }
    public func fail(_ lease: LeaseToken, reason: String, retryable: Bool) async throws -> Job {
        try await check("fail")
        return try await base.fail(lease, reason: reason, retryable: retryable)
    }
    public func acknowledgeCancellation(_ lease: LeaseToken) async throws -> Job {
        try await check("acknowledgeCancellation")
        return try await base.acknowledgeCancellation(lease)
    }
    public func release(_ lease: LeaseToken) async throws -> Job {
        try await check("release")
        return try await base.release(lease)
    }
    public func cancel(_ id: JobID) async throws -> Job {
        try await check("cancel")
        return try await base.cancel(id)
    }
    public func job(_ id: JobID) async throws -> Job? {
        try await check("job")
        return try await base.job(id)
    }
    public func jobs(_ filter: JobFilter) async throws -> [Job] {
        try await check("jobs")
        return try await base.jobs(filter)
    }
    public func nextWakeup() async throws -> Date? {
        try await check("nextWakeup")
        return try await base.nextWakeup()
    }
    public func setRunningCap(_ cap: Int?, for kind: JobKind) async throws {
        try await check("setRunningCap")
        try await base.setRunningCap(cap, for: kind)
    }
    public func appendLog(_ id: JobID, lines: [String]) async throws {
        try await check("appendLog")
        try await base.appendLog(id, lines: lines)
    }
    public func logs(_ id: JobID, after sequence: Int64, limit: Int) async throws -> [LogLine] {
        try await check("logs")
        return try await base.logs(id, after: sequence, limit: limit)
    }
    public func reserveVersion(_ lease: LeaseToken) async throws -> Int {
        try await check("reserveVersion")
        return try await base.reserveVersion(lease)
    }
    public func models() async throws -> [ModelSummary] {
        try await check("models")
        return try await base.models()
    }
    public func model(_ name: ModelName) async throws -> ModelSummary? {
        try await check("model")
        return try await base.model(name)
    }
    public func versions(of name: ModelName) async throws -> [ModelVersion] {
        try await check("versions")
        return try await base.versions(of: name)
    }
    public func version(_ name: ModelName, _ number: Int) async throws -> ModelVersion? {
        try await check("version")
        return try await base.version(name, number)
    }
    public func resolve(_ reference: ModelReference) async throws -> ModelVersion {
        try await check("resolve")
        return try await base.resolve(reference)
    }
    public func aliases(of name: ModelName) async throws -> [Alias] {
        try await check("aliases")
        return try await base.aliases(of: name)
    }
    @discardableResult
    public func setAlias(_ alias: AliasName, of name: ModelName, to version: Int, actor: String, reason: String?) async throws -> Alias {
        try await check("setAlias")
        return try await base.setAlias(alias, of: name, to: version, actor: actor, reason: reason)
    }
    public func deleteAlias(_ alias: AliasName, of name: ModelName, actor: String) async throws {
        try await check("deleteAlias")
        try await base.deleteAlias(alias, of: name, actor: actor)
    }
    public func aliasEvents(of name: ModelName) async throws -> [AliasEvent] {
        try await check("aliasEvents")
        return try await base.aliasEvents(of: name)
    }
    public func setStatus(_ status: VersionStatus, of name: ModelName, version: Int) async throws -> ModelVersion {
        try await check("setStatus")
        return try await base.setStatus(status, of: name, version: version)
    }
    public func deleteVersion(_ name: ModelName, version: Int) async throws {
        try await check("deleteVersion")
        try await base.deleteVersion(name, version: version)
    }
    public func setTags(_ tags: [String: String], of name: ModelName, version: Int) async throws -> ModelVersion {
        try await check("setTags")
        return try await base.setTags(tags, of: name, version: version)
    }
    public func createTrigger(_ definition: TriggerDefinition, createdBy: String) async throws -> Trigger {
        try await check("createTrigger")
        return try await base.createTrigger(definition, createdBy: createdBy)
    }
    public func trigger(_ name: TriggerName) async throws -> Trigger? {
        try await check("trigger")
        return try await base.trigger(name)
    }
    public func triggers() async throws -> [Trigger] {
        try await check("triggers")
        return try await base.triggers()
    }
    public func setTriggerPaused(_ name: TriggerName, paused: Bool) async throws -> Trigger {
        try await check("setTriggerPaused")
        return try await base.setTriggerPaused(name, paused: paused)
    }
    public func deleteTrigger(_ name: TriggerName) async throws {
        try await check("deleteTrigger")
        try await base.deleteTrigger(name)
    }
    public func firedFile(trigger triggerID: Int64, identity: String) async throws -> FiredFile? {
        try await check("firedFile")
        return try await base.firedFile(trigger: triggerID, identity: identity)
    }
    @discardableResult
    public func recordFiring(_ firing: TriggerFiring) async throws -> Bool {
        try await check("recordFiring")
        return try await base.recordFiring(firing)
    }
    public func recordTriggerError(_ name: TriggerName, triggerID: Int64, message: String) async throws {
        try await check("recordTriggerError")
        try await base.recordTriggerError(name, triggerID: triggerID, message: message)
    }
    public func recordListingCursor(_ name: TriggerName, triggerID: Int64, cursor: String?) async throws {
        try await check("recordListingCursor")
        try await base.recordListingCursor(name, triggerID: triggerID, cursor: cursor)
    }
    public func queueCounts() async throws -> QueueCounts {
        try await check("queueCounts")
        return try await base.queueCounts()
    }
    public func ping() async throws {
        try await check("ping")
        try await base.ping()
    }
}
