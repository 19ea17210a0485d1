import Foundation
import GRDB
import TrainyardCore

extension SQLiteMetadataStore {
    public func enqueue(_ request: EnqueueRequest) async throws -> Job {
        let specText = try JSON.encodeString(request.spec)
        let now = self.now
        let runAfter = request.runAfter?.timeIntervalSince1970 ?? now
        if let key = request.idempotencyKey { try EnqueueRequest.checkIdempotencyKey(key) }
        let job = try await writeTransaction { [t] db -> Job in
            if let key = request.idempotencyKey,
               let existing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM \(t.jobs) WHERE idempotency_key = ?"), arguments: [key]) {
                return try Self.fetchJob(db, t, existing)!
            }
            try db.cachedStatement(sql: """
                INSERT INTO \(t.jobs) (kind, state, model, spec, priority, max_attempts, run_after, created_at, submitted_by, idempotency_key)
                VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [request.kind.rawValue, request.spec.name.rawValue, specText, request.priority,
                                 1 + request.spec.retries, runAfter, now, request.submittedBy, request.idempotencyKey])
            return try Self.fetchJob(db, t, db.lastInsertedRowID)!
        }
        onChange()
        return job
    }

    public func dequeue(workerID: String, kinds: Set<JobKind>, leaseDuration: Duration) async throws -> Lease? {
        let now = self.now
        let token = Self.newToken()
        let lease = try await writeTransaction { [t, retryPolicy] db -> Lease? in
            try Self.reclaimExpiredLeases(db, t, now: now, retryPolicy: retryPolicy)
            // Kinds under their running cap.
            var eligible: [String] = []
            for kind in kinds.sorted(by: { $0.rawValue < $1.rawValue }) {
                if let cap = try Int.fetchOne(db.cachedStatement(sql: "SELECT cap FROM \(t.queueCaps) WHERE kind = ?"), arguments: [kind.rawValue]) {
                    let running = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM \(t.jobs) WHERE state = 'running' AND kind = ?"),
                                                   arguments: [kind.rawValue]) ?? 0
                    if !RunningCap.admits(running: running, cap: cap) { continue }
                }
                eligible.append(kind.rawValue)
            }
            guard !eligible.isEmpty else { return nil }
            // One ordered index probe per kind (LIMIT 1 on the (state, kind, priority, run_after,
            // id) index, which sorts as `QueuePosition` does), then the best of those by
            // `QueuePosition`: an `IN (…)` over kinds would sort every queued row.
            var best: QueuePosition?
            for kind in eligible {
                guard let row = try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT id, priority, run_after FROM \(t.jobs)
                    WHERE state = 'queued' AND kind = ? AND run_after <= ?
                    ORDER BY priority DESC, run_after, id LIMIT 1
                    """), arguments: [kind, now]) else { continue }
                let candidate = QueuePosition(priority: row[1], runAfter: Date(timeIntervalSince1970: row[2]), id: row[0])
                if let b = best, b < candidate { continue }
                best = candidate
            }
            guard let id = best?.id else { return nil }
            let event = JobEvent.lease(token: token, workerID: workerID, now: Date(timeIntervalSince1970: now), duration: leaseDuration)
            let job = try Self.transition(db, t, id, event, lifecycle: JobLifecycle(retryPolicy: retryPolicy), now: now)
            return Lease(token: LeaseToken(jobID: id, token: token, attempt: job.attempt), job: job, expiresAt: job.leaseExpiresAt!)
        }
        return lease
    }

    /// Returns jobs whose worker stopped heartbeating to the queue (or fails them when no
    /// attempts remain); a job asked to cancel whose worker vanished becomes `cancelled`.
    static func reclaimExpiredLeases(_ db: Database, _ t: TableNames, now: Double, retryPolicy: RetryPolicy) throws {
        let ids = try Int64.fetchAll(db.cachedStatement(sql: "SELECT id FROM \(t.jobs) WHERE state = 'running' AND lease_expires_at < ?"),
                                     arguments: [now])
        let lifecycle = JobLifecycle(retryPolicy: retryPolicy)
        for id in ids {
            let job = try transition(db, t, id, .reclaim(now: Date(timeIntervalSince1970: now), unitRandom: Double.random(in: 0..<1)),
                                     lifecycle: lifecycle, now: now)
            try db.cachedStatement(sql: "INSERT INTO \(t.leaseExpiries) (kind, count) VALUES (?, 1) ON CONFLICT(kind) DO UPDATE SET count = count + 1")
                .execute(arguments: [job.kind.rawValue])
        }
    }

    // MARK: Lifecycle persistence

    /// Applies `event` to job `id` as `JobLifecycle` decides, and persists the new record and
    /// its effects in the caller's transaction. The store holds no lifecycle rules of its own.
    @discardableResult
    static func transition(_ db: Database, _ t: TableNames, _ id: JobID, _ event: JobEvent, lifecycle: JobLifecycle, now: Double) throws -> Job {
        // One read of the whole row serves both the state machine and the returned job.
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(SQLiteRows.jobColumns) FROM \(t.jobs) WHERE id = ?"), arguments: [id]) else {
            throw TrainyardError.notFound("job \(id)")
        }
        var job = try SQLiteRows.job(row, specs: t.specs)
        let record = JobRecord(
            state: job.state, attempt: job.attempt, maxAttempts: job.maxAttempts, runAfter: job.runAfter, leaseToken: row[SQLiteRows.leaseTokenColumn],
            leaseExpiresAt: job.leaseExpiresAt, workerID: job.workerID, cancelRequested: job.cancelRequested,
            failureReason: job.failureReason, startedAt: job.startedAt, finishedAt: job.finishedAt, resultVersion: job.resultVersion,
            progress: job.progress)
        let next = try lifecycle.apply(event, to: record, jobID: id)
        let r = next.record
        try db.cachedStatement(sql: """
            UPDATE \(t.jobs) SET state = ?, attempt = ?, run_after = ?, lease_token = ?, lease_expires_at = ?, worker_id = ?,
                cancel_requested = ?, failure_reason = ?, started_at = ?, finished_at = ?, result_version = ?, progress = ?
            WHERE id = ?
            """).execute(arguments: [
                r.state.rawValue, r.attempt, r.runAfter.timeIntervalSince1970, r.leaseToken, r.leaseExpiresAt?.timeIntervalSince1970,
                r.workerID, r.cancelRequested ? 1 : 0, r.failureReason, r.startedAt?.timeIntervalSince1970,
                r.finishedAt?.timeIntervalSince1970, r.resultVersion,
                r.progress == record.progress ? row[SQLiteRows.progressColumn] as String? : try r.progress.map { try JSON.encodeString($0) }, id,
            ])
        for effect in next.effects {
            switch effect {
            case .log(let line): try insertLog(db, t, id, [line], now: now)
            case .wakeWorkers: break  // every write ends with onChange(), which wakes in-process workers
            }
        }
        job.state = r.state
        job.attempt = r.attempt
        job.runAfter = r.runAfter
        job.leaseExpiresAt = r.leaseExpiresAt
        job.workerID = r.workerID
        job.cancelRequested = r.cancelRequested
        job.failureReason = r.failureReason
        job.startedAt = r.startedAt
        job.finishedAt = r.finishedAt
        job.resultVersion = r.resultVersion
        job.progress = r.progress
        return job
    }

    /// Checks the lease is current; throws `.leaseLost` if the job moved on without this worker.
    static func checkLease(_ db: Database, _ t: TableNames, _ lease: LeaseToken, now: Double) throws {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT state, lease_token, lease_expires_at FROM \(t.jobs) WHERE id = ?"),
                                         arguments: [lease.jobID]) else {
            throw TrainyardError.notFound("job \(lease.jobID)")
        }
        let record = JobRecord(state: JobState(rawValue: row[0]) ?? .failed, runAfter: .distantPast, leaseToken: row[1],
                               leaseExpiresAt: SQLiteRows.date(row[2]))
        try record.checkHeld(lease, at: Date(timeIntervalSince1970: now))
    }

    public func heartbeat(_ lease: LeaseToken, leaseDuration: Duration, progress: JobProgress?) async throws -> HeartbeatReply {
        let now = self.now
        return try await writeTransaction { [t, retryPolicy] db in
            let job = try Self.transition(db, t, lease.jobID,
                                          .heartbeat(token: lease.token, now: Date(timeIntervalSince1970: now), duration: leaseDuration, progress: progress),
                                          lifecycle: JobLifecycle(retryPolicy: retryPolicy), now: now)
            return HeartbeatReply(expiresAt: job.leaseExpiresAt!, cancelRequested: job.cancelRequested)
        }
    }

    public func fail(_ lease: LeaseToken, reason: String, retryable: Bool) async throws -> Job {
        try await workerEvent(lease, .fail(token: lease.token, now: Date(timeIntervalSince1970: now), reason: reason, retryable: retryable,
                                           unitRandom: Double.random(in: 0..<1)))
    }

    public func acknowledgeCancellation(_ lease: LeaseToken) async throws -> Job {
        try await workerEvent(lease, .acknowledgeCancellation(token: lease.token, now: Date(timeIntervalSince1970: now)))
    }

    public func release(_ lease: LeaseToken) async throws -> Job {
        try await workerEvent(lease, .release(token: lease.token, now: Date(timeIntervalSince1970: now)))
    }

    func workerEvent(_ lease: LeaseToken, _ event: JobEvent) async throws -> Job {
        let now = self.now
        let job = try await writeTransaction { [t, retryPolicy] db -> Job in
            try Self.transition(db, t, lease.jobID, event, lifecycle: JobLifecycle(retryPolicy: retryPolicy), now: now)
        }
        onChange()
        return job
    }

    public func cancel(_ id: JobID) async throws -> Job {
        let now = self.now
        let job = try await writeTransaction { [t, retryPolicy] db -> Job in
            try Self.transition(db, t, id, .requestCancellation(now: Date(timeIntervalSince1970: now)),
                                lifecycle: JobLifecycle(retryPolicy: retryPolicy), now: now)
        }
        onChange()
        return job
    }

    public func job(idempotencyKey: String) async throws -> Job? {
        try await pool.read { [t] db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT \(SQLiteRows.jobColumns) FROM \(t.jobs) WHERE idempotency_key = ?"), arguments: [idempotencyKey])
                .map { try SQLiteRows.job($0, specs: t.specs) }
        }
    }

    public func job(_ id: JobID) async throws -> Job? {
        try await pool.read { [t] db in try Self.fetchJob(db, t, id) }
    }

    public func jobs(_ filter: JobFilter) async throws -> [Job] {
        try await pool.read { [t] db in
            var clauses: [String] = []
            var args: StatementArguments = []
            if !filter.states.isEmpty {
                clauses.append("state IN (\(filter.states.map { _ in "?" }.joined(separator: ",")))")
                args += StatementArguments(filter.states.map(\.rawValue).sorted())
            }
            if let kind = filter.kind { clauses.append("kind = ?"); args += [kind.rawValue] }
            if let model = filter.model { clauses.append("model = ?"); args += [model.rawValue] }
            if let before = filter.beforeID { clauses.append("id < ?"); args += [before] }
            let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            args += [filter.effectiveLimit]
            return try Row.fetchAll(db.cachedStatement(sql: "SELECT \(SQLiteRows.jobColumns) FROM \(t.jobs) \(whereSQL) ORDER BY id DESC LIMIT ?"), arguments: args)
                .map { try SQLiteRows.job($0, specs: t.specs) }
        }
    }

    public func nextWakeup() async throws -> Date? {
        try await pool.read { [t] db in
            let queued = try Double.fetchOne(db.cachedStatement(sql: "SELECT MIN(run_after) FROM \(t.jobs) WHERE state = 'queued'"))
            let lease = try Double.fetchOne(db.cachedStatement(sql: "SELECT MIN(lease_expires_at) FROM \(t.jobs) WHERE state = 'running'"))
            return [queued, lease].compactMap { $0 }.min().map { Date(timeIntervalSince1970: $0) }
        }
    }

    public func setRunningCap(_ cap: Int?, for kind: JobKind) async throws {
        // Every process sets the configured caps when it opens the store: an unchanged cap is
        // not written (which also lets a read-only store be opened).
        let current = try await pool.read { [t] db in
            try Int.fetchOne(db.cachedStatement(sql: "SELECT cap FROM \(t.queueCaps) WHERE kind = ?"), arguments: [kind.rawValue])
        }
        guard current != cap else { return }
        try await writeTransaction { [t] db in
            if let cap {
                try db.cachedStatement(sql: "INSERT INTO \(t.queueCaps) (kind, cap) VALUES (?, ?) ON CONFLICT(kind) DO UPDATE SET cap = excluded.cap").execute(arguments: [kind.rawValue, cap])
            } else {
                try db.cachedStatement(sql: "DELETE FROM \(t.queueCaps) WHERE kind = ?").execute(arguments: [kind.rawValue])
            }
        }
        onChange()
    }

    // MARK: Logs

    public func appendLog(_ id: JobID, lines: [String]) async throws {
        guard !lines.isEmpty else { return }
        let now = self.now
        try await writeTransaction { [t] db in try Self.insertLog(db, t, id, lines, now: now) }
    }

    static func insertLog(_ db: Database, _ t: TableNames, _ id: JobID, _ lines: [String], now: Double) throws {
        guard !lines.isEmpty else { return }
        var seq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(seq) FROM \(t.jobLogs) WHERE job_id = ?"), arguments: [id]) ?? 0
        let statement = try db.cachedStatement(sql: "INSERT INTO \(t.jobLogs) (job_id, seq, at, text) VALUES (?, ?, ?, ?)")
        for line in lines {
            seq += 1
            try statement.execute(arguments: [id, seq, now, line])
        }
    }

    public func logs(_ id: JobID, after sequence: Int64, limit: Int) async throws -> [LogLine] {
        try await pool.read { [t] db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT seq, at, text FROM \(t.jobLogs) WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?"),
                             arguments: [id, sequence, limit])
                .map { LogLine(sequence: $0["seq"], at: Date(timeIntervalSince1970: $0["at"]), text: $0["text"]) }
        }
    }

    static func fetchJob(_ db: Database, _ t: TableNames, _ id: Int64) throws -> Job? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(SQLiteRows.jobColumns) FROM \(t.jobs) WHERE id = ?"), arguments: [id]).map { try SQLiteRows.job($0, specs: t.specs) }
    }

    static func newToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(g.next() as UInt64, radix: 16) }.joined(separator: "-")
    }
}
