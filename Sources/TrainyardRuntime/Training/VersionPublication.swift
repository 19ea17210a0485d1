import Foundation
import TrainyardCore

/// Publishes the files one attempt staged as its model version, fenced against every other
/// attempt of the same job.
///
/// Retried attempts share the version number the job reserved, so two attempts can hold files
/// for `models/{name}/{n}/` at once: a slow one whose lease expired while it wrote, and the one
/// that took the job over. Each writes only under its own staging prefix, and the version
/// appears by `ArtifactStore.publish`, which is put-if-absent for the whole folder. When the
/// version is already published:
/// - by a *later* attempt of this job: this attempt is stale (`leaseLost`); its staged files are
///   discarded and the published version is left untouched.
/// - by another job, or files without a manifest: the registry and the store disagree (numbers
///   are never reused); the lease holder fails the job, not retried, and overwrites nothing.
/// - by an *earlier* attempt of this job: that attempt lost its lease after publishing and
///   before registering (a registered version belongs to a succeeded job, which no later attempt
///   can lease). It publishes at most once and can no longer register, so, with the lease
///   confirmed, its files are set aside and this attempt publishes again.
/// - by this attempt (a retried call after a publish whose answer was lost): done.
/// The registry row is committed afterwards by the fenced `complete`, so the version that is
/// registered is always the one its registering attempt published.
struct VersionPublication: Sendable {
    let artifacts: any ArtifactStore
    let store: any MetadataStore
    let token: LeaseToken
    let model: ModelName
    let version: Int
    let leaseDuration: Duration

    /// Rounds of "set an earlier attempt's version aside, publish again": each earlier attempt
    /// publishes at most once, so this only bounds a pathological number of stale attempts.
    static let maxRounds = 16

    var staging: String { ArtifactKeys.attemptStaging(token.jobID, attempt: token.attempt) }
    var destination: String { ArtifactKeys.versionPrefix(model, version) }

    /// Removes what this job's earlier attempts (and a previous run of this one) left staged.
    /// A stale attempt still writing recreates its own files; it discards them when its
    /// publication is refused.
    func clearStaging() async throws {
        try await deleteAll(under: ArtifactKeys.jobStaging(token.jobID))
    }

    /// Deletes every object under `prefix`.
    func deleteAll(under prefix: String) async throws {
        try await artifacts.deleteAll(under: prefix)
    }

    /// Deletes this attempt's staged files (after a refused publication or a failed write),
    /// best effort: one failed delete does not keep the others.
    func discardStaging() async {
        for key in (try? await artifacts.list(prefix: staging)) ?? [] {
            try? await artifacts.delete(key)
        }
    }

    func publish() async throws {
        for _ in 0..<Self.maxRounds {
            if try await artifacts.publish(staging, to: destination) == .published { return }
            let occupant = await publisher()
            if occupant?.jobID == token.jobID, occupant?.attempt == token.attempt { await discardStaging(); return }
            if let occupant, occupant.jobID == token.jobID, occupant.attempt > token.attempt {
                await discardStaging()
                throw TrainyardError(.leaseLost, "\(model):\(version) was already published by attempt \(occupant.attempt); this attempt's files were discarded")
            }
            // Only the lease holder may set files aside, or say the folder is not the job's.
            do {
                _ = try await store.heartbeat(token, leaseDuration: leaseDuration, progress: nil)
            } catch let error as TrainyardError where error.code == .leaseLost {
                await discardStaging()
                throw error
            }
            guard let occupant, occupant.jobID == token.jobID else {
                // Version numbers are never reused, so files of another job (or unreadable ones)
                // mean the registry and the artifact store disagree: e.g. a metadata store reset
                // while its artifacts were kept. Retrying cannot help; nothing is overwritten.
                await discardStaging()
                let what = occupant.map { "files of job \($0.jobID)" } ?? "files without a readable manifest.json"
                throw TrainingFailure("\(destination) already holds \(what), which the registry does not know (was the metadata store reset while its artifacts were kept?); move that folder away, then retry", retryable: false)
            }
            let aside = ArtifactKeys.jobStaging(token.jobID) + "superseded-\(occupant.attempt)-\(UUID().uuidString.prefix(8))/"
            if try await artifacts.publish(destination, to: aside) == .published {
                try await deleteAll(under: aside)
            }
        }
        await discardStaging()
        throw TrainyardError(.unavailable, "could not publish \(model):\(version) after \(Self.maxRounds) attempts: its folder kept being taken")
    }

    /// Removes the staging areas of jobs that ended (or no longer exist): what attempts killed
    /// mid-registration left when no later attempt came to clear them. A job that may still
    /// run keeps its own (its next attempt clears it). Returns the jobs whose areas were removed.
    static func removeStagingOfEndedJobs(artifacts: any ArtifactStore, store: any MetadataStore) async throws -> [JobID] {
        var keysByJob: [JobID: [String]] = [:]
        let prefix = "staging/jobs/"
        for key in try await artifacts.list(prefix: prefix) {
            guard let id = JobID(key.dropFirst(prefix.count).prefix { $0 != "/" }) else { continue }
            keysByJob[id, default: []].append(key)
        }
        var removed: [JobID] = []
        for (id, keys) in keysByJob.sorted(by: { $0.key < $1.key }) {
            if let job = try await store.job(id), !job.state.isTerminal { continue }
            for key in keys { try await artifacts.delete(key) }
            removed.append(id)
        }
        return removed
    }

    /// Which job and attempt published the files at the destination (from their manifest).
    func publisher() async -> (jobID: JobID, attempt: Int)? {
        guard let data = try? await artifacts.get(destination + "manifest.json"),
              let manifest = try? JSON.decode(Manifest.self, from: data) else { return nil }
        return (manifest.lineage.jobID, manifest.lineage.attempt)
    }
}
