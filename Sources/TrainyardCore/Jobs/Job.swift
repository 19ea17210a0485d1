import Foundation

public typealias JobID = Int64

/// What a job does.
public enum JobKind: String, Sendable, Codable, CaseIterable {
    case train
    /// Batch scoring of a file or a folder (`TransformSpec`).
    case transform
    /// One part (a file, or a byte range of a large file) of a fanned-out transform; made by
    /// the transform job, which waits for its parts (and scores them too while it waits), then
    /// assembles and commits their outputs.
    case transformPart = "transform-part"
}

/// `queued → running → succeeded / failed / cancelled`; a failed attempt with retries left goes
/// back to `queued` (see `RetryPolicy`).
public enum JobState: String, Sendable, Codable, CaseIterable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled

    public var isTerminal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// A unit of work in the queue, as stored.
public struct Job: Sendable, Codable, Equatable, Identifiable {
    public var id: JobID
    public var kind: JobKind
    public var state: JobState
    public var model: ModelName
    /// The spec after staging (data locations point into the artifact store).
    public var spec: Spec
    public var priority: Int
    /// Attempts started so far (0 while never run).
    public var attempt: Int
    /// First attempt plus `spec.retries`.
    public var maxAttempts: Int
    /// Not started before this instant (delayed start, retry backoff).
    public var runAfter: Date
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var leaseExpiresAt: Date?
    public var workerID: String?
    public var cancelRequested: Bool
    /// Why the last attempt failed (kept when a retry succeeds, cleared never).
    public var failureReason: String?
    /// The registered version, once succeeded.
    public var resultVersion: Int?
    public var progress: JobProgress?
    /// Who submitted it (token name or `local`).
    public var submittedBy: String

    enum CodingKeys: String, CodingKey {
        case id, kind, state, model, spec, priority, attempt, progress
        case maxAttempts = "max_attempts"
        case runAfter = "run_after"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case leaseExpiresAt = "lease_expires_at"
        case workerID = "worker_id"
        case cancelRequested = "cancel_requested"
        case failureReason = "failure_reason"
        case resultVersion = "result_version"
        case submittedBy = "submitted_by"
    }

    public init(id: JobID, kind: JobKind, state: JobState, model: ModelName, spec: Spec, priority: Int, attempt: Int,
                maxAttempts: Int, runAfter: Date, createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil,
                leaseExpiresAt: Date? = nil, workerID: String? = nil, cancelRequested: Bool = false,
                failureReason: String? = nil, resultVersion: Int? = nil, progress: JobProgress? = nil, submittedBy: String = "local") {
        self.id = id
        self.kind = kind
        self.state = state
        self.model = model
        self.spec = spec
        self.priority = priority
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.runAfter = runAfter
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.leaseExpiresAt = leaseExpiresAt
        self.workerID = workerID
        self.cancelRequested = cancelRequested
        self.failureReason = failureReason
        self.resultVersion = resultVersion
        self.progress = progress
        self.submittedBy = submittedBy
    }
}

/// Live training progress, reported by the trainer and stored on the job.
public struct JobProgress: Sendable, Codable, Equatable {
    public var epoch: Int?
    public var totalEpochs: Int?
    /// The loss the progress line shows (validation loss when there is one).
    public var loss: Double?
    public var etaSeconds: Double?
    public var metrics: [String: Double]
    public var message: String?
    /// Transforms: rows read so far, rows written, rows that went to the errors file.
    public var rows: Int?
    public var rowsOut: Int?
    public var rowErrors: Int?
    /// Transforms: rows per second over the job so far.
    public var rowsPerSecond: Double?

    public init(epoch: Int? = nil, totalEpochs: Int? = nil, loss: Double? = nil, etaSeconds: Double? = nil,
                metrics: [String: Double] = [:], message: String? = nil, rows: Int? = nil, rowsOut: Int? = nil, rowErrors: Int? = nil,
                rowsPerSecond: Double? = nil) {
        self.epoch = epoch
        self.totalEpochs = totalEpochs
        self.loss = loss
        self.etaSeconds = etaSeconds
        self.metrics = metrics
        self.message = message
        self.rows = rows
        self.rowsOut = rowsOut
        self.rowErrors = rowErrors
        self.rowsPerSecond = rowsPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case epoch, loss, metrics, message, rows
        case totalEpochs = "total_epochs"
        case etaSeconds = "eta_seconds"
        case rowsOut = "rows_out"
        case rowErrors = "row_errors"
        case rowsPerSecond = "rows_per_second"
    }
}

/// What a caller asks to enqueue.
public struct EnqueueRequest: Sendable {
    public var kind: JobKind
    public var spec: Spec
    public var priority: Int
    /// Earliest start (delayed start); nil = now.
    public var runAfter: Date?
    public var submittedBy: String
    /// Enqueueing again with the same key (per namespace) returns the job the first call made
    /// instead of a second one: client retries (`Idempotency-Key`), trigger firings and
    /// redelivered messages rely on it. At most `EnqueueRequest.maxIdempotencyKeyLength` bytes.
    public var idempotencyKey: String?

    public static let maxIdempotencyKeyLength = 255

    public init(kind: JobKind = .train, spec: Spec, priority: Int? = nil, runAfter: Date? = nil, submittedBy: String = "local",
                idempotencyKey: String? = nil) {
        self.kind = kind
        self.spec = spec
        self.priority = priority ?? spec.priority
        self.runAfter = runAfter
        self.submittedBy = submittedBy
        self.idempotencyKey = idempotencyKey
    }

    /// Refuses an empty or oversized key, or one with control characters (it is echoed in logs).
    public static func checkIdempotencyKey(_ key: String) throws(TrainyardError) {
        guard !key.isEmpty, key.utf8.count <= maxIdempotencyKeyLength, !key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw TrainyardError(.invalidArgument, "Idempotency-Key must be 1–\(maxIdempotencyKeyLength) bytes of printable text")
        }
    }
}

/// A filter for listing jobs.
public struct JobFilter: Sendable, Equatable {
    public var states: Set<JobState>
    public var kind: JobKind?
    public var model: ModelName?
    public var limit: Int
    /// Only jobs with an id below this (pagination, newest first).
    public var beforeID: JobID?

    public init(states: Set<JobState> = [], kind: JobKind? = nil, model: ModelName? = nil, limit: Int = 100, beforeID: JobID? = nil) {
        self.states = states
        self.kind = kind
        self.model = model
        self.limit = limit
        self.beforeID = beforeID
    }

    /// The most jobs one listing returns.
    public static let maxLimit = 1000

    /// `limit` as every store applies it: at least 1, at most `maxLimit`.
    public var effectiveLimit: Int { max(1, min(limit, Self.maxLimit)) }
}

/// One line of a job's log.
public struct LogLine: Sendable, Codable, Equatable {
    public var sequence: Int64
    public var at: Date
    public var text: String
    public init(sequence: Int64, at: Date, text: String) { self.sequence = sequence; self.at = at; self.text = text }
}
