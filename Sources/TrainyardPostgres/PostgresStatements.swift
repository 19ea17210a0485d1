import Foundation
import PostgresNIO
import TrainyardCore

/// The statements on the queue's hot path (enqueue, dequeue, heartbeat, completion, logs),
/// prepared once per pooled connection: parsing and planning them cost more than running them.
///
/// Their SQL is static, so table names are unqualified: the pool's connections have the
/// namespace's schema as their `search_path` (`PostgresConnectionSettings.clientConfiguration`),
/// which PostgreSQL resolves when it prepares a statement. Every other statement names its
/// tables with the schema.
protocol PostgresStatement: PostgresPreparedStatement where Row == PostgresRow {}

extension PostgresStatement {
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

enum Statements {
    /// One insert, unless the idempotency key was used (the unique index decides, also between
    /// processes), returning the job and notifying the namespace's channel.
    struct Enqueue: PostgresStatement {
        static let sql = """
            WITH inserted AS (
                INSERT INTO jobs (kind, state, model, spec, priority, max_attempts, run_after, created_at, submitted_by, idempotency_key)
                VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING \(PostgresRows.jobColumns)
            )
            SELECT \(PostgresRows.jobColumns), pg_notify($10, $11) FROM inserted
            """
        var kind, model, spec: String
        var priority, maxAttempts: Int
        var runAfter, createdAt: Double
        var submittedBy: String
        var idempotencyKey: String?
        var channel, payload: String

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 11)
            b.append(kind); b.append(model); b.append(spec); b.append(priority); b.append(maxAttempts)
            b.append(runAfter); b.append(createdAt); b.append(submittedBy.postgresText); b.append(idempotencyKey); b.append(channel); b.append(payload)
            return b
        }
    }

    /// What a dequeue reads first, in one round trip and one row at least: the best due jobs
    /// of the requested kinds (the heads of each kind's queue, then the best of those, in
    /// `QueuePosition`'s order; none locked), then the requested kinds that have a running cap
    /// with their caps, and the ids of expired leases. Without a due job the job columns are NULL.
    ///
    /// Each kind's head is read by an ordered probe of its queue index (`jobs_queued`), with
    /// the candidate's columns from the same rows; the heads are then merged in queue order.
    struct DequeueCandidates: PostgresStatement {
        static let sql = "WITH " + candidatesQuery(kinds: "$1", now: "$2", expiredLimit: "$3", candidates: "$4")

        /// The statement's `meta` CTE and final SELECT, with its parameters' numbers given (so
        /// a completion can read the next candidates in its own statement,
        /// `WriteTransitionReadingCandidates`); `extraMeta` adds columns after the others.
        static func candidatesQuery(kinds: String, now: String, expiredLimit: String, candidates: String, extraMeta: [String] = [],
                                    withLeased: Bool = false) -> String {
            """
            meta AS (
                SELECT coalesce(array_agg(kind ORDER BY kind), '{}') AS cap_kinds, coalesce(array_agg(cap ORDER BY kind), '{}') AS caps,
                       ARRAY(SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < \(now) ORDER BY lease_expires_at LIMIT \(expiredLimit)) AS expired\(extraMeta.map { ",\n        \($0)" }.joined())
                FROM queue_caps WHERE kind = ANY(\(kinds))
            )
            SELECT candidate.*, meta.*\(withLeased ? ", leased_row.*" : "") FROM meta LEFT JOIN LATERAL (
                SELECT head.* FROM unnest(\(kinds)::text[]) AS wanted(kind_name) CROSS JOIN LATERAL (
                    SELECT \(PostgresRows.candidateColumns) FROM jobs WHERE state = 'queued' AND kind = wanted.kind_name AND run_after <= \(now)
                    ORDER BY priority DESC, run_after, id LIMIT \(candidates)
                ) AS head
                ORDER BY head.priority DESC, head.run_after, head.id LIMIT \(candidates)
            ) AS candidate ON true\(withLeased ? "\nLEFT JOIN (SELECT \(PostgresRows.jobColumns), ord FROM leased) AS leased_row ON true" : "")
            """
        }

        /// Where the caps and expired leases are in a row (after the candidate columns).
        static let metaColumn = PostgresRows.candidateColumnCount
        var kinds: [String]
        var now: Double
        var expiredLimit: Int
        var candidates: Int

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 4)
            b.append(kinds); b.append(now); b.append(expiredLimit); b.append(candidates)
            return b
        }
    }

    /// Leases the first of several due jobs that no other transaction holds and that is still
    /// the version read, in one statement: each candidate comes with the record the lifecycle
    /// decided for it (`LeaseProposal`, as JSON), the statement picks the first candidate it
    /// can lock (`FOR UPDATE SKIP LOCKED`: held rows are passed over, never waited for) and
    /// writes that candidate's record and log lines. Returns the leased job's row (`jobColumns`)
    /// and the chosen proposal's `ord`; no row when every candidate was held or had changed.
    ///
    /// A candidate is found by primary key and its row version only: the version proves the
    /// row is still the queued one the proposal was decided on, and asking for `state =
    /// 'queued'` as well let the planner scan the whole queued index instead.
    struct LeaseFirstUnheld: PostgresStatement {
        static let sql = "WITH " + leaseCTEs(proposals: "$1", now: "$2") + "\nSELECT \(PostgresRows.jobColumns), ord FROM leased"

        /// The statement's CTEs (`proposal`, `chosen`, `leased`, `lease_logged`), with its
        /// parameters' numbers given, so a completion can lease its worker's next job in its own
        /// statement (`WriteTransitionLeasingNext`); a candidate is chosen only when `condition` holds.
        static func leaseCTEs(proposals: String, now: String, condition: String = "true") -> String {
            """
            proposal AS (
                SELECT * FROM jsonb_to_recordset(\(proposals)::jsonb) AS p(
                    ord int, id bigint, row_version bigint, state text, attempt bigint, run_after double precision, lease_token text,
                    lease_expires_at double precision, worker_id text, cancel_requested boolean, failure_reason text,
                    started_at double precision, finished_at double precision, result_version bigint, progress text, lines text[])
            ), chosen AS (
                -- `id = ANY(ARRAY(…))` makes the planner look the candidates up by primary key (a
                -- plain join would hash the whole table: the function's row count is unknown).
                -- The chosen proposal's record comes along for the update.
                SELECT proposal.* FROM jobs JOIN proposal ON proposal.id = jobs.id AND proposal.row_version = jobs.row_version
                WHERE jobs.id = ANY(ARRAY(SELECT id FROM proposal)) AND \(condition)
                ORDER BY proposal.ord LIMIT 1 FOR UPDATE OF jobs SKIP LOCKED
            ), leased AS (
                UPDATE jobs SET state = p.state, attempt = p.attempt, run_after = p.run_after, lease_token = p.lease_token,
                    lease_expires_at = p.lease_expires_at, worker_id = p.worker_id, cancel_requested = p.cancel_requested,
                    failure_reason = p.failure_reason, started_at = p.started_at, finished_at = p.finished_at,
                    result_version = p.result_version, progress = p.progress,
                    log_seq = jobs.log_seq + cardinality(p.lines), row_version = jobs.row_version + 1
                FROM chosen AS p
                WHERE jobs.id = p.id
                RETURNING \(PostgresRows.jobColumns(qualifiedBy: "jobs")), jobs.log_seq, p.lines, p.ord
            ), lease_logged AS (
                INSERT INTO job_logs (job_id, seq, at, text)
                SELECT leased.id, leased.log_seq - cardinality(leased.lines) + line.number, \(now), line.text
                FROM leased, unnest(leased.lines) WITH ORDINALITY AS line(text, number)
            )
            """
        }

        /// Where the chosen proposal's `ord` is in the row.
        static let ordColumn = PostgresRows.jobColumnCount
        var proposals: String
        var now: Double

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 2)
            b.append(proposals); b.append(now)
            return b
        }
    }

    /// The first due job of the given kinds that no other transaction holds, locked: the heads
    /// of each kind's queue (an ordered probe of the per-kind index each; an ORDER BY over
    /// `kind = ANY(…)` alone would sort every queued row), then the first unheld of them in
    /// `QueuePosition`'s order. The outer conditions are checked again on a row another
    /// transaction changed after this statement's snapshot (a job just leased elsewhere).
    struct LockQueueHead: PostgresStatement {
        /// Heads per kind: more than the dequeues of one kind that run at once (each holds one).
        static let headsPerKind = 16
        static let sql = """
            SELECT \(PostgresRows.jobColumns) FROM jobs
            WHERE id = ANY(ARRAY(
                SELECT head.id FROM unnest($1::text[]) AS wanted(kind_name) CROSS JOIN LATERAL (
                    SELECT id FROM jobs WHERE state = 'queued' AND kind = wanted.kind_name AND run_after <= $2
                    ORDER BY priority DESC, run_after, id LIMIT \(headsPerKind)
                ) AS head
            )) AND state = 'queued' AND kind = ANY($1) AND run_after <= $2
            ORDER BY priority DESC, run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED
            """
        var kinds: [String]
        var now: Double

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 2)
            b.append(kinds); b.append(now)
            return b
        }
    }

    /// When every head was held: the first unheld due job of each kind, however deep in the
    /// queue (each kind's row stays locked until the transaction ends; the best is leased).
    struct LockFirstUnheldOfEachKind: PostgresStatement {
        static let sql = """
            SELECT c.* FROM unnest($1::text[]) AS wanted(kind_name) CROSS JOIN LATERAL (
                SELECT \(PostgresRows.jobColumns) FROM jobs
                WHERE state = 'queued' AND kind = wanted.kind_name AND run_after <= $2
                ORDER BY priority DESC, run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED
            ) AS c
            """
        var kinds: [String]
        var now: Double

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 2)
            b.append(kinds); b.append(now)
            return b
        }
    }

    /// Serialises the count-and-lease of the capped kinds (transaction-scoped advisory locks,
    /// taken in the array's order).
    struct LockRunningCaps: PostgresStatement {
        static let sql = "SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest($1::text[]) AS key"
        var keys: [String]

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 1)
            b.append(keys)
            return b
        }
    }

    struct CountRunning: PostgresStatement {
        static let sql = "SELECT kind, count(*) FROM jobs WHERE state = 'running' AND kind = ANY($1) GROUP BY kind"
        var kinds: [String]

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 1)
            b.append(kinds)
            return b
        }
    }

    struct FetchJob: PostgresStatement {
        static let sql = "SELECT \(PostgresRows.jobColumns) FROM jobs WHERE id = $1"
        var id: JobID
        func makeBindings() throws -> PostgresBindings { var b = PostgresBindings(capacity: 1); b.append(id); return b }
    }

    struct FetchJobForUpdate: PostgresStatement {
        static let sql = "SELECT \(PostgresRows.jobColumns) FROM jobs WHERE id = $1 FOR UPDATE"
        var id: JobID
        func makeBindings() throws -> PostgresBindings { var b = PostgresBindings(capacity: 1); b.append(id); return b }
    }

    struct FetchJobByIdempotencyKey: PostgresStatement {
        static let sql = "SELECT \(PostgresRows.jobColumns) FROM jobs WHERE idempotency_key = $1"
        var key: String
        func makeBindings() throws -> PostgresBindings { var b = PostgresBindings(capacity: 1); b.append(key); return b }
    }

    /// A lifecycle write as a compare-and-set: the record, if the row's version is still the
    /// one read; the log lines numbered after the job's last (under the row lock the update
    /// holds); a lease expiry counted and the change notified when asked. One row back when
    /// written, none when the row changed meanwhile (a row another transaction holds is waited for).
    struct WriteTransition: TransitionStatement {
        static let sql = "WITH " + transitionCTEs(target: "SELECT id FROM jobs WHERE id = $14 AND row_version = $15", countingLeaseExpiry: "$21")
            + "\nSELECT updated.id, (SELECT count(*) FROM notified) FROM updated"
        var write: TransitionWrite

        func makeBindings() throws -> PostgresBindings {
            var b = transitionBindings(capacity: 21)
            b.append(write.countLeaseExpiry)
            return b
        }
    }

    /// A completion that also reads the next dequeue's candidates for its worker (the kinds it
    /// last asked for), in the same round trip: `DequeueCandidates`'s rows, with the written
    /// job's id after the meta columns (NULL when the row had changed and nothing was written).
    /// The read sees the queue as of the statement's start, as a dequeue's own read would.
    struct WriteTransitionReadingCandidates: TransitionStatement {
        static let sql = "WITH " + transitionCTEs(target: "SELECT id FROM jobs WHERE id = $14 AND row_version = $15") + ", "
            + DequeueCandidates.candidatesQuery(kinds: "$21", now: "$22", expiredLimit: "$23", candidates: "$24", extraMeta: completionMeta)
        /// What the completion adds to the read's meta columns: the written job's id, the notifications sent.
        static let completionMeta = ["(SELECT id FROM updated) AS written_id", "(SELECT count(*) FROM notified) AS notified"]
        /// Where the written job's id is in a row.
        static let writtenColumn = DequeueCandidates.metaColumn + 3
        var write: TransitionWrite
        var kinds: [String]
        var now: Double
        var expiredLimit: Int
        var candidates: Int

        func makeBindings() throws -> PostgresBindings {
            var b = transitionBindings(capacity: 24)
            b.append(kinds); b.append(now); b.append(expiredLimit); b.append(candidates)
            return b
        }
    }

    /// A completion that also leases its worker's next job and reads the candidates of the one
    /// after, in one round trip: `WriteTransitionReadingCandidates` with `LeaseFirstUnheld`'s
    /// CTEs between (a candidate is leased only if the completion was written). Each row ends
    /// with the leased job's `jobColumns` and its proposal's `ord` (NULL when none was leased).
    /// The candidates are read as of the statement's start, so the leased job is among them
    /// (as it was): the caller drops it.
    struct WriteTransitionLeasingNext: TransitionStatement {
        static let sql = "WITH " + transitionCTEs(target: "SELECT id FROM jobs WHERE id = $14 AND row_version = $15") + ", "
            + LeaseFirstUnheld.leaseCTEs(proposals: "$21", now: "$16", condition: leaseCondition) + ", "
            + DequeueCandidates.candidatesQuery(kinds: "$22", now: "$23", expiredLimit: "$24", candidates: "$25",
                                                extraMeta: WriteTransitionReadingCandidates.completionMeta, withLeased: true)
        /// A candidate is leased only if the completion was written, and while the queue is as
        /// the proposals assumed: no running cap on the candidate's kind (one set by another
        /// process since they were read), no expired lease (a dequeue returns those first).
        static let leaseCondition = """
            EXISTS (SELECT 1 FROM updated) AND NOT EXISTS (SELECT 1 FROM queue_caps WHERE queue_caps.kind = jobs.kind)
                AND NOT EXISTS (SELECT 1 FROM jobs AS expired WHERE expired.state = 'running' AND expired.lease_expires_at < $16)
            """
        /// Where the leased job's columns start in a row (its `ord` follows them).
        static let leasedColumn = DequeueCandidates.metaColumn + 3 + WriteTransitionReadingCandidates.completionMeta.count
        /// Where the leased job's proposal `ord` is: the candidates it passed over.
        static let ordColumn = leasedColumn + PostgresRows.jobColumnCount
        var write: TransitionWrite
        var proposals: String
        var kinds: [String]
        var now: Double
        var expiredLimit: Int
        var candidates: Int

        func makeBindings() throws -> PostgresBindings {
            var b = transitionBindings(capacity: 25)
            b.append(proposals); b.append(kinds); b.append(now); b.append(expiredLimit); b.append(candidates)
            return b
        }
    }

    /// The CTEs of a lifecycle write (`target` picks the row; `updated` holds it once written).
    /// A lease expiry is counted only by statements given `countingLeaseExpiry`, the number of
    /// their boolean parameter that says whether to: a worker's completion never counts one, and
    /// each CTE is set up on every execution, whether it writes or not.
    static func transitionCTEs(target: String, countingLeaseExpiry: String? = nil) -> String {
        """
        target AS (
            \(target)
        ), updated AS (
            UPDATE jobs SET state = $1, attempt = $2, run_after = $3, lease_token = $4, lease_expires_at = $5, worker_id = $6,
                cancel_requested = $7, failure_reason = $8, started_at = $9, finished_at = $10, result_version = $11, progress = $12,
                log_seq = log_seq + cardinality($13::text[]), row_version = row_version + 1
            WHERE id = (SELECT id FROM target) AND row_version = $15
            RETURNING id, kind, log_seq
        ), logged AS (
            INSERT INTO job_logs (job_id, seq, at, text)
            SELECT updated.id, updated.log_seq - cardinality($13::text[]) + line.number, $16, line.text
            FROM updated, unnest($13::text[]) WITH ORDINALITY AS line(text, number)
        ),\(countingLeaseExpiry.map { """
         expiry AS (
            INSERT INTO lease_expiries (kind, count) SELECT updated.kind, 1 FROM updated WHERE \($0)
            ON CONFLICT (kind) DO UPDATE SET count = lease_expiries.count + 1
        ),
        """ } ?? "") notified AS (
            SELECT pg_notify($17, $18) FROM updated
            WHERE $19 OR ($20 AND EXISTS (SELECT 1 FROM queue_caps WHERE queue_caps.kind = updated.kind))
        )
        """
    }

    /// Numbers the lines under the job's row lock (the update of its `log_seq`), so lines
    /// appended by several processes at once get distinct, gap-free sequences.
    struct AppendLog: PostgresStatement {
        static let sql = """
            WITH numbered AS (
                UPDATE jobs SET log_seq = log_seq + cardinality($2::text[]) WHERE id = $1 RETURNING id, log_seq
            )
            INSERT INTO job_logs (job_id, seq, at, text)
            SELECT numbered.id, numbered.log_seq - cardinality($2::text[]) + line.number, $3, line.text
            FROM numbered, unnest($2::text[]) WITH ORDINALITY AS line(text, number)
            """
        var id: JobID
        var lines: [String]
        var now: Double

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 3)
            b.append(id); b.append(lines.map(\.postgresText)); b.append(now)
            return b
        }
    }

    /// Lines after `after`, at most `limit` (NULL: all).
    struct ReadLog: PostgresStatement {
        static let sql = "SELECT seq, at, text FROM job_logs WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        var id: JobID
        var after: Int64
        var limit: Int?

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 3)
            b.append(id); b.append(after); b.append(limit)
            return b
        }
    }

    struct NextWakeup: PostgresStatement {
        static let sql = """
            SELECT LEAST((SELECT MIN(run_after) FROM jobs WHERE state = 'queued'),
                         (SELECT MIN(lease_expires_at) FROM jobs WHERE state = 'running'))
            """
        func makeBindings() throws -> PostgresBindings { PostgresBindings() }
    }
}

/// The values of one lifecycle write (`Statements.WriteTransition`).
struct TransitionWrite: Sendable {
    var record: JobRecord
    var progressText: String?
    var lines: [String]
    var id: JobID
    var rowVersion: Int64
    var now: Double
    var countLeaseExpiry: Bool
    var channel, payload: String
    var notify: Bool
    /// Notify only if the job's kind has a running cap (`ChangeNotice.whoMayWait` on a job that ended).
    var notifyIfCapped: Bool
}

protocol TransitionStatement: PostgresStatement {
    var write: TransitionWrite { get }
}

extension TransitionStatement {
    /// $1 … $20 of `Statements.transitionCTEs`.
    func transitionBindings(capacity: Int) -> PostgresBindings {
        let w = write
        let r = w.record
        var b = PostgresBindings(capacity: capacity)
        b.append(r.state.rawValue); b.append(r.attempt); b.append(r.runAfter.timeIntervalSince1970); b.append(r.leaseToken)
        b.append(r.leaseExpiresAt?.timeIntervalSince1970); b.append(r.workerID?.postgresText); b.append(r.cancelRequested)
        b.append(r.failureReason?.postgresText)
        b.append(r.startedAt?.timeIntervalSince1970); b.append(r.finishedAt?.timeIntervalSince1970); b.append(r.resultVersion)
        b.append(w.progressText); b.append(w.lines.map(\.postgresText)); b.append(w.id); b.append(w.rowVersion); b.append(w.now)
        b.append(w.channel); b.append(w.payload); b.append(w.notify); b.append(w.notifyIfCapped)
        return b
    }
}

/// One candidate of `Statements.LeaseFirstUnheld`: the job's id and the row version read, and
/// the record and log lines `JobLifecycle` decided for leasing it.
struct LeaseProposal {
    var candidate: QueueCandidate
    var next: JobLifecycle.Transition
    /// The record's progress as stored: the text read when it did not change.
    var progressText: String?

    init(candidate: QueueCandidate, next: JobLifecycle.Transition) throws {
        self.candidate = candidate
        self.next = next
        progressText = next.record.progress == candidate.record.progress ? candidate.progressText : try next.record.progress.map { try JSON.encodeString($0) }
    }

    /// The candidates as the JSON array the statement reads (`jsonb_to_recordset`), written
    /// by hand into UTF-8 bytes: it is built for every candidate of every dequeue, and
    /// Foundation's encoder (then string concatenation) cost more than the statement. Times as
    /// seconds since 1970 (Swift prints a Double so that it reads back exactly).
    static func json(_ proposals: [LeaseProposal]) -> String {
        var out = JSONBytes()
        out.bytes.reserveCapacity(proposals.count * 320)
        out.raw("[")
        for (ord, proposal) in proposals.enumerated() {
            let r = proposal.next.record
            if ord > 0 { out.raw(",") }
            out.raw("{\"ord\":"); out.raw(String(ord))
            out.raw(",\"id\":"); out.raw(String(proposal.candidate.id))
            out.raw(",\"row_version\":"); out.raw(String(proposal.candidate.rowVersion))
            out.raw(",\"state\":"); out.quoted(r.state.rawValue)
            out.raw(",\"attempt\":"); out.raw(String(r.attempt))
            out.raw(",\"run_after\":"); out.raw(String(r.runAfter.timeIntervalSince1970))
            out.raw(r.cancelRequested ? ",\"cancel_requested\":true" : ",\"cancel_requested\":false")
            if let v = r.leaseToken { out.raw(",\"lease_token\":"); out.quoted(v) }
            if let v = r.leaseExpiresAt { out.raw(",\"lease_expires_at\":"); out.raw(String(v.timeIntervalSince1970)) }
            if let v = r.workerID { out.raw(",\"worker_id\":"); out.quoted(v) }
            if let v = r.failureReason { out.raw(",\"failure_reason\":"); out.quoted(v) }
            if let v = r.startedAt { out.raw(",\"started_at\":"); out.raw(String(v.timeIntervalSince1970)) }
            if let v = r.finishedAt { out.raw(",\"finished_at\":"); out.raw(String(v.timeIntervalSince1970)) }
            if let v = r.resultVersion { out.raw(",\"result_version\":"); out.raw(String(v)) }
            if let v = proposal.progressText { out.raw(",\"progress\":"); out.quoted(v) }
            out.raw(",\"lines\":[")
            var first = true
            for case .log(let line) in proposal.next.effects {
                if !first { out.raw(",") }
                first = false
                out.quoted(line)
            }
            out.raw("]}")
        }
        out.raw("]")
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// A JSON string: quotes, backslashes and control characters escaped; NUL, which no
    /// PostgreSQL text can hold, replaced with U+FFFD (as `postgresText` does).
    static func quoted(_ text: String) -> String {
        var out = JSONBytes()
        out.quoted(text)
        return String(decoding: out.bytes, as: UTF8.self)
    }
}

/// JSON written as UTF-8 bytes.
struct JSONBytes {
    var bytes: [UInt8] = []

    /// Text that needs no escaping (keys, numbers, punctuation).
    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func quoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0: bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])  // U+FFFD
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(byte >> 4)]); bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)  // ASCII, or a byte of a UTF-8 sequence: as is
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension String {
    /// The text as PostgreSQL can store it: `text` cannot hold NUL (U+0000), which a failure
    /// reason or a log line read from a program's output may carry; it becomes U+FFFD.
    var postgresText: String {
        // A byte scan: `contains` on a String goes through Foundation's search.
        utf8.contains(0) ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self
    }
}
