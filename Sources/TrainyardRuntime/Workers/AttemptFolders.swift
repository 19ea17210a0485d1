import Foundation
import TrainyardCore

/// The working folders of job attempts, `{data_dir}/work/job-{id}-{attempt}-{random}`, and the
/// removal of those whose attempt is over.
///
/// An attempt removes its own folder when it ends; one whose worker was killed cannot, so every
/// worker pool clears them when it starts. The store says which attempts still run: a folder is
/// kept while its job is `running` that same attempt (on any worker, in any process), since a
/// folder is only ever created after its attempt was leased.
struct AttemptFolders {
    let root: URL

    init(dataDirectory: URL) { root = dataDirectory.appendingPathComponent("work", isDirectory: true) }

    func folder(job: JobID, attempt: Int) -> URL {
        root.appendingPathComponent("job-\(job)-\(attempt)-\(UUID().uuidString.prefix(8))", isDirectory: true)
    }

    /// Creates an attempt's folder (and `work/`) 0711: nobody else can list them, yet a
    /// program running as `runner.user` can reach the folders handed to it inside.
    func create(_ folder: URL) throws {
        try PrivateFiles.makeDirectory(folder, mode: PrivateFiles.traversableDirectoryMode)
    }

    /// (job, attempt) of a folder name made by `folder(job:attempt:)`.
    static func attempt(ofFolderNamed name: String) -> (job: JobID, attempt: Int)? {
        let parts = name.split(separator: "-")
        guard parts.count == 4, parts[0] == "job", let job = JobID(parts[1]), let attempt = Int(parts[2]) else { return nil }
        return (job, attempt)
    }

    /// Removes the folders of attempts that no longer run; returns their names. A folder whose
    /// job cannot be looked up (the store is busy or unreadable) is kept.
    func removeDead(store: any MetadataStore) async -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return [] }
        var removed: [String] = []
        for name in names.sorted() {
            guard let (id, attempt) = Self.attempt(ofFolderNamed: name) else { continue }
            let job: Job?
            do { job = try await store.job(id) } catch { continue }
            if let job, job.state == .running, job.attempt == attempt { continue }
            if (try? FileManager.default.removeItem(at: root.appendingPathComponent(name))) != nil { removed.append(name) }
        }
        return removed
    }
}
