import Foundation
import PostgresNIO
import TrainyardCore

extension PostgresMetadataStore {
    /// One statement: the insert (nothing when the idempotency key was used: the unique index
    /// decides, also between processes) and the notification; then, for a used key, the job it made.
    public func enqueue(_ request: EnqueueRequest) async throws -> Job {
        if let key = request.idempotencyKey { try EnqueueRequest.checkIdempotencyKey(key) }
        let specText = try JSON.encodeString(request.spec)
        let now = self.now
        let runAfter = request.runAfter?.timeIntervalSince1970 ?? now
        let s = schema
        let inserted = try await writing("enqueueing a job") {
            try await rows("""
                WITH inserted AS (
                    INSERT INTO \(unescaped: s.jobs) (kind, state, model, spec, priority, max_attempts, run_after, created_at, submitted_by, idempotency_key)
                    VALUES (\(request.kind.rawValue), 'queued', \(request.spec.name.rawValue), \(specText), \(request.priority),
                            \(1 + request.spec.retries), \(runAfter), \(now), \(request.submittedBy), \(request.idempotencyKey))
                    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                    RETURNING \(unescaped: PostgresRows.jobColumns)
                )
                SELECT \(unescaped: PostgresRows.jobColumns), pg_notify(\(s.channel), \(instanceID)) FROM inserted
                """)
        }
        let job: Job
        if let row = inserted.first {
            job = try PostgresRows.job(row, specs: specs).job
        } else if let key = request.idempotencyKey, let existing = try await self.job(idempotencyKey: key) {
            // ON CONFLICT waited for the insert that holds the key to commit, so it is visible now.
            job = existing
        } else {
            throw PostgresStoreError(store: settings.redacted, operation: "enqueueing a job", reason: "the insert returned no row")
        }
        onChange()
        return job
    }

    /// Returns expired leases to the queue (each a compare-and-set of its own), then, in one
    /// transaction: locks and counts the requested kinds that have a running cap, locks the
    /// best due job of the admitted kinds with `FOR UPDATE SKIP LOCKED` (rows another dequeue
    /// holds are passed over, never waited for) and leases it.
    public func dequeue(workerID: String, kinds: Set<JobKind>, leaseDuration: Duration) async throws -> Lease? {
        let now = self.now
        let s = schema
        let kindNames = kinds.map(\.rawValue).sorted()
        // Caps of the requested kinds and expired leases, in one round trip.
        let pending = try await reading("reading running caps and expired leases") {
            try await rows("""
                SELECT 'cap', kind, cap FROM \(unescaped: s.queueCaps) WHERE kind = ANY(\(kindNames))
                UNION ALL
                (SELECT 'expired', NULL, id FROM \(unescaped: s.jobs) WHERE state = 'running' AND lease_expires_at < \(now)
                 ORDER BY lease_expires_at LIMIT \(Self.reclaimBatch))
                """)
        }
        var caps: [String: Int] = [:]
        for row in pending {
            let (what, kind, number) = try row.decode((String, String?, Int64).self)
            if what == "cap", let kind { caps[kind] = Int(number) } else { try await reclaimExpiredLease(number, now: now) }
        }
        guard !kinds.isEmpty else { return nil }
        let token = Self.newToken()
        let event = JobEvent.lease(token: token, workerID: workerID, now: Date(timeIntervalSince1970: now), duration: leaseDuration)
        let capsRead = caps
        return try await transaction("leasing a job") { connection -> Lease? in
            let caps = capsRead
            var eligible = kindNames
            let capped = kindNames.filter { caps[$0] != nil }
            if !capped.isEmpty {
                // Serialises the count-and-lease of capped kinds across processes (released at
                // commit, after the lease is written); uncapped kinds take no lock. Taken in
                // one order (sorted) so two dequeues cannot deadlock.
                let keys = capped.map { s.runningCapLockKey(JobKind(rawValue: $0) ?? .train) }
                try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(\(keys)::text[]) AS k",
                                           logger: queryLogger)
                var running: [String: Int] = [:]
                for row in try await connection.query("""
                    SELECT kind, count(*) FROM \(unescaped: s.jobs) WHERE state = 'running' AND kind = ANY(\(capped)) GROUP BY kind
                    """, logger: queryLogger).collect() {
                    let (kind, count) = try row.decode((String, Int).self)
                    running[kind] = count
                }
                eligible = kindNames.filter { RunningCap.admits(running: running[$0, default: 0], cap: caps[$0]) }
            }
            guard !eligible.isEmpty else { return nil }
            // The head of each admitted kind's queue (an ordered probe of the per-kind index: an
            // ORDER BY over `kind = ANY(…)` alone would sort every queued row), then the first
            // of those heads not locked by another dequeue, locked: one row, never waited for.
            // The ORDER BY is `QueuePosition`'s order; the outer conditions are checked again
            // on a row another transaction changed since this statement's snapshot.
            let candidates = try await connection.query("""
                SELECT \(unescaped: PostgresRows.jobColumns) FROM \(unescaped: s.jobs)
                WHERE id IN (
                    SELECT head.id FROM unnest(\(eligible)::text[]) AS wanted(kind_name) CROSS JOIN LATERAL (
                        SELECT id FROM \(unescaped: s.jobs) WHERE state = 'queued' AND kind = wanted.kind_name AND run_after <= \(now)
                        ORDER BY priority DESC, run_after, id LIMIT \(Self.headsPerKind)
                    ) AS head
                ) AND state = 'queued' AND kind = ANY(\(eligible)) AND run_after <= \(now)
                ORDER BY priority DESC, run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED
                """, logger: queryLogger).collect().map { try PostgresRows.job($0, specs: specs) }
            guard let best = candidates.first else { return nil }
            let next = try lifecycle.apply(event, to: best.record, jobID: best.job.id)
            guard let job = try await writeTransition(best, next, now: now, notify: false, on: connection) else {
                throw PostgresStoreError(store: settings.redacted, operation: "leasing job \(best.job.id)", reason: "the locked row changed")
            }
            return Lease(token: LeaseToken(jobID: job.id, token: token, attempt: job.attempt), job: job, expiresAt: job.leaseExpiresAt!)
        }
    }

    /// Expired leases returned to the queue per dequeue; the rest go on the next one.
    static var reclaimBatch: Int { 1000 }
    /// Queued jobs per kind a dequeue considers: more than the dequeues that run at once, which
    /// hold (and so skip) one each. A dequeue that finds all of them held finds nothing this
    /// time and is woken again by the next change.
    static var headsPerKind: Int { 64 }

    /// Returns job `id` to the queue (or fails or cancels it) if its lease is still expired
    /// when read; another process that reclaimed it first, or a heartbeat that arrived, wins.
    /// Counted in `lease_expiries` in the same statement.
    func reclaimExpiredLease(_ id: JobID, now: Double) async throws {
        let event = JobEvent.reclaim(now: Date(timeIntervalSince1970: now), unitRandom: Double.random(in: 0..<1))
        do {
            _ = try await transition(id, event, now: now, notify: false, countLeaseExpiry: true, doing: "reclaiming the expired lease of job \(id)")
        } catch let error as TrainyardError where error.code == .conflict || error.code == .notFound {
            // Not expired any more (reclaimed elsewhere, or extended): nothing to do.
        }
    }

    // MARK: Lifecycle persistence

    /// Applies `event` to job `id` as `JobLifecycle` decides and writes the result, its log lines
    /// and (with `notify`) the change notification in one statement, if the row is still the
    /// one read; else reads it again. The store holds no lifecycle rules of its own.
    func transition(_ id: JobID, _ event: JobEvent, now: Double, finalLog: [String] = [], notify: Bool, countLeaseExpiry: Bool = false,
                    doing what: @autoclosure () -> String) async throws -> Job {
        for _ in 0..<Self.writeRaces {
            guard let stored = try await reading(what(), { try await fetchStored(id, on: nil) }) else {
                throw TrainyardError.notFound("job \(id)")
            }
            let next = try lifecycle.apply(event, to: stored.record, jobID: id)
            if let job = try await writing(what(), {
                try await writeTransition(stored, next, now: now, finalLog: finalLog, notify: notify, countLeaseExpiry: countLeaseExpiry, on: nil)
            }) {
                return job
            }
        }
        throw TrainyardError(.unavailable, "job \(id) changed \(Self.writeRaces) times while \(what()); try again")
    }

    /// Writes `next` over `stored` if the row's version is still `stored.rowVersion`: the
    /// record, `finalLog` then the transition's log lines (numbered after the job's last line),
    /// optionally a lease expiry count and the change notification. Nil when the row changed.
    func writeTransition(_ stored: StoredJob, _ next: JobLifecycle.Transition, now: Double, finalLog: [String] = [], notify: Bool,
                         countLeaseExpiry: Bool = false, on connection: PostgresConnection?) async throws -> Job? {
        let r = next.record
        var lines = finalLog
        for effect in next.effects {
            switch effect {
            case .log(let line): lines.append(line)
            case .wakeWorkers: break  // the writes that can free work notify and call onChange
            }
        }
        let progressText = r.progress == stored.record.progress ? stored.progressText : try r.progress.map { try JSON.encodeString($0) }
        let s = schema
        var q = BoundSQL()
        q.sql = """
            WITH updated AS (
                UPDATE \(s.jobs) SET state = \(try q.bind(r.state.rawValue)), attempt = \(try q.bind(r.attempt)),
                    run_after = \(try q.bind(r.runAfter.timeIntervalSince1970)), lease_token = \(try q.bind(r.leaseToken)),
                    lease_expires_at = \(try q.bind(r.leaseExpiresAt?.timeIntervalSince1970)), worker_id = \(try q.bind(r.workerID)),
                    cancel_requested = \(try q.bind(r.cancelRequested)), failure_reason = \(try q.bind(r.failureReason)),
                    started_at = \(try q.bind(r.startedAt?.timeIntervalSince1970)), finished_at = \(try q.bind(r.finishedAt?.timeIntervalSince1970)),
                    result_version = \(try q.bind(r.resultVersion)), progress = \(try q.bind(progressText)),
                    log_seq = log_seq + \(try q.bind(lines.count)), row_version = row_version + 1
                WHERE id = \(try q.bind(stored.job.id)) AND row_version = \(try q.bind(stored.rowVersion))
                RETURNING id, log_seq
            )
            """
        if !lines.isEmpty {
            q.sql += """
                , logged AS (
                    INSERT INTO \(s.jobLogs) (job_id, seq, at, text)
                    SELECT updated.id, updated.log_seq - \(try q.bind(lines.count)) + line.number, \(try q.bind(now)), line.text
                    FROM updated, unnest(\(try q.bind(lines))::text[]) WITH ORDINALITY AS line(text, number)
                )
                """
        }
        if countLeaseExpiry {
            q.sql += """
                , expiry AS (
                    INSERT INTO \(s.leaseExpiries) (kind, count) SELECT \(try q.bind(stored.job.kind.rawValue)), 1 FROM updated
                    ON CONFLICT (kind) DO UPDATE SET count = \(s.leaseExpiries).count + 1
                )
                """
        }
        if notify {
            // A CTE that is not a write runs only when referenced: the final SELECT counts it.
            q.sql += ", notified AS (SELECT pg_notify(\(try q.bind(s.channel)), \(try q.bind(instanceID))) FROM updated)"
            q.sql += " SELECT updated.id, (SELECT count(*) FROM notified) FROM updated"
        } else {
            q.sql += " SELECT updated.id FROM updated"
        }
        guard try await rows(q.query, on: connection).first != nil else { return nil }
        return stored.applying(r)
    }

    func fetchStored(_ id: JobID, on connection: PostgresConnection?, forUpdate: Bool = false) async throws -> StoredJob? {
        let lock = forUpdate ? " FOR UPDATE" : ""
        return try await rows("SELECT \(unescaped: PostgresRows.jobColumns) FROM \(unescaped: schema.jobs) WHERE id = \(id)\(unescaped: lock)",
                              on: connection).first.map { try PostgresRows.job($0, specs: specs) }
    }

    public func heartbeat(_ lease: LeaseToken, leaseDuration: Duration, progress: JobProgress?) async throws -> HeartbeatReply {
        let now = self.now
        let job = try await transition(lease.jobID, .heartbeat(token: lease.token, now: Date(timeIntervalSince1970: now), duration: leaseDuration,
                                                               progress: progress),
                                       now: now, notify: false, doing: "recording a heartbeat of job \(lease.jobID)")
        return HeartbeatReply(expiresAt: job.leaseExpiresAt!, cancelRequested: job.cancelRequested)
    }

    public func fail(_ lease: LeaseToken, reason: String, retryable: Bool) async throws -> Job {
        let now = self.now
        return try await workerEvent(lease, .fail(token: lease.token, now: Date(timeIntervalSince1970: now), reason: reason, retryable: retryable,
                                                  unitRandom: Double.random(in: 0..<1)), now: now, doing: "recording the failure of job \(lease.jobID)")
    }

    public func acknowledgeCancellation(_ lease: LeaseToken) async throws -> Job {
        let now = self.now
        return try await workerEvent(lease, .acknowledgeCancellation(token: lease.token, now: Date(timeIntervalSince1970: now)), now: now,
                                     doing: "cancelling job \(lease.jobID)")
    }

    public func release(_ lease: LeaseToken) async throws -> Job {
        let now = self.now
        return try await workerEvent(lease, .release(token: lease.token, now: Date(timeIntervalSince1970: now)), now: now,
                                     doing: "releasing job \(lease.jobID)")
    }

    func workerEvent(_ lease: LeaseToken, _ event: JobEvent, now: Double, doing what: @autoclosure () -> String) async throws -> Job {
        let job = try await transition(lease.jobID, event, now: now, notify: true, doing: what())
        onChange()
        return job
    }

    public func cancel(_ id: JobID) async throws -> Job {
        let now = self.now
        let job = try await transition(id, .requestCancellation(now: Date(timeIntervalSince1970: now)), now: now, notify: true,
                                       doing: "cancelling job \(id)")
        onChange()
        return job
    }

    public func job(idempotencyKey: String) async throws -> Job? {
        try await reading("reading a job by idempotency key") {
            try await rows("SELECT \(unescaped: PostgresRows.jobColumns) FROM \(unescaped: schema.jobs) WHERE idempotency_key = \(idempotencyKey)")
                .first.map { try PostgresRows.job($0, specs: specs).job }
        }
    }

    public func job(_ id: JobID) async throws -> Job? {
        try await reading("reading job \(id)") { try await fetchStored(id, on: nil)?.job }
    }

    public func jobs(_ filter: JobFilter) async throws -> [Job] {
        var q = BoundSQL()
        var clauses: [String] = []
        if !filter.states.isEmpty { clauses.append("state = ANY(\(try q.bind(filter.states.map(\.rawValue).sorted())))") }
        if let kind = filter.kind { clauses.append("kind = \(try q.bind(kind.rawValue))") }
        if let model = filter.model { clauses.append("model = \(try q.bind(model.rawValue))") }
        if let before = filter.beforeID { clauses.append("id < \(try q.bind(before))") }
        let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        q.sql = "SELECT \(PostgresRows.jobColumns) FROM \(schema.jobs) \(whereSQL) ORDER BY id DESC LIMIT \(try q.bind(filter.effectiveLimit))"
        let query = q.query
        return try await reading("listing jobs") {
            try await rows(query).map { try PostgresRows.job($0, specs: specs).job }
        }
    }

    public func nextWakeup() async throws -> Date? {
        let s = schema
        return try await reading("reading the next wake-up") {
            try await rows("""
                SELECT LEAST((SELECT MIN(run_after) FROM \(unescaped: s.jobs) WHERE state = 'queued'),
                             (SELECT MIN(lease_expires_at) FROM \(unescaped: s.jobs) WHERE state = 'running'))
                """).first.flatMap { try $0.decode(Double?.self) }.map { Date(timeIntervalSince1970: $0) }
        }
    }

    public func setRunningCap(_ cap: Int?, for kind: JobKind) async throws {
        let s = schema
        // Every process sets the configured caps when it opens the store: an unchanged cap is
        // not written (and wakes no one).
        let current = try await reading("reading the running cap of \(kind.rawValue)") {
            try await rows("SELECT cap FROM \(unescaped: s.queueCaps) WHERE kind = \(kind.rawValue)").first.map { try $0.decode(Int.self) }
        }
        guard current != cap else { return }
        try await transaction("setting the running cap of \(kind.rawValue)") { connection in
            if let cap {
                try await connection.query("""
                    INSERT INTO \(unescaped: s.queueCaps) (kind, cap) VALUES (\(kind.rawValue), \(cap))
                    ON CONFLICT (kind) DO UPDATE SET cap = excluded.cap
                    """, logger: queryLogger)
            } else {
                try await connection.query("DELETE FROM \(unescaped: s.queueCaps) WHERE kind = \(kind.rawValue)", logger: queryLogger)
            }
            try await connection.query(notifyStatement(), logger: queryLogger)
        }
        onChange()
    }

    // MARK: Logs

    /// Numbers the lines under the job's row lock (the `UPDATE` of its `log_seq`), so lines
    /// appended by several processes at once get distinct, gap-free sequences.
    public func appendLog(_ id: JobID, lines: [String]) async throws {
        guard !lines.isEmpty else { return }
        let now = self.now
        let s = schema
        _ = try await writing("appending to the log of job \(id)") {
            try await rows("""
                WITH numbered AS (
                    UPDATE \(unescaped: s.jobs) SET log_seq = log_seq + \(lines.count) WHERE id = \(id) RETURNING id, log_seq
                )
                INSERT INTO \(unescaped: s.jobLogs) (job_id, seq, at, text)
                SELECT numbered.id, numbered.log_seq - \(lines.count) + line.number, \(now), line.text
                FROM numbered, unnest(\(lines)::text[]) WITH ORDINALITY AS line(text, number)
                """)
        }
    }

    public func logs(_ id: JobID, after sequence: Int64, limit: Int) async throws -> [LogLine] {
        let s = schema
        // A negative limit means no limit, as SQLite reads it.
        let limitSQL = limit < 0 ? "" : "LIMIT \(limit)"
        return try await reading("reading the log of job \(id)") {
            try await rows("""
                SELECT seq, at, text FROM \(unescaped: s.jobLogs) WHERE job_id = \(id) AND seq > \(sequence) ORDER BY seq \(unescaped: limitSQL)
                """).map { row in
                let (seq, at, text) = try row.decode((Int64, Double, String).self)
                return LogLine(sequence: seq, at: Date(timeIntervalSince1970: at), text: text)
            }
        }
    }
}
