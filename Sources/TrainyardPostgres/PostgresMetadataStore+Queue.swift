import Foundation
import PostgresNIO
import TrainyardCore

extension PostgresMetadataStore {
    /// One statement: the insert (nothing when the idempotency key was used: the unique index
    /// decides, also between processes) and the notification; then, for a used key, the job it made.
    public func enqueue(_ request: EnqueueRequest) async throws -> Job {
        if let key = request.idempotencyKey { try EnqueueRequest.checkIdempotencyKey(key) }
        let now = self.now
        let statement = Statements.Enqueue(
            kind: request.kind.rawValue, model: request.spec.name.rawValue, spec: try JSON.encodeString(request.spec), priority: request.priority,
            maxAttempts: 1 + request.spec.retries, runAfter: request.runAfter?.timeIntervalSince1970 ?? now, createdAt: now,
            submittedBy: request.submittedBy, idempotencyKey: request.idempotencyKey, channel: schema.channel, payload: instanceID)
        let inserted = try await writing("enqueueing a job") { [self] in try await run(statement) }
        let job: Job
        if let row = inserted.first {
            let cells = row.makeRandomAccess()
            specs.remember(request.spec, for: try cells[0].decode(Int64.self))
            job = try PostgresRows.job(cells, specs: specs).job
        } else if let key = request.idempotencyKey, let existing = try await self.job(idempotencyKey: key) {
            // ON CONFLICT waited for the insert that holds the key to commit, so it is visible now.
            job = existing
        } else {
            throw PostgresStoreError(store: settings.redacted, operation: "enqueueing a job", reason: "the insert returned no row")
        }
        queueChangedHere()
        return job
    }

    public func heartbeat(_ lease: LeaseToken, leaseDuration: Duration, progress: JobProgress?) async throws -> HeartbeatReply {
        let now = self.now
        let job = try await transition(lease.jobID, .heartbeat(token: lease.token, now: Date(timeIntervalSince1970: now), duration: leaseDuration,
                                                               progress: progress),
                                       now: now, notify: .none, doing: "recording a heartbeat of job \(lease.jobID)")
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
        let job = try await transition(lease.jobID, event, now: now, notify: .whoMayWait, doing: what())
        queueChangedHere()
        return job
    }

    public func cancel(_ id: JobID) async throws -> Job {
        let now = self.now
        let job = try await transition(id, .requestCancellation(now: Date(timeIntervalSince1970: now)), now: now, notify: .all,
                                       doing: "cancelling job \(id)")
        queueChangedHere()
        return job
    }

    public func job(idempotencyKey: String) async throws -> Job? {
        try await reading("reading a job by idempotency key") { [self] in
            try await run(Statements.FetchJobByIdempotencyKey(key: idempotencyKey)).first.map { try PostgresRows.job($0, specs: specs).job }
        }
    }

    public func job(_ id: JobID) async throws -> Job? {
        try await reading("reading job \(id)") { [self] in try await fetchStored(id, on: nil)?.job }
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
        return try await reading("listing jobs") { [self] in
            try await rows(query).map { try PostgresRows.job($0, specs: specs).job }
        }
    }

    public func nextWakeup() async throws -> Date? {
        try await reading("reading the next wake-up") { [self] in
            try await run(Statements.NextWakeup()).first.flatMap { try $0.decode(Double?.self) }.map { Date(timeIntervalSince1970: $0) }
        }
    }

    public func setRunningCap(_ cap: Int?, for kind: JobKind) async throws {
        let s = schema
        // Every process sets the configured caps when it opens the store: an unchanged cap is
        // not written (and wakes no one).
        let current = try await reading("reading the running cap of \(kind.rawValue)") { [self] in
            try await rows("SELECT cap FROM \(unescaped: s.queueCaps) WHERE kind = \(kind.rawValue)").first.map { try $0.decode(Int.self) }
        }
        guard current != cap else { return }
        try await transaction("setting the running cap of \(kind.rawValue)") { [self] connection in
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
        queueChangedHere()
    }

    // MARK: Logs

    /// One statement (`Statements.AppendLog`): lines appended by several processes at once get
    /// distinct, gap-free sequences.
    public func appendLog(_ id: JobID, lines: [String]) async throws {
        guard !lines.isEmpty else { return }
        let statement = Statements.AppendLog(id: id, lines: lines, now: now)
        _ = try await writing("appending to the log of job \(id)") { [self] in try await run(statement) }
    }

    public func logs(_ id: JobID, after sequence: Int64, limit: Int) async throws -> [LogLine] {
        // A negative limit means no limit, as SQLite reads it.
        let statement = Statements.ReadLog(id: id, after: sequence, limit: limit < 0 ? nil : limit)
        return try await reading("reading the log of job \(id)") { [self] in
            try await run(statement).map { row in
                let (seq, at, text) = try row.decode((Int64, Double, String).self)
                return LogLine(sequence: seq, at: Date(timeIntervalSince1970: at), text: text)
            }
        }
    }

    /// After this process changed the queue other than by a worker's completion (an enqueue, a
    /// release or failure, a cancel, a cap): kept candidates are dropped, so this process's next
    /// dequeue sees the change, and this process's workers are woken.
    func queueChangedHere() {
        prefetch.forgetAll()
        onChange()
    }
}
