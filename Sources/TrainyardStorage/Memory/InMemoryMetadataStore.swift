import Foundation
import TrainyardCore

/// A `MetadataStore` held in memory: the same contract as `SQLiteMetadataStore` (the suite in
/// Tests/TrainyardStorageTests/MetadataStoreContract.swift runs against both), for fast tests
/// and single-process runs that need no persistence.
///
/// An actor: each method runs alone, which is what SQLite's write transactions give the other
/// store (an exclusive dequeue, an atomic completion). Every method checks everything that can
/// refuse before it changes anything, so a refused call leaves no partial write behind.
/// The rules come from Core values (`JobLifecycle`, `QueuePosition`, `RunningCap`,
/// `PromotionPolicy`, `RegistryRules`); this type only keeps the rows. One instance is one
/// namespace.
public actor InMemoryMetadataStore: MetadataStore {
    let clock: any WallClock
    let lifecycle: JobLifecycle
    /// Called after each enqueue and each state change that may free a slot, so in-process
    /// workers wake without polling (the same calls as `SQLiteMetadataStore` makes).
    let onChange: @Sendable () -> Void

    /// Job rows; a job's id is its index + 1 (ids start at 1 and rows are never deleted).
    var jobRows: [JobRow] = []
    var jobIDsByIdempotencyKey: [String: JobID] = [:]
    /// Each job's log, in sequence order; a line's sequence is its index + 1.
    var logRows: [JobID: [LogLine]] = [:]
    var runningCaps: [JobKind: Int] = [:]
    var modelRows: [ModelName: ModelRow] = [:]
    var versionRows: [ModelName: [Int: VersionRow]] = [:]
    var aliasRows: [ModelName: [AliasName: Alias]] = [:]
    /// The alias audit trail of every model, oldest first.
    var aliasEventRows: [AliasEvent] = []
    /// Triggers and their fired files (InMemoryMetadataStore+Triggers.swift).
    var triggerTables = TriggerTables()
    /// Reclaimed leases per kind (`queueCounts`).
    var leaseExpiryCounts: [JobKind: Int] = [:]

    public init(clock: any WallClock = SystemClock(), retryPolicy: RetryPolicy = RetryPolicy(),
                onChange: @escaping @Sendable () -> Void = {}) {
        self.clock = clock
        lifecycle = JobLifecycle(retryPolicy: retryPolicy)
        self.onChange = onChange
    }

    /// A stored job: the public `Job` plus what only the store sees.
    struct JobRow {
        var job: Job
        /// The current lease's secret; nil when no lease is held.
        var leaseToken: String?
        /// The version number `reserveVersion` gave this job (kept across attempts).
        var reservedVersion: Int?

        var record: JobRecord {
            JobRecord(state: job.state, attempt: job.attempt, maxAttempts: job.maxAttempts, runAfter: job.runAfter, leaseToken: leaseToken,
                      leaseExpiresAt: job.leaseExpiresAt, workerID: job.workerID, cancelRequested: job.cancelRequested,
                      failureReason: job.failureReason, startedAt: job.startedAt, finishedAt: job.finishedAt,
                      resultVersion: job.resultVersion, progress: job.progress)
        }

        mutating func store(_ r: JobRecord) {
            job.state = r.state
            job.attempt = r.attempt
            job.maxAttempts = r.maxAttempts
            job.runAfter = r.runAfter
            leaseToken = r.leaseToken
            job.leaseExpiresAt = r.leaseExpiresAt
            job.workerID = r.workerID
            job.cancelRequested = r.cancelRequested
            job.failureReason = r.failureReason
            job.startedAt = r.startedAt
            job.finishedAt = r.finishedAt
            job.resultVersion = r.resultVersion
            job.progress = r.progress
        }
    }

    /// A model's row: created by its first version reservation.
    struct ModelRow {
        var createdAt: Date
        /// The number the next reservation gets; never reused, even after a version is deleted.
        var nextVersion: Int
        var task: TaskKind?
    }

    /// A registered version as stored (its aliases are read from the alias rows).
    struct VersionRow {
        var status: VersionStatus
        var createdAt: Date
        var jobID: JobID?
        var manifest: Manifest
        var tags: [String: String]
        /// What `promote:` decided when the version was registered.
        var promotion: PromotionRecord? = nil
    }

    // MARK: Row access

    func jobIndex(_ id: JobID) -> Int? {
        guard id >= 1, id <= JobID(jobRows.count) else { return nil }
        return Int(id - 1)
    }

    func jobRow(_ id: JobID) throws(TrainyardError) -> JobRow {
        guard let index = jobIndex(id) else { throw TrainyardError.notFound("job \(id)") }
        return jobRows[index]
    }

    /// Applies `event` to job `id` as `JobLifecycle` decides and stores the new record and its
    /// effects. Nothing is written when the machine refuses the event.
    @discardableResult
    func transition(_ id: JobID, _ event: JobEvent, now: Date) throws(TrainyardError) -> Job {
        var row = try jobRow(id)
        let next = try lifecycle.apply(event, to: row.record, jobID: id)
        row.store(next.record)
        jobRows[Int(id - 1)] = row
        for effect in next.effects {
            switch effect {
            case .log(let line): insertLog(id, [line], now: now)
            case .wakeWorkers: break  // every write that can free work ends with onChange(), as in the SQLite store
            }
        }
        return row.job
    }

    /// Refuses unless `lease` is job's current lease (`.leaseLost`), or the job is unknown (`.notFound`).
    func checkLease(_ lease: LeaseToken, now: Date) throws(TrainyardError) {
        try jobRow(lease.jobID).record.checkHeld(lease, at: now)
    }

    func insertLog(_ id: JobID, _ lines: [String], now: Date) {
        guard !lines.isEmpty else { return }
        var log = logRows[id, default: []]
        for line in lines { log.append(LogLine(sequence: Int64(log.count + 1), at: now, text: line)) }
        logRows[id] = log
    }

    /// A fresh lease secret: 128 random bits, as hex.
    static func newToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(g.next() as UInt64, radix: 16) }.joined(separator: "-")
    }
}
