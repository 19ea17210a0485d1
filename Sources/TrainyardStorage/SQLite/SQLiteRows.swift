import Foundation
import GRDB
import TrainyardCore

/// Row → domain value decoding for the SQLite store (the "raw SQL → records" layer).
enum SQLiteRows {
    static func date(_ value: Double?) -> Date? { value.map { Date(timeIntervalSince1970: $0) } }

    static func job(_ row: Row, specs: SpecCache) throws -> Job {
        let spec = try specs.spec(row["id"], json: row["spec"])
        let progressText: String? = row["progress"]
        return Job(
            id: row["id"],
            kind: JobKind(rawValue: row["kind"]) ?? .train,
            state: JobState(rawValue: row["state"]) ?? .failed,
            model: try ModelName(row["model"] as String),
            spec: spec,
            priority: row["priority"],
            attempt: row["attempt"],
            maxAttempts: row["max_attempts"],
            runAfter: Date(timeIntervalSince1970: row["run_after"]),
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            startedAt: date(row["started_at"]),
            finishedAt: date(row["finished_at"]),
            leaseExpiresAt: date(row["lease_expires_at"]),
            workerID: row["worker_id"],
            cancelRequested: (row["cancel_requested"] as Int) != 0,
            failureReason: row["failure_reason"],
            resultVersion: row["result_version"],
            progress: try progressText.map { try JSON.decode(JobProgress.self, from: $0) },
            submittedBy: row["submitted_by"]
        )
    }

    static func version(_ row: Row, aliases: [AliasName]) throws -> ModelVersion {
        let manifest = try JSON.decode(Manifest.self, from: row["manifest"] as String)
        let tags = try JSON.decode([String: String].self, from: row["tags"] as String)
        return ModelVersion(
            model: try ModelName(row["model"] as String),
            version: row["version"],
            status: VersionStatus(rawValue: row["status"]) ?? .ready,
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            jobID: row["job_id"],
            manifest: manifest,
            aliases: aliases,
            tags: tags
        )
    }

    static func alias(_ row: Row) throws -> Alias {
        Alias(model: try ModelName(row["model"] as String), alias: try AliasName(row["alias"] as String),
              version: row["version"], updatedAt: Date(timeIntervalSince1970: row["updated_at"]), updatedBy: row["updated_by"])
    }
}
