import Foundation
import PostgresNIO
import Synchronization
import TrainyardCore

/// How a job's lifecycle is persisted: `JobLifecycle` decides on the record as read, and one
/// statement writes the result as a compare-and-set on the row's `row_version` (every
/// lifecycle write increments it; log lines, a reserved version number, do not). A write that
/// finds the row changed reads it again and lets the lifecycle decide again.
///
/// The rows this store last read or wrote are kept (`RecentJobRows`), so a worker's heartbeat
/// or completion is usually one round trip: written against the kept row, read only when the
/// row changed elsewhere (a cancel request, a reclaim) — which the compare-and-set detects.
extension PostgresMetadataStore {
    /// Applies `event` to job `id` and writes the result, its log lines (`finalLog` first),
    /// optionally a lease expiry count and the change notification `notify` calls for, in one
    /// statement; retried on a concurrent change. The store holds no lifecycle rules of its own.
    func transition(_ id: JobID, _ event: JobEvent, now: Double, finalLog: [String] = [], notify: ChangeNotice, countLeaseExpiry: Bool = false,
                    readingCandidates: Bool = false, leasing plan: NextLeasePlan? = nil, doing what: @autoclosure () -> String) async throws -> Job {
        var stored = recentRows[id]
        var fresh = false
        for _ in 0..<Self.writeRaces {
            if stored == nil {
                guard let read = try await reading(what(), { [self] in try await fetchStored(id, on: nil) }) else {
                    recentRows[id] = nil
                    throw TrainyardError.notFound("job \(id)")
                }
                stored = read
                fresh = true
            }
            guard let current = stored else { continue }
            let next: JobLifecycle.Transition
            do {
                next = try lifecycle.apply(event, to: current.record, jobID: id)
            } catch {
                // A refusal counts only when decided on the row as it is now.
                if fresh { throw error }
                stored = nil
                continue
            }
            if let written = try await writing(what(), { [self] in
                try await writeTransition(current, next, now: now, finalLog: finalLog, notify: notify, countLeaseExpiry: countLeaseExpiry,
                                          readingCandidates: readingCandidates, leasing: plan, on: nil)
            }) {
                return written.job
            }
            stored = nil
            fresh = false
        }
        throw TrainyardError(.unavailable, "job \(id) changed \(Self.writeRaces) times while \(what()); try again")
    }

    /// Writes `next` over `stored` if the row's version is still `stored.rowVersion`. Returns
    /// the row as written; nil when not written. With `readingCandidates` (a worker's
    /// completion, outside a transaction), the same statement reads that worker's next
    /// candidates (`CandidatePrefetch`), and with a `plan` it also leases one of the candidates
    /// kept before (`plan.leased`, when a candidate was still free).
    ///
    /// A row written outside a transaction (committed) is kept for the next write. One written
    /// inside a transaction is not (it may still roll back, and a kept version the database
    /// never committed could later match another process's write): the caller keeps it after
    /// the commit.
    func writeTransition(_ stored: StoredJob, _ next: JobLifecycle.Transition, now: Double, finalLog: [String] = [], notify: ChangeNotice,
                         countLeaseExpiry: Bool = false, readingCandidates: Bool = false, leasing plan: NextLeasePlan? = nil,
                         on connection: PostgresConnection?) async throws -> StoredJob? {
        let r = next.record
        var lines = finalLog
        for effect in next.effects {
            switch effect {
            case .log(let line): lines.append(line)
            case .wakeWorkers: break  // the writes that can free work notify and call onChange
            }
        }
        let progressText = r.progress == stored.record.progress ? stored.progressText : try r.progress.map { try JSON.encodeString($0) }
        let (notifyAll, notifyIfCapped) = notify.decide(next, kind: stored.job.kind)
        let write = TransitionWrite(record: r, progressText: progressText, lines: lines, id: stored.job.id, rowVersion: stored.rowVersion,
                                    now: now, countLeaseExpiry: countLeaseExpiry, channel: schema.channel, payload: instanceID,
                                    notify: notifyAll, notifyIfCapped: notifyIfCapped)
        let wrote: Bool
        // A completion's statements count no lease expiry (a worker's completion never expires one).
        if readingCandidates, !countLeaseExpiry, connection == nil, let worker = stored.job.workerID, let kinds = plan?.kinds ?? prefetch.kinds(of: worker) {
            let rows = if let plan {
                try await run(Statements.WriteTransitionLeasingNext(write: write, proposals: plan.proposals, kinds: kinds, now: now,
                                                                    expiredLimit: Self.reclaimBatch, candidates: candidateDepth.current))
            } else {
                try await run(Statements.WriteTransitionReadingCandidates(write: write, kinds: kinds, now: now, expiredLimit: Self.reclaimBatch,
                                                                         candidates: candidateDepth.current))
            }
            // The first row carries the completion's and the lease's columns: indexed once.
            let first = rows.first?.makeRandomAccess()
            wrote = try first?[Statements.WriteTransitionReadingCandidates.writtenColumn].decode(Int64?.self) != nil
            if wrote {
                var candidates = rows
                if let plan, let first, let leasedID = try first[Statements.WriteTransitionLeasingNext.leasedColumn].decode(Int64?.self) {
                    // Committed: a row that cannot be read back is left to the caller to give back
                    // (`releaseLeases(of:)`), and the completion stands.
                    let leased = try? PostgresRows.job(first, at: Statements.WriteTransitionLeasingNext.leasedColumn, specs: specs)
                    // The candidates were read before the lease: the leased job is among them.
                    candidates.removeAll { PostgresRows.candidateID($0) == leasedID }
                    if let leased, leased.leaseToken == plan.token {
                        let ord = try? first[Statements.WriteTransitionLeasingNext.ordColumn].decode(Int.self)
                        candidateDepth.leased(passedOver: ord ?? 0)
                        keep(leased)
                        plan.statementLeased(leased)
                    } else {
                        plan.statementLeased(nil)
                    }
                } else if let plan {
                    // Written, and none of the proposals was free (or the queue no longer allowed one).
                    candidateDepth.exhausted(candidates: plan.candidateIDs.count)
                }
                prefetch.keep(candidates, kinds: kinds, for: worker)
            }
        } else {
            wrote = !(try await run(Statements.WriteTransition(write: write), on: connection)).isEmpty
        }
        guard wrote else {
            recentRows[stored.job.id] = nil
            return nil
        }
        let written = StoredJob(job: stored.applying(r), leaseToken: r.leaseToken, progressText: progressText, rowVersion: stored.rowVersion + 1,
                                reservedVersion: stored.reservedVersion)
        if connection == nil { keep(written) } else { recentRows[written.job.id] = nil }
        return written
    }

    /// Keeps a committed row for the next write (a finished job's is dropped: nothing writes it again).
    func keep(_ row: StoredJob) {
        recentRows[row.job.id] = row.job.state.isTerminal ? nil : row
    }

    func fetchStored(_ id: JobID, on connection: PostgresConnection?, forUpdate: Bool = false) async throws -> StoredJob? {
        let rows = forUpdate ? try await run(Statements.FetchJobForUpdate(id: id), on: connection)
                             : try await run(Statements.FetchJob(id: id), on: connection)
        return try rows.first.map { try PostgresRows.job($0, specs: specs) }
    }
}

/// The job rows a store last read or wrote, by id: a compare-and-set write against one of
/// them succeeds only if the row is still that version, so a stale entry costs one read, never
/// a wrong write. Bounded: when full, it starts again empty.
final class RecentJobRows: Sendable {
    private let rows = Mutex<[JobID: StoredJob]>([:])
    let capacity = 4096

    subscript(id: JobID) -> StoredJob? {
        get { rows.withLock { $0[id] } }
        set {
            rows.withLock { rows in
                if newValue != nil, rows[id] == nil, rows.count >= capacity { rows.removeAll(keepingCapacity: true) }
                rows[id] = newValue
            }
        }
    }
}
