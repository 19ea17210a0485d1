import Foundation
import GRDB
import TrainyardCore

/// Row → domain value decoding for the SQLite store (the "raw SQL → records" layer).
enum SQLiteRows {
    static func date(_ value: Double?) -> Date? { value.map { Date(timeIntervalSince1970: $0) } }

    /// The jobs columns `job(_:specs:)` reads, in its order. Rows are read by position: GRDB
    /// looks a column up by name case-insensitively, lowercasing on every access, which on the
    /// queue's hot path (every lease, heartbeat and completion reads a job) cost more than the
    /// SQL itself. `lease_token` comes last, for the lifecycle's record only.
    static let jobColumns = """
        id, kind, state, model, spec, priority, attempt, max_attempts, run_after, created_at, started_at, finished_at, \
        lease_expires_at, worker_id, cancel_requested, failure_reason, result_version, progress, submitted_by, lease_token
        """
    /// Positions in `jobColumns` read outside `job(_:specs:)`.
    static let progressColumn = 17, leaseTokenColumn = 19

    /// A row of `SELECT \(jobColumns)`. The spec text is read only when the cache lacks it.
    static func job(_ row: Row, specs: SpecCache) throws -> Job {
        let id: Int64 = row[0]
        let spec = try specs.spec(id) { row[4] }
        let progressText: String? = row[progressColumn]
        return Job(
            id: id,
            kind: JobKind(rawValue: row[1]) ?? .train,
            state: JobState(rawValue: row[2]) ?? .failed,
            model: try ModelName(row[3] as String),
            spec: spec,
            priority: row[5],
            attempt: row[6],
            maxAttempts: row[7],
            runAfter: Date(timeIntervalSince1970: row[8]),
            createdAt: Date(timeIntervalSince1970: row[9]),
            startedAt: date(row[10]),
            finishedAt: date(row[11]),
            leaseExpiresAt: date(row[12]),
            workerID: row[13],
            cancelRequested: (row[14] as Int) != 0,
            failureReason: row[15],
            resultVersion: row[16],
            progress: try progressText.map { try JSON.decode(JobProgress.self, from: $0) },
            submittedBy: row[18]
        )
    }

    static func version(_ row: Row, aliases: [AliasName]) throws -> ModelVersion {
        let manifest = try JSON.decode(Manifest.self, from: row["manifest"] as String)
        let tags = try JSON.decode([String: String].self, from: row["tags"] as String)
        let promotion = try (row["promotion"] as String?).map { try JSON.decode(PromotionRecord.self, from: $0) }
        return ModelVersion(
            model: try ModelName(row["model"] as String),
            version: row["version"],
            status: VersionStatus(rawValue: row["status"]) ?? .ready,
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            jobID: row["job_id"],
            manifest: manifest,
            aliases: aliases,
            tags: tags,
            promotion: promotion
        )
    }

    static func alias(_ row: Row) throws -> Alias {
        Alias(model: try ModelName(row["model"] as String), alias: try AliasName(row["alias"] as String),
              version: row["version"], updatedAt: Date(timeIntervalSince1970: row["updated_at"]), updatedBy: row["updated_by"])
    }
}
