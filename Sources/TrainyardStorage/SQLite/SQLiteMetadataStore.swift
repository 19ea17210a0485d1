import Foundation
import GRDB
import TrainyardCore

/// The embedded `MetadataStore`: one SQLite file in WAL mode, shared safely by every process
/// on the machine (server, workers, CLI), with versioned migrations.
///
/// Tables are prefixed with the namespace (`default_dev_jobs`), so several projects and
/// environments can share one file. All queue transitions happen inside single write
/// transactions; SQLite serialises writers, which is what makes dequeue exclusive.
public final class SQLiteMetadataStore: MetadataStore {
    let pool: DatabasePool
    let t: TableNames
    let clock: any WallClock
    let retryPolicy: RetryPolicy
    /// Called after each enqueue and each state change that may free a slot, so in-process
    /// workers wake without polling.
    let onChange: @Sendable () -> Void
    /// The database file.
    public let file: URL
    /// True when the file or its folder cannot be written (`chmod -w`, a read-only mount): the
    /// store is opened for reading only, so `models ls`, `jobs ls` and serving still work, and
    /// every write fails with an error saying so.
    public let isReadOnly: Bool

    /// Opens (creating if needed) the database at `file` and migrates it; or, when the file
    /// exists but cannot be written, opens it read-only (and creates nothing).
    ///
    /// A new database is created 0600 (SQLite gives its `-wal` and `-shm` files the database
    /// file's mode) and its folder 0711 (others can pass through to a job folder handed to
    /// `runner.user`, not list it), so other local users cannot read specs, logs or models.
    public init(file: URL, namespace: Namespace = Namespace(), clock: any WallClock = SystemClock(),
                retryPolicy: RetryPolicy = RetryPolicy(), onChange: @escaping @Sendable () -> Void = {}) throws {
        let folder = file.deletingLastPathComponent()
        let exists = FileManager.default.fileExists(atPath: file.path)
        isReadOnly = exists && !(access(file.path, W_OK) == 0 && access(folder.path, W_OK) == 0)
        t = TableNames(namespace)
        self.file = file
        self.clock = clock
        self.retryPolicy = retryPolicy
        self.onChange = onChange
        if isReadOnly {
            pool = try Self.openReadOnly(file)
            let migrator = Self.migrator(t)
            guard try pool.read({ try migrator.hasCompletedMigrations($0) }) else {
                throw TrainyardError(.unavailable, "the store \(file.path) is read-only and has no up-to-date tables for \(namespace.tablePrefix.dropLast()); "
                                     + "open it once with write access to create or migrate them")
            }
            return
        }
        try PrivateFiles.makeDirectory(folder, mode: PrivateFiles.traversableDirectoryMode)
        if !exists {
            // Created here with mode 0600 before SQLite would create it with 0644.
            let fd = open(file.path, O_WRONLY | O_CREAT | O_CLOEXEC, PrivateFiles.fileMode)
            guard fd >= 0 else { throw PrivateFiles.ioError(errno, "creating", file.path) }
            close(fd)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: file.path, configuration: configuration)
        try Self.migrator(t).migrate(pool)
    }

    /// A read-only connection pool. SQLite reads a WAL database through its `-shm` file, which
    /// a read-only folder cannot hold once the last writer has gone; such a database is opened
    /// as immutable instead (no locks, no `-shm`), which is sound because nothing can write it.
    static func openReadOnly(_ file: URL) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do {
            let pool = try DatabasePool(path: file.path, configuration: configuration)
            try pool.read { _ = try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_master") }
            return pool
        } catch {
            var path = file.standardizedFileURL.path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? file.path
            path = path.replacingOccurrences(of: "?", with: "%3f").replacingOccurrences(of: "#", with: "%23")
            let pool = try DatabasePool(path: "file:\(path)?immutable=1", configuration: configuration)
            try pool.read { _ = try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_master") }
            return pool
        }
    }

    /// `pool.write`, or a clear error on a read-only store (instead of SQLite's "attempt to
    /// write a readonly database").
    func writeTransaction<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        guard !isReadOnly else {
            throw TrainyardError(.unavailable, "the store \(file.path) is read-only (the file or its folder cannot be written): it can be read, not changed")
        }
        return try await pool.write(updates)
    }

    static func migrator(_ t: TableNames) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("\(t.prefix)v1") { db in
            try db.execute(sql: """
                CREATE TABLE \(t.jobs) (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL,
                    state TEXT NOT NULL,
                    model TEXT NOT NULL,
                    spec TEXT NOT NULL,
                    priority INTEGER NOT NULL,
                    attempt INTEGER NOT NULL DEFAULT 0,
                    max_attempts INTEGER NOT NULL,
                    run_after REAL NOT NULL,
                    created_at REAL NOT NULL,
                    started_at REAL,
                    finished_at REAL,
                    lease_token TEXT,
                    lease_expires_at REAL,
                    worker_id TEXT,
                    cancel_requested INTEGER NOT NULL DEFAULT 0,
                    failure_reason TEXT,
                    result_version INTEGER,
                    reserved_version INTEGER,
                    progress TEXT,
                    submitted_by TEXT NOT NULL
                );
                CREATE INDEX \(t.prefix)jobs_ready ON \(t.jobs)(state, kind, priority DESC, run_after, id);
                CREATE INDEX \(t.prefix)jobs_model ON \(t.jobs)(model, id);
                CREATE TABLE \(t.jobLogs) (
                    job_id INTEGER NOT NULL,
                    seq INTEGER NOT NULL,
                    at REAL NOT NULL,
                    text TEXT NOT NULL,
                    PRIMARY KEY (job_id, seq)
                ) WITHOUT ROWID;
                CREATE TABLE \(t.queueCaps) (kind TEXT PRIMARY KEY, cap INTEGER NOT NULL);
                CREATE TABLE \(t.models) (
                    name TEXT PRIMARY KEY,
                    created_at REAL NOT NULL,
                    next_version INTEGER NOT NULL DEFAULT 1,
                    task TEXT
                );
                CREATE TABLE \(t.versions) (
                    model TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    job_id INTEGER,
                    manifest TEXT NOT NULL,
                    tags TEXT NOT NULL DEFAULT '{}',
                    PRIMARY KEY (model, version)
                );
                CREATE UNIQUE INDEX \(t.prefix)versions_job ON \(t.versions)(job_id) WHERE job_id IS NOT NULL;
                CREATE TABLE \(t.aliases) (
                    model TEXT NOT NULL,
                    alias TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    updated_at REAL NOT NULL,
                    updated_by TEXT NOT NULL,
                    PRIMARY KEY (model, alias)
                );
                CREATE TABLE \(t.aliasEvents) (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    model TEXT NOT NULL,
                    alias TEXT NOT NULL,
                    from_version INTEGER,
                    to_version INTEGER,
                    actor TEXT NOT NULL,
                    at REAL NOT NULL,
                    reason TEXT
                );
                """)
        }
        // Idempotent enqueue: a key per namespace (the tables are namespaced), unique when set.
        migrator.registerMigration("\(t.prefix)v2-idempotency") { db in
            try db.execute(sql: """
                ALTER TABLE \(t.jobs) ADD COLUMN idempotency_key TEXT;
                CREATE UNIQUE INDEX \(t.prefix)jobs_idempotency ON \(t.jobs)(idempotency_key) WHERE idempotency_key IS NOT NULL;
                """)
        }
        registerTriggerMigration(&migrator, t)
        // What `promote:` decided for a version (PromotionRecord as JSON); NULL for versions
        // registered before, or without `promote`. After the triggers' migration, which came first.
        migrator.registerMigration("\(t.prefix)version-promotion") { db in
            try db.execute(sql: "ALTER TABLE \(t.versions) ADD COLUMN promotion TEXT")
        }
        // Reclaimed leases per kind (`queueCounts`): a row per kind, not a column per job, so
        // counting jobs stays an index-only scan.
        migrator.registerMigration("\(t.prefix)lease-expiries") { db in
            try db.execute(sql: "CREATE TABLE \(t.leaseExpiries) (kind TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID")
        }
        registerListingCursorMigration(&migrator, t)
        return migrator
    }

    var now: Double { clock.now().timeIntervalSince1970 }
}

/// Namespaced table names. The prefix is validated by `Namespace` (a-z, 0-9, _), which is
/// what makes interpolating it into SQL safe; values are always bound arguments.
///
/// It also carries the store's decoded-spec cache into the transaction closures, which
/// capture it anyway.
struct TableNames: Sendable {
    let prefix: String
    let jobs, jobLogs, queueCaps, models, versions, aliases, aliasEvents, leaseExpiries: String
    let specs = SpecCache()

    init(_ namespace: Namespace) {
        prefix = namespace.tablePrefix
        jobs = prefix + "jobs"
        jobLogs = prefix + "job_logs"
        queueCaps = prefix + "queue_caps"
        models = prefix + "models"
        versions = prefix + "versions"
        aliases = prefix + "aliases"
        aliasEvents = prefix + "alias_events"
        leaseExpiries = prefix + "lease_expiries"
    }
}

/// Decoded job specs by job id. A job's spec never changes after enqueue, and decoding it
/// from JSON was the largest single cost of a queue transition, so each process decodes a
/// job's spec once. Bounded: when it reaches `capacity`, the older half (lower ids) goes.
final class SpecCache: Sendable {
    private let entries = Mutex<[Int64: Spec]>([:])
    let capacity = 16_384

    /// The spec of job `id`, decoding `json()` only on a miss (a spec never changes after enqueue).
    func spec(_ id: Int64, json: () -> String) throws -> Spec {
        if let cached = entries.withLock({ $0[id] }) { return cached }
        let spec = try JSON.decode(Spec.self, from: json())
        insert(id, spec)
        return spec
    }

    func insert(_ id: Int64, _ spec: Spec) {
        entries.withLock { e in
            if e.count >= capacity {
                let cut = e.keys.sorted()[e.count / 2]
                e = e.filter { $0.key >= cut }
            }
            e[id] = spec
        }
    }
}

import Synchronization
