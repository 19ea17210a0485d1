import Foundation
import TrainyardCore

extension InMemoryMetadataStore {
    public func enqueue(_ request: EnqueueRequest) async throws -> Job {
        if let key = request.idempotencyKey { try EnqueueRequest.checkIdempotencyKey(key) }
        let job: Job
        if let key = request.idempotencyKey, let existing = jobIDsByIdempotencyKey[key] {
            job = try jobRow(existing).job
        } else {
            let now = clock.now()
            job = Job(id: JobID(jobRows.count + 1), kind: request.kind, state: .queued, model: request.spec.name, spec: request.spec,
                      priority: request.priority, attempt: 0, maxAttempts: 1 + request.spec.retries, runAfter: request.runAfter ?? now,
                      createdAt: now, submittedBy: request.submittedBy)
            jobRows.append(JobRow(job: job))
            if let key = request.idempotencyKey { jobIDsByIdempotencyKey[key] = job.id }
        }
        onChange()
        return job
    }

    public func dequeue(workerID: String, kinds: Set<JobKind>, leaseDuration: Duration) async throws -> Lease? {
        let now = clock.now()
        try reclaimExpiredLeases(now: now)
        var running: [JobKind: Int] = [:]
        for row in jobRows where row.job.state == .running { running[row.job.kind, default: 0] += 1 }
        let eligible = kinds.filter { RunningCap.admits(running: running[$0, default: 0], cap: runningCaps[$0]) }
        guard !eligible.isEmpty else { return nil }
        var best: QueuePosition?
        for row in jobRows where row.job.state == .queued && eligible.contains(row.job.kind) && row.job.runAfter <= now {
            let candidate = row.job.queuePosition
            if let b = best, b < candidate { continue }
            best = candidate
        }
        guard let id = best?.id else { return nil }
        let token = Self.newToken()
        let job = try transition(id, .lease(token: token, workerID: workerID, now: now, duration: leaseDuration), now: now)
        return Lease(token: LeaseToken(jobID: id, token: token, attempt: job.attempt), job: job, expiresAt: job.leaseExpiresAt!)
    }

    /// Returns jobs whose worker stopped heartbeating to the queue (or fails them when no
    /// attempts remain); a job asked to cancel whose worker vanished becomes `cancelled`.
    func reclaimExpiredLeases(now: Date) throws(TrainyardError) {
        for row in jobRows where row.job.state == .running {
            guard let expires = row.job.leaseExpiresAt, expires < now else { continue }
            try transition(row.job.id, .reclaim(now: now, unitRandom: Double.random(in: 0..<1)), now: now)
            leaseExpiryCounts[row.job.kind, default: 0] += 1
        }
    }

    public func heartbeat(_ lease: LeaseToken, leaseDuration: Duration, progress: JobProgress?) async throws -> HeartbeatReply {
        let now = clock.now()
        let job = try transition(lease.jobID, .heartbeat(token: lease.token, now: now, duration: leaseDuration, progress: progress), now: now)
        return HeartbeatReply(expiresAt: job.leaseExpiresAt!, cancelRequested: job.cancelRequested)
    }

    public func fail(_ lease: LeaseToken, reason: String, retryable: Bool) async throws -> Job {
        let now = clock.now()
        return try workerEvent(lease, .fail(token: lease.token, now: now, reason: reason, retryable: retryable,
                                            unitRandom: Double.random(in: 0..<1)), now: now)
    }

    public func acknowledgeCancellation(_ lease: LeaseToken) async throws -> Job {
        let now = clock.now()
        return try workerEvent(lease, .acknowledgeCancellation(token: lease.token, now: now), now: now)
    }

    public func release(_ lease: LeaseToken) async throws -> Job {
        let now = clock.now()
        return try workerEvent(lease, .release(token: lease.token, now: now), now: now)
    }

    func workerEvent(_ lease: LeaseToken, _ event: JobEvent, now: Date) throws(TrainyardError) -> Job {
        let job = try transition(lease.jobID, event, now: now)
        onChange()
        return job
    }

    public func cancel(_ id: JobID) async throws -> Job {
        let now = clock.now()
        let job = try transition(id, .requestCancellation(now: now), now: now)
        onChange()
        return job
    }

    public func job(idempotencyKey: String) async throws -> Job? {
        guard let id = jobIDsByIdempotencyKey[idempotencyKey] else { return nil }
        return try jobRow(id).job
    }

    public func job(_ id: JobID) async throws -> Job? {
        jobIndex(id).map { jobRows[$0].job }
    }

    public func jobs(_ filter: JobFilter) async throws -> [Job] {
        var found: [Job] = []
        let limit = filter.effectiveLimit
        // Newest first, as ids are handed out in order.
        for row in jobRows.reversed() {
            let job = row.job
            if let before = filter.beforeID, job.id >= before { continue }
            if !filter.states.isEmpty, !filter.states.contains(job.state) { continue }
            if let kind = filter.kind, job.kind != kind { continue }
            if let model = filter.model, job.model != model { continue }
            found.append(job)
            if found.count == limit { break }
        }
        return found
    }

    public func nextWakeup() async throws -> Date? {
        var earliest: Date?
        for row in jobRows {
            let at: Date? = switch row.job.state {
            case .queued: row.job.runAfter
            case .running: row.job.leaseExpiresAt
            default: nil
            }
            if let at, earliest.map({ at < $0 }) ?? true { earliest = at }
        }
        return earliest
    }

    public func setRunningCap(_ cap: Int?, for kind: JobKind) async throws {
        // An unchanged cap changes nothing and wakes no one (every process sets its caps at start).
        guard runningCaps[kind] != cap else { return }
        runningCaps[kind] = cap
        onChange()
    }

    // MARK: Logs

    public func appendLog(_ id: JobID, lines: [String]) async throws {
        insertLog(id, lines, now: clock.now())
    }

    public func logs(_ id: JobID, after sequence: Int64, limit: Int) async throws -> [LogLine] {
        guard let log = logRows[id] else { return [] }
        // Sequences are 1, 2, 3, … with no gaps, so the first line after `sequence` is at index `sequence`.
        let start = Int(min(max(sequence, 0), Int64(log.count)))
        // A negative limit means no limit, as SQL's LIMIT reads it.
        let end = limit < 0 || limit >= log.count - start ? log.count : start + limit
        return Array(log[start..<end])
    }
}
