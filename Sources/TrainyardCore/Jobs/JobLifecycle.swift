import Foundation

/// The lifecycle fields of a stored job: what the state machine reads and writes.
///
/// A store loads these from its row, asks `JobLifecycle` what an event does, and writes the
/// returned record back in the same transaction. The rules (which state may follow which, what
/// a lease allows, when a failure is retried) live here once, as values, for every store.
public struct JobRecord: Sendable, Equatable {
    public var state: JobState
    /// Attempts started so far.
    public var attempt: Int
    public var maxAttempts: Int
    public var runAfter: Date
    public var leaseToken: String?
    public var leaseExpiresAt: Date?
    public var workerID: String?
    public var cancelRequested: Bool
    public var failureReason: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var resultVersion: Int?
    /// Cleared when a new attempt starts; heartbeats replace it.
    public var progress: JobProgress?

    public init(state: JobState = .queued, attempt: Int = 0, maxAttempts: Int = 1, runAfter: Date, leaseToken: String? = nil,
                leaseExpiresAt: Date? = nil, workerID: String? = nil, cancelRequested: Bool = false, failureReason: String? = nil,
                startedAt: Date? = nil, finishedAt: Date? = nil, resultVersion: Int? = nil, progress: JobProgress? = nil) {
        self.state = state
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.runAfter = runAfter
        self.leaseToken = leaseToken
        self.leaseExpiresAt = leaseExpiresAt
        self.workerID = workerID
        self.cancelRequested = cancelRequested
        self.failureReason = failureReason
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.resultVersion = resultVersion
        self.progress = progress
    }

    /// Whether `token` is this job's current lease at `now` (the fence every worker write passes).
    public func holds(_ token: String, at now: Date) -> Bool {
        guard state == .running, leaseToken == token, let expires = leaseExpiresAt else { return false }
        return expires >= now
    }

    /// Refuses a worker's write unless `lease` is this job's current lease at `now`: the fence
    /// for the writes that are not lifecycle events (reserving a version, registering one).
    public func checkHeld(_ lease: LeaseToken, at now: Date) throws(TrainyardError) {
        guard holds(lease.token, at: now) else {
            throw TrainyardError(.leaseLost, "job \(lease.jobID): lease of attempt \(lease.attempt) is no longer held (state \(state.rawValue))")
        }
    }
}

/// Something that happens to a job.
public enum JobEvent: Sendable, Equatable {
    /// A worker takes the queued job (the store picked it: eligible, best priority).
    case lease(token: String, workerID: String, now: Date, duration: Duration)
    /// The worker is alive; extends the lease and replaces the progress when given.
    case heartbeat(token: String, now: Date, duration: Duration, progress: JobProgress?)
    /// The attempt succeeded (and registered `version`, if it produced one).
    case complete(token: String, now: Date, version: Int?)
    /// The attempt failed; `unitRandom` in [0, 1) feeds the retry jitter.
    case fail(token: String, now: Date, reason: String, retryable: Bool, unitRandom: Double)
    /// The worker stopped because cancellation was asked.
    case acknowledgeCancellation(token: String, now: Date)
    /// The worker gives the job back unstarted in effect (graceful shutdown): the attempt is not counted.
    case release(token: String, now: Date)
    /// Someone asked to cancel.
    case requestCancellation(now: Date)
    /// The lease ran out without a heartbeat: the worker is presumed dead.
    case reclaim(now: Date, unitRandom: Double)
}

/// What a store does besides writing the record back.
public enum JobEffect: Sendable, Equatable {
    /// Append this line to the job's log (in the same transaction).
    case log(String)
    /// The job became runnable: wake idle workers.
    case wakeWorkers
}

/// The job lifecycle as a state machine value: state × event → new record + effects.
///
/// ```
/// queued ──lease──▶ running ──complete──▶ succeeded
///   ▲  │              │ ├──fail (retry left, retryable)──▶ queued (run_after = backoff)
///   │  │              │ ├──fail (else) ─────────────────▶ failed
///   │  │              │ ├──reclaim (lease expired) ─────▶ queued / failed / cancelled
///   │  │              │ ├──acknowledgeCancellation ─────▶ cancelled
///   │  │              └─┴──release ─────────────────────▶ queued (attempt not counted)
///   │  └──requestCancellation──▶ cancelled
/// ```
/// A worker's events carry its lease token; a token that is not the current lease at `now`
/// is refused with `.leaseLost`, which is what fences a stale attempt out.
public struct JobLifecycle: Sendable {
    public var retryPolicy: RetryPolicy

    public init(retryPolicy: RetryPolicy = RetryPolicy()) { self.retryPolicy = retryPolicy }

    public struct Transition: Sendable, Equatable {
        public var record: JobRecord
        public var effects: [JobEffect]
    }

    /// - Parameter jobID: only for error messages.
    public func apply(_ event: JobEvent, to record: JobRecord, jobID: JobID) throws(TrainyardError) -> Transition {
        var r = record
        switch event {
        case .lease(let token, let workerID, let now, let duration):
            guard r.state == .queued, !r.cancelRequested else {
                throw TrainyardError(.conflict, "job \(jobID) is \(r.state.rawValue); only a queued job can be leased")
            }
            guard r.runAfter <= now else { throw TrainyardError(.conflict, "job \(jobID) is not due before \(r.runAfter)") }
            r.state = .running
            r.attempt += 1
            r.leaseToken = token
            r.leaseExpiresAt = now.addingTimeInterval(duration.seconds)
            r.workerID = workerID
            r.startedAt = now
            r.progress = nil
            // Written with the lease itself: an attempt whose worker dies in its first second
            // still leaves its start in the job's log, at no extra write.
            return Transition(record: r, effects: [.log("attempt \(r.attempt) of \(r.maxAttempts) started on \(workerID)")])

        case .heartbeat(let token, let now, let duration, let progress):
            try fence(r, token, now, jobID)
            r.leaseExpiresAt = now.addingTimeInterval(duration.seconds)
            if let progress { r.progress = progress }
            return Transition(record: r, effects: [])

        case .complete(let token, let now, let version):
            try fence(r, token, now, jobID)
            r.state = .succeeded
            r.finishedAt = now
            r.resultVersion = version
            // The job succeeded: an earlier attempt's failure stays in the log, not on the job.
            r.failureReason = nil
            endLease(&r)
            return Transition(record: r, effects: [])

        case .fail(let token, let now, let reason, let retryable, let unitRandom):
            try fence(r, token, now, jobID)
            return failed(r, now: now, reason: reason, retryable: retryable, unitRandom: unitRandom, effects: [])

        case .acknowledgeCancellation(let token, let now):
            try fence(r, token, now, jobID)
            r.state = .cancelled
            r.finishedAt = now
            endLease(&r)
            return Transition(record: r, effects: [])

        case .release(let token, let now):
            try fence(r, token, now, jobID)
            r.state = .queued
            r.attempt = max(0, r.attempt - 1)
            r.runAfter = now
            endLease(&r)
            r.workerID = nil
            return Transition(record: r, effects: [.wakeWorkers])

        case .requestCancellation(let now):
            switch r.state {
            case .queued:
                r.state = .cancelled
                r.cancelRequested = true
                r.finishedAt = now
            case .running:
                r.cancelRequested = true
            case .succeeded, .failed, .cancelled:
                throw TrainyardError(.conflict, "job \(jobID) is already \(r.state.rawValue)")
            }
            return Transition(record: r, effects: [])

        case .reclaim(let now, let unitRandom):
            guard r.state == .running, let expires = r.leaseExpiresAt, expires < now else {
                throw TrainyardError(.conflict, "job \(jobID) holds a live lease or is not running")
            }
            let worker = r.workerID ?? "?"
            let reason = "lease expired: worker \(worker) stopped heartbeating (attempt \(r.attempt))"
            // The job's own log says so: the worker that lost it may never write again.
            let note = JobEffect.log("attempt \(r.attempt) lost its lease (worker \(worker) stopped heartbeating)")
            return failed(r, now: now, reason: reason, retryable: true, unitRandom: unitRandom, effects: [note])
        }
    }

    /// A failed attempt: cancelled if cancellation was asked, else retried with backoff while
    /// attempts remain and the failure is retryable, else failed for good.
    func failed(_ record: JobRecord, now: Date, reason: String, retryable: Bool, unitRandom: Double, effects: [JobEffect]) -> Transition {
        var r = record
        r.failureReason = reason
        if r.cancelRequested {
            r.state = .cancelled
            r.finishedAt = now
            endLease(&r)
            return Transition(record: r, effects: effects)
        }
        switch retryPolicy.decide(attempt: r.attempt, maxAttempts: r.maxAttempts, retryable: retryable, unitRandom: unitRandom) {
        case .retry(let delay):
            r.state = .queued
            r.runAfter = now.addingTimeInterval(delay.seconds)
            endLease(&r)
            r.workerID = nil
            return Transition(record: r, effects: effects + [.wakeWorkers])
        case .fail:
            r.state = .failed
            r.finishedAt = now
            endLease(&r)
            return Transition(record: r, effects: effects)
        }
    }

    func fence(_ r: JobRecord, _ token: String, _ now: Date, _ jobID: JobID) throws(TrainyardError) {
        guard r.holds(token, at: now) else {
            throw TrainyardError(.leaseLost, "job \(jobID): this lease is no longer held (state \(r.state.rawValue))")
        }
    }

    func endLease(_ r: inout JobRecord) {
        r.leaseToken = nil
        r.leaseExpiresAt = nil
    }
}
