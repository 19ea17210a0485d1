import Foundation
import PostgresNIO
import Synchronization
import TrainyardCore

/// A job row as read: the public `Job` plus what only the store sees (the lease secret, the
/// progress as stored, the row version a compare-and-set write names).
struct StoredJob: Sendable {
    var job: Job
    var leaseToken: String?
    var progressText: String?
    var rowVersion: Int64
    /// The version number `reserveVersion` gave this job (kept across attempts).
    var reservedVersion: Int?

    var record: JobRecord {
        JobRecord(state: job.state, attempt: job.attempt, maxAttempts: job.maxAttempts, runAfter: job.runAfter, leaseToken: leaseToken,
                  leaseExpiresAt: job.leaseExpiresAt, workerID: job.workerID, cancelRequested: job.cancelRequested,
                  failureReason: job.failureReason, startedAt: job.startedAt, finishedAt: job.finishedAt, resultVersion: job.resultVersion,
                  progress: job.progress)
    }

    /// The job as `record` leaves it.
    func applying(_ r: JobRecord) -> Job {
        var job = job
        job.state = r.state
        job.attempt = r.attempt
        job.maxAttempts = r.maxAttempts
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
}

/// A due job as a dequeue reads it before leasing: where it stands in the queue and the
/// lifecycle record the lease is decided on.
struct QueueCandidate: Sendable {
    var id: JobID
    var kind: String
    var rowVersion: Int64
    var position: QueuePosition
    var record: JobRecord
    /// The progress as stored (written back unchanged when the record keeps it).
    var progressText: String?
}

/// Row → domain value decoding for the PostgreSQL store. Rows are read by position, in the
/// order of the column lists declared here.
enum PostgresRows {
    static func date(_ value: Double?) -> Date? { value.map { Date(timeIntervalSince1970: $0) } }

    /// The jobs columns `job(_:specs:)` reads, in its order.
    static let jobColumns = """
        id, kind, state, model, spec, priority, attempt, max_attempts, run_after, created_at, started_at, finished_at, \
        lease_expires_at, worker_id, cancel_requested, failure_reason, result_version, progress, submitted_by, lease_token, row_version, \
        reserved_version
        """

    static let jobColumnCount = jobColumns.split(separator: ",").count

    /// `jobColumns`, each qualified by `table` (for statements that join the jobs table with
    /// rows that have columns of the same names).
    static func jobColumns(qualifiedBy table: String) -> String {
        jobColumns.split(separator: ",").map { "\(table).\($0.trimmingCharacters(in: .whitespaces))" }.joined(separator: ", ")
    }

    /// The columns a dequeue decides on (`candidate(_:)` reads them in this order): the queue
    /// position and the lifecycle record, not the spec, which only the leased job needs.
    static let candidateColumns = """
        id, kind, priority, row_version, state, attempt, max_attempts, run_after, lease_token, lease_expires_at, worker_id, \
        cancel_requested, failure_reason, started_at, finished_at, result_version, progress
        """

    static let candidateColumnCount = candidateColumns.split(separator: ",").count

    /// The id of the candidate a row starting with `candidateColumns` holds; nil when the read
    /// found no due job (its candidate columns are NULL).
    static func candidateID(_ row: PostgresRow) -> Int64? {
        var cells = row.makeIterator()
        return (try? cells.next()?.decode(Int64?.self)) ?? nil
    }

    /// What a candidate read says besides its candidates (`Statements.DequeueCandidates.metaColumn`
    /// on, the same in every row): the running caps of the requested kinds, and the jobs whose
    /// lease expired.
    static func candidateMeta(_ row: PostgresRow) throws -> (caps: [String: Int], expired: [Int64]) {
        let meta = row.makeRandomAccess()
        let m = Statements.DequeueCandidates.metaColumn
        let capKinds = try meta[m].decode([String].self), capValues = try meta[m + 1].decode([Int64].self)
        return (Dictionary(zip(capKinds, capValues.map { Int($0) }), uniquingKeysWith: { a, _ in a }), try meta[m + 2].decode([Int64].self))
    }

    /// A row starting with `candidateColumns`.
    static func candidate(_ row: PostgresRow) throws -> QueueCandidate {
        // Cell by cell, in order: a worker decodes several candidates per job, and decoding the
        // row as one 17-tuple cost several times as much (generic metadata for the tuple).
        var cells = row.makeIterator()
        func next<Value: PostgresDecodable>(_: Value.Type = Value.self) throws -> Value {
            guard let cell = cells.next() else { throw PostgresDecodingError.Code.missingData }
            return try cell.decode(Value.self)
        }
        let id = try next(Int64.self), kind = try next(String.self), priority = try next(Int.self), rowVersion = try next(Int64.self)
        let state = try next(String.self), attempt = try next(Int.self), maxAttempts = try next(Int.self), runAfter = try next(Double.self)
        let leaseToken = try next(String?.self), leaseExpiresAt = try next(Double?.self), workerID = try next(String?.self)
        let cancelRequested = try next(Bool.self), failureReason = try next(String?.self), startedAt = try next(Double?.self)
        let finishedAt = try next(Double?.self), resultVersion = try next(Int?.self), progressText = try next(String?.self)
        let record = JobRecord(
            state: JobState(rawValue: state) ?? .failed, attempt: attempt, maxAttempts: maxAttempts, runAfter: Date(timeIntervalSince1970: runAfter),
            leaseToken: leaseToken, leaseExpiresAt: date(leaseExpiresAt), workerID: workerID, cancelRequested: cancelRequested,
            failureReason: failureReason, startedAt: date(startedAt), finishedAt: date(finishedAt), resultVersion: resultVersion,
            progress: try progressText.map { try JSON.decode(JobProgress.self, from: $0) })
        return QueueCandidate(id: id, kind: kind, rowVersion: rowVersion, position: QueuePosition(priority: priority, runAfter: record.runAfter, id: id),
                              record: record, progressText: progressText)
    }

    /// A row with `jobColumns` from column `offset` on. The spec is decoded only when the cache lacks it.
    static func job(_ row: PostgresRow, at offset: Int = 0, specs: DecodedSpecs) throws -> StoredJob {
        try job(row.makeRandomAccess(), at: offset, specs: specs)
    }

    /// The same, from a row already indexed for random access (for a caller that reads other
    /// columns of it too: indexing a row walks all its columns).
    static func job(_ cells: PostgresRandomAccessRow, at offset: Int = 0, specs: DecodedSpecs) throws -> StoredJob {
        func column<Value: PostgresDecodable>(_ index: Int, _: Value.Type = Value.self) throws -> Value {
            try cells[offset + index].decode(Value.self)
        }
        let id = try column(0, Int64.self), kind = try column(1, String.self), state = try column(2, String.self)
        let model = try column(3, String.self), specText = try column(4, String.self), priority = try column(5, Int.self)
        let attempt = try column(6, Int.self), maxAttempts = try column(7, Int.self), runAfter = try column(8, Double.self)
        let createdAt = try column(9, Double.self), startedAt = try column(10, Double?.self), finishedAt = try column(11, Double?.self)
        let leaseExpiresAt = try column(12, Double?.self), workerID = try column(13, String?.self), cancelRequested = try column(14, Bool.self)
        let failureReason = try column(15, String?.self), resultVersion = try column(16, Int?.self), progressText = try column(17, String?.self)
        let submittedBy = try column(18, String.self), leaseToken = try column(19, String?.self), rowVersion = try column(20, Int64.self)
        let reservedVersion = try column(21, Int?.self)
        let job = Job(
            id: id,
            kind: JobKind(rawValue: kind) ?? .train,
            state: JobState(rawValue: state) ?? .failed,
            model: try ModelName(model),
            spec: try specs.spec(id) { specText },
            priority: priority,
            attempt: attempt,
            maxAttempts: maxAttempts,
            runAfter: Date(timeIntervalSince1970: runAfter),
            createdAt: Date(timeIntervalSince1970: createdAt),
            startedAt: date(startedAt),
            finishedAt: date(finishedAt),
            leaseExpiresAt: date(leaseExpiresAt),
            workerID: workerID,
            cancelRequested: cancelRequested,
            failureReason: failureReason,
            resultVersion: resultVersion,
            progress: try progressText.map { try JSON.decode(JobProgress.self, from: $0) },
            submittedBy: submittedBy
        )
        return StoredJob(job: job, leaseToken: leaseToken, progressText: progressText, rowVersion: rowVersion, reservedVersion: reservedVersion)
    }

    /// A version's columns and the names of the aliases pointing at it, by name (`v` is the
    /// versions table's alias in the query, `aliases` the aliases table).
    static func versionColumns(aliases: String) -> String {
        """
        v.model, v.version, v.status, v.created_at, v.job_id, v.manifest, v.tags, v.promotion, \
        ARRAY(SELECT a.alias FROM \(aliases) a WHERE a.model = v.model AND a.version = v.version ORDER BY a.alias)
        """
    }

    /// A row of `versionColumns`.
    static func version(_ row: PostgresRow) throws -> ModelVersion {
        let (model, version, status, createdAt, jobID, manifest, tags, promotion, aliases)
            = try row.decode((String, Int, String, Double, Int64?, String, String, String?, [String]).self)
        return ModelVersion(
            model: try ModelName(model),
            version: version,
            status: VersionStatus(rawValue: status) ?? .ready,
            createdAt: Date(timeIntervalSince1970: createdAt),
            jobID: jobID,
            manifest: try JSON.decode(Manifest.self, from: manifest),
            aliases: try aliases.map { try AliasName($0) },
            tags: try JSON.decode([String: String].self, from: tags),
            promotion: try promotion.map { try JSON.decode(PromotionRecord.self, from: $0) }
        )
    }

    static let aliasColumns = "model, alias, version, updated_at, updated_by"

    /// A row of `aliasColumns`.
    static func alias(_ row: PostgresRow) throws -> Alias {
        let (model, alias, version, updatedAt, updatedBy) = try row.decode((String, String, Int, Double, String).self)
        return Alias(model: try ModelName(model), alias: try AliasName(alias), version: version,
                     updatedAt: Date(timeIntervalSince1970: updatedAt), updatedBy: updatedBy)
    }
}

/// Decoded job specs by job id. A job's spec never changes after enqueue and decoding its JSON
/// is the largest cost of reading a job, so each store decodes a job's spec once. Bounded: at
/// `capacity` the older half (lower ids) goes.
///
/// Small on purpose: a worker process decodes each job it leases once and never reads it
/// again, and at 16,384 entries a busy worker's resident size kept growing (53 → 240 MB over
/// 9 minutes of no-op jobs; at 1,024 it levelled off at 72 MB within a minute).
final class DecodedSpecs: Sendable {
    private let entries = Mutex<[Int64: Spec]>([:])
    let capacity = 1_024

    /// Keeps the spec a job was enqueued with (its JSON was just written from it: decoding it
    /// back would only cost time).
    func remember(_ spec: Spec, for id: Int64) {
        entries.withLock { e in
            if e.count >= capacity {
                let cut = e.keys.sorted()[e.count / 2]
                e = e.filter { $0.key >= cut }
            }
            e[id] = spec
        }
    }

    func spec(_ id: Int64, json: () -> String) throws -> Spec {
        if let cached = entries.withLock({ $0[id] }) { return cached }
        let spec = try JSON.decode(Spec.self, from: json())
        remember(spec, for: id)
        return spec
    }
}
