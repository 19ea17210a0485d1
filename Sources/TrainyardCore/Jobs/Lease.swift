import Foundation

/// Proof that a worker holds a running job: the job id plus a random token minted at dequeue.
///
/// Every write a worker makes about its job (heartbeat, completion, failure) presents the
/// token; once the lease has expired and the job was handed to another worker, the token no
/// longer matches and the write is refused with `.leaseLost`. That fencing is what makes
/// "one successful job → exactly one version" hold when workers die or stall.
public struct LeaseToken: Sendable, Hashable, Codable {
    public var jobID: JobID
    public var token: String
    public var attempt: Int

    public init(jobID: JobID, token: String, attempt: Int) {
        self.jobID = jobID
        self.token = token
        self.attempt = attempt
    }
}

/// A dequeued job and its lease.
public struct Lease: Sendable {
    public var token: LeaseToken
    public var job: Job
    public var expiresAt: Date

    public init(token: LeaseToken, job: Job, expiresAt: Date) {
        self.token = token
        self.job = job
        self.expiresAt = expiresAt
    }
}

/// What a heartbeat learns.
public struct HeartbeatReply: Sendable, Equatable {
    public var expiresAt: Date
    /// Someone asked to cancel the job: the worker should stop at its next check.
    public var cancelRequested: Bool
    public init(expiresAt: Date, cancelRequested: Bool) { self.expiresAt = expiresAt; self.cancelRequested = cancelRequested }
}

/// What a worker asks its completion to lease next (`MetadataStore.complete(_:registration:finalLog:leasingNext:)`):
/// the arguments of the `dequeue` it would make otherwise.
public struct NextLeaseRequest: Sendable {
    public var workerID: String
    public var kinds: Set<JobKind>
    public var leaseDuration: Duration

    public init(workerID: String, kinds: Set<JobKind>, leaseDuration: Duration) {
        self.workerID = workerID
        self.kinds = kinds
        self.leaseDuration = leaseDuration
    }
}
