import Foundation

/// The queue and the model registry: one port, so a backend keeps both in one transactional
/// store (completion registers a version and marks the job succeeded atomically).
///
/// Implementations: `SQLiteMetadataStore` (embedded, WAL), `InMemoryMetadataStore` (an actor,
/// for tests and runs without persistence) and `PostgresMetadataStore` (shared by many
/// processes). All of them pass the same contract suite
/// (Tests/TrainyardStorageTests/MetadataStoreContract.swift, run per backend by
/// MetadataStoreContractTests.swift). The rules they share are Core values: `JobLifecycle`,
/// `QueuePosition`, `RunningCap`, `PromotionPolicy`, `RegistryRules`.
///
/// Queue contract:
/// - `dequeue` leases the best eligible job (highest priority, then oldest `runAfter`, then
///   lowest id) whose kind is under its running cap, and first returns jobs whose lease expired
///   to the queue (or fails them when no attempts remain).
/// - Writes about a running job present its `LeaseToken`; a stale token gets `.leaseLost`.
/// - `fail` applies `RetryPolicy`: back to `queued` after a backoff, or `failed` with the reason.
public protocol MetadataStore: Sendable {
    // MARK: Queue
    /// Enqueues, or returns the job an earlier request with the same `idempotencyKey` made.
    func enqueue(_ request: EnqueueRequest) async throws -> Job
    /// The job enqueued with this idempotency key, if any.
    func job(idempotencyKey: String) async throws -> Job?
    func dequeue(workerID: String, kinds: Set<JobKind>, leaseDuration: Duration) async throws -> Lease?
    func heartbeat(_ lease: LeaseToken, leaseDuration: Duration, progress: JobProgress?) async throws -> HeartbeatReply
    /// Marks the job succeeded; with a registration, registers the version in the same transaction.
    /// `finalLog` lines are appended to the job's log in the same transaction (the last flush
    /// of a worker costs no extra round trip).
    func complete(_ lease: LeaseToken, registration: VersionRegistration?, finalLog: [String]) async throws -> CompletionOutcome
    /// `complete`, and the next job `next` asks for leased as `dequeue` would lease it, in the
    /// same write when the store can (a worker going from one job to the next then makes one
    /// round trip, not two). The lease is nil when the store did not lease one: the worker
    /// dequeues as usual. A store that cannot combine the two leases nothing here (the default).
    func complete(_ lease: LeaseToken, registration: VersionRegistration?, finalLog: [String],
                  leasingNext next: NextLeaseRequest) async throws -> (CompletionOutcome, Lease?)
    /// Records a failed attempt: retried after a backoff if `retryable` and attempts remain, else `failed`.
    func fail(_ lease: LeaseToken, reason: String, retryable: Bool) async throws -> Job
    /// The worker stopped a job because cancellation was requested.
    func acknowledgeCancellation(_ lease: LeaseToken) async throws -> Job
    /// Gives a job back to the queue without counting the attempt (graceful shutdown).
    func release(_ lease: LeaseToken) async throws -> Job
    /// Cancels a queued job at once, or asks a running one to stop. Terminal jobs: `.conflict`.
    func cancel(_ id: JobID) async throws -> Job
    func job(_ id: JobID) async throws -> Job?
    func jobs(_ filter: JobFilter) async throws -> [Job]
    /// When the next queued job becomes eligible or a lease expires (for a worker's sleep).
    func nextWakeup() async throws -> Date?
    /// Per-kind cap on concurrently running jobs; nil removes the cap.
    func setRunningCap(_ cap: Int?, for kind: JobKind) async throws

    // MARK: Logs
    func appendLog(_ id: JobID, lines: [String]) async throws
    func logs(_ id: JobID, after sequence: Int64, limit: Int) async throws -> [LogLine]

    // MARK: Registry
    /// Reserves the version number this job will register (idempotent per job: a retried
    /// attempt gets the same number, so artifacts land in the same place and no number is skipped).
    func reserveVersion(_ lease: LeaseToken) async throws -> Int
    func models() async throws -> [ModelSummary]
    func model(_ name: ModelName) async throws -> ModelSummary?
    func versions(of name: ModelName) async throws -> [ModelVersion]
    func version(_ name: ModelName, _ number: Int) async throws -> ModelVersion?
    /// Resolves `name`, `name@alias` or `name:N` to a ready version; `.notFound` otherwise.
    func resolve(_ reference: ModelReference) async throws -> ModelVersion
    func aliases(of name: ModelName) async throws -> [Alias]
    /// Points `alias` at `version` (creating or moving it), audited with `actor`.
    @discardableResult
    func setAlias(_ alias: AliasName, of name: ModelName, to version: Int, actor: String, reason: String?) async throws -> Alias
    func deleteAlias(_ alias: AliasName, of name: ModelName, actor: String) async throws
    func aliasEvents(of name: ModelName) async throws -> [AliasEvent]
    /// Archives (hides from default resolution) or restores a version; refused while an alias points at it.
    func setStatus(_ status: VersionStatus, of name: ModelName, version: Int) async throws -> ModelVersion
    /// Deletes a version's registry row; refused while an alias points at it.
    func deleteVersion(_ name: ModelName, version: Int) async throws
    func setTags(_ tags: [String: String], of name: ModelName, version: Int) async throws -> ModelVersion

    // MARK: Triggers
    /// Stores a new trigger (paused if the definition says so), with the store's clock as its
    /// creation and `activeSince`; `.conflict` when one with this name exists.
    func createTrigger(_ definition: TriggerDefinition, createdBy: String) async throws -> Trigger
    func trigger(_ name: TriggerName) async throws -> Trigger?
    /// Every trigger, by name.
    func triggers() async throws -> [Trigger]
    /// Pauses or resumes (resuming sets `activeSince` to now: slots missed while paused never
    /// fire). `.notFound` for an unknown name.
    func setTriggerPaused(_ name: TriggerName, paused: Bool) async throws -> Trigger
    /// Removes a trigger and its record of fired files; the jobs it made stay. `.notFound`.
    func deleteTrigger(_ name: TriggerName) async throws
    /// The record of the file (or object, with its ETag) fired by trigger `triggerID` whose
    /// identity digest is `identity`, if it was.
    func firedFile(trigger triggerID: Int64, identity: String) async throws -> FiredFile?
    /// Records a firing: the file (with its identity) or the slot (the trigger's last slot
    /// becomes the later of the two), the job, the count; clears the last error. Recording the
    /// same file or an older slot again changes nothing. A message (sqs) counts every time it
    /// is recorded, and its S3 object, if any, becomes the last file. False (and nothing
    /// written) when the trigger is gone or is another one now (its id differs).
    @discardableResult
    func recordFiring(_ firing: TriggerFiring) async throws -> Bool
    /// Records why trigger `triggerID` could not fire (shown by `triggers show`); ignored when
    /// the trigger is gone.
    func recordTriggerError(_ name: TriggerName, triggerID: Int64, message: String) async throws
    /// Records where the listing of watch trigger `triggerID`'s `s3://` prefix stopped
    /// (`TriggerStatus.listingCursor`; nil: start again at the beginning), so the next pass in
    /// any process continues there. The last write wins; ignored when the trigger is gone or is
    /// another one now. The record of fired files keeps each object's ETag (`WatchedFile.etag`).
    func recordListingCursor(_ name: TriggerName, triggerID: Int64, cursor: String?) async throws

    // MARK: Operations
    /// Jobs per kind and state, and reclaimed leases per kind, read in one cheap pass (a
    /// grouped count, no job rows decoded): `/metrics` serves it on every scrape. A lease
    /// expiry is counted each time `dequeue` reclaims an expired lease (whatever the job became),
    /// in the same transaction as the reclaim.
    func queueCounts() async throws -> QueueCounts
    /// Returns when the store answers a trivial round trip; throws when it cannot be reached
    /// (`/readyz`, a worker waiting for its store to come back). Cheap, and changes nothing.
    func ping() async throws

    // MARK: Wake-ups
    /// Whether anyone in this process waits for the store's `onChange` now (an idle worker, a
    /// transform waiting for its parts). A store shared by several processes may hear about the
    /// other processes' changes only while someone waits (PostgreSQL's `LISTEN`), and calls
    /// `onChange` once it hears again, so that a waiter looks at the queue afresh; busy
    /// processes are then not sent a wake-up per job. The embedded stores call `onChange` for
    /// this process's changes only and ignore it.
    func changeInterest(_ waiting: Bool)
}

extension MetadataStore {
    public func changeInterest(_ waiting: Bool) {}

    public func complete(_ lease: LeaseToken, registration: VersionRegistration?, finalLog: [String],
                         leasingNext next: NextLeaseRequest) async throws -> (CompletionOutcome, Lease?) {
        (try await complete(lease, registration: registration, finalLog: finalLog), nil)
    }

    /// Completes without final log lines.
    public func complete(_ lease: LeaseToken, registration: VersionRegistration?) async throws -> CompletionOutcome {
        try await complete(lease, registration: registration, finalLog: [])
    }
}
