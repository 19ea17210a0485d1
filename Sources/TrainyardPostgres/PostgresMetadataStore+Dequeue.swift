import Foundation
import PostgresNIO
import TrainyardCore

/// Leasing a job. The common case is two round trips and no explicit transaction: one read
/// (`Statements.DequeueCandidates`: the best due jobs, the running caps, expired leases), then
/// one statement that leases the first of those candidates no other dequeue holds
/// (`Statements.LeaseFirstUnheld`, `FOR UPDATE SKIP LOCKED`), each candidate sent with the
/// record `JobLifecycle` decided for it, in `QueuePosition` order. A job whose kind has a running
/// cap is leased in a transaction that counts the kind's running jobs under the kind's
/// advisory lock, so caps hold across processes while uncapped kinds never wait for each other.
/// A busy worker seldom dequeues: its completion leases its next job (`nextLeasePlan`).
extension PostgresMetadataStore {
    /// Returns expired leases to the queue first (each a compare-and-set of its own, counted in
    /// `lease_expiries`), then leases the best due job of `kinds` whose kind is under its cap.
    public func dequeue(workerID: String, kinds: Set<JobKind>, leaseDuration: Duration) async throws -> Lease? {
        let kindNames = kinds.map(\.rawValue).sorted()
        let now = self.now
        let token = Self.newToken()
        let event = JobEvent.lease(token: token, workerID: workerID, now: Date(timeIntervalSince1970: now), duration: leaseDuration)
        prefetch.dequeuing(kindNames, worker: workerID)
        for round in 0..<Self.dequeueRounds {
            let read: [PostgresRow]
            if round == 0, let kept = prefetch.take(for: workerID, kinds: kindNames, byDequeue: true) {
                read = kept
            } else {
                read = try await reading("reading the queue") { [self] in
                    try await run(Statements.DequeueCandidates(kinds: kindNames, now: now, expiredLimit: Self.reclaimBatch, candidates: candidateDepth.current))
                }
            }
            guard let first = read.first else { return nil }
            let (caps, expired) = try PostgresRows.candidateMeta(first)
            if !expired.isEmpty {
                var reclaimed = false
                for id in expired { reclaimed = try await reclaimExpiredLease(id, now: now) || reclaimed }
                // Reclaimed jobs may be due, and capped kinds have fewer running: read again.
                if reclaimed { continue }
            }
            // No due job: the job columns are NULL (an idle worker's poll ends here).
            guard PostgresRows.candidateID(first) != nil else { return nil }
            let candidates = try read.map { try PostgresRows.candidate($0) }.sorted { $0.position < $1.position }
            // A capped kind is counted under its lock; that transaction also decides among the
            // other kinds, so the queue's order holds.
            guard let proposals = try leaseProposals(candidates, caps: caps, event: event) else {
                return try await dequeueCounted(kindNames, caps: caps, event: event, token: token, now: now)
            }
            let json = LeaseProposal.json(proposals)
            let written = try await writing("leasing a job") { [self] in
                try await run(Statements.LeaseFirstUnheld(proposals: json, now: now)).first.map { row in
                    let cells = row.makeRandomAccess()
                    return (try PostgresRows.job(cells, specs: specs), try cells[Statements.LeaseFirstUnheld.ordColumn].decode(Int.self))
                }
            }
            if let (leased, chosen) = written, proposals.indices.contains(chosen), leased.leaseToken == token {
                candidateDepth.leased(passedOver: chosen)
                keep(leased)
                // The other candidates serve this worker's next completion, which leases its
                // next job in its own statement (`complete(_:registration:finalLog:leasingNext:)`).
                prefetch.keep(read.filter { PostgresRows.candidateID($0) != leased.job.id }, kinds: kindNames,
                              for: workerID, forCompletionOnly: true)
                return Lease(token: LeaseToken(jobID: leased.job.id, token: token, attempt: leased.job.attempt), job: leased.job,
                             expiresAt: leased.job.leaseExpiresAt!)
            }
            // Every candidate was held by another dequeue or leased already: read again, deeper.
            candidateDepth.exhausted(candidates: proposals.count)
        }
        // Every candidate went to other dequeues several times over: the locking path decides.
        return try await dequeueCounted(kindNames, caps: nil, event: event, token: token, now: now)
    }

    /// What leasing one of `candidates` (in queue order) would write: the lifecycle's record for
    /// each of those before the first of a capped kind (a capped kind is counted under its lock,
    /// `dequeueCounted`; a candidate the lifecycle refuses is left out). nil when the first is
    /// of a capped kind.
    func leaseProposals(_ candidates: [QueueCandidate], caps: [String: Int], event: JobEvent) throws -> [LeaseProposal]? {
        let uncapped = candidates.prefix { caps[$0.kind] == nil }
        if uncapped.isEmpty { return nil }
        var proposals: [LeaseProposal] = []
        for candidate in uncapped {
            guard let next = try? lifecycle.apply(event, to: candidate.record, jobID: candidate.id) else { continue }
            proposals.append(try LeaseProposal(candidate: candidate, next: next))
        }
        return proposals
    }

    /// The lease a completion may write for `next`'s worker: proposals made from the candidates
    /// kept for it, when they hold a due job of an uncapped kind and no expired lease (a
    /// dequeue returns those to the queue first). nil otherwise: the worker dequeues.
    func nextLeasePlan(_ next: NextLeaseRequest, kinds: [String], now: Double) -> NextLeasePlan? {
        guard let rows = prefetch.take(for: next.workerID, kinds: kinds, byDequeue: false), let first = rows.first,
              let (caps, expired) = try? PostgresRows.candidateMeta(first), expired.isEmpty,
              let candidates = try? rows.map({ try PostgresRows.candidate($0) }).sorted(by: { $0.position < $1.position })
        else { return nil }
        let token = Self.newToken()
        let event = JobEvent.lease(token: token, workerID: next.workerID, now: Date(timeIntervalSince1970: now), duration: next.leaseDuration)
        guard let proposals = try? leaseProposals(candidates, caps: caps, event: event), !proposals.isEmpty else { return nil }
        return NextLeasePlan(proposals: LeaseProposal.json(proposals), token: token, candidateIDs: proposals.map(\.candidate.id), kinds: kinds)
    }

    /// Rounds of candidates read before the locking path takes over.
    static var dequeueRounds: Int { 3 }
    /// Expired leases returned to the queue per dequeue; the rest go on the next one.
    static var reclaimBatch: Int { 1000 }

    /// In one transaction: locks and counts the requested kinds that have a running cap (read
    /// again when `caps` is nil), locks the best due job of the admitted kinds with
    /// `FOR UPDATE SKIP LOCKED` (a row another dequeue holds is passed over, never waited for)
    /// and leases it.
    func dequeueCounted(_ kindNames: [String], caps knownCaps: [String: Int]?, event: JobEvent, token: String, now: Double) async throws -> Lease? {
        let s = schema
        let leased = try await transaction("leasing a job") { [self] connection -> StoredJob? in
            var caps = knownCaps ?? [:]
            if knownCaps == nil {
                for row in try await connection.query("SELECT kind, cap FROM \(unescaped: s.queueCaps) WHERE kind = ANY(\(kindNames))",
                                                      logger: queryLogger).collect() {
                    let (kind, cap) = try row.decode((String, Int).self)
                    caps[kind] = cap
                }
            }
            var eligible = kindNames
            let capped = kindNames.filter { caps[$0] != nil }
            if !capped.isEmpty {
                // Serialises the count-and-lease of capped kinds across processes (released at
                // commit, after the lease is written); taken in one order (sorted) so two
                // dequeues cannot deadlock. The count is a statement of its own, so its snapshot
                // sees every lease committed before the lock was given.
                let keys = capped.map { s.runningCapLockKey(JobKind(rawValue: $0) ?? .train) }
                _ = try await run(Statements.LockRunningCaps(keys: keys), on: connection)
                var running: [String: Int] = [:]
                for row in try await run(Statements.CountRunning(kinds: capped), on: connection) {
                    let (kind, count) = try row.decode((String, Int).self)
                    running[kind] = count
                }
                eligible = kindNames.filter { RunningCap.admits(running: running[$0, default: 0], cap: caps[$0]) }
            }
            guard !eligible.isEmpty else { return nil }
            var rows = try await run(Statements.LockQueueHead(kinds: eligible, now: now), on: connection)
            if rows.isEmpty {
                // Every head was held by another dequeue (or the due job went): look deeper, so
                // a dequeue never says "nothing" while an unheld job is due.
                rows = try await run(Statements.LockFirstUnheldOfEachKind(kinds: eligible, now: now), on: connection)
            }
            guard let best = try rows.map({ try PostgresRows.job($0, specs: specs) }).min(by: { $0.job.queuePosition < $1.job.queuePosition })
            else { return nil }
            let next = try lifecycle.apply(event, to: best.record, jobID: best.job.id)
            guard let written = try await writeTransition(best, next, now: now, notify: .none, on: connection) else {
                throw PostgresStoreError(store: settings.redacted, operation: "leasing job \(best.job.id)", reason: "the locked row changed")
            }
            return written
        }
        guard let leased else { return nil }
        keep(leased)
        return Lease(token: LeaseToken(jobID: leased.job.id, token: token, attempt: leased.job.attempt), job: leased.job, expiresAt: leased.job.leaseExpiresAt!)
    }

    /// Returns job `id` to the queue (or fails or cancels it) if its lease is still expired
    /// when read; another process that reclaimed it first, or a heartbeat that arrived, wins.
    /// Counted in `lease_expiries` in the same statement. Whether this call reclaimed it.
    func reclaimExpiredLease(_ id: JobID, now: Double) async throws -> Bool {
        let event = JobEvent.reclaim(now: Date(timeIntervalSince1970: now), unitRandom: Double.random(in: 0..<1))
        do {
            _ = try await transition(id, event, now: now, notify: .none, countLeaseExpiry: true, doing: "reclaiming the expired lease of job \(id)")
            return true
        } catch let error as TrainyardError where error.code == .conflict || error.code == .notFound {
            // Not expired any more (reclaimed elsewhere, or extended): nothing to do.
            return false
        }
    }
}
