import Foundation
import Logging
import PostgresNIO
import Synchronization
import TrainyardCore

/// The `MetadataStore` on PostgreSQL: any number of server and worker processes share one
/// queue and registry. It passes the same contract suite as the SQLite and in-memory stores and
/// applies the same Core rules (`JobLifecycle`, `QueuePosition`, `RunningCap`,
/// `PromotionPolicy`, `RegistryRules`) as values; only persistence is SQL.
///
/// - Each namespace is a schema of its own (`trainyard_<project>_<environment>`), created and
///   migrated on open under an advisory lock (`PostgresMigrations`).
/// - `dequeue` (`+Dequeue`) reads the best due jobs and leases the first one no other dequeue
///   holds in one statement (`FOR UPDATE SKIP LOCKED`): two round trips, no explicit
///   transaction, and one when the worker's last completion read the candidates
///   (`CandidatePrefetch`). A kind with a running cap is counted and leased in a transaction under that
///   kind's advisory lock, so uncapped kinds never wait for each other.
/// - A lifecycle write (`+Lifecycle`) is a compare-and-set on the job's `row_version`: the
///   lifecycle decides on the row as read (or as this store last wrote it), and one statement
///   writes the new record, its log lines and the notification only if the row is still that
///   version (else it is read again).
/// - The queue's hot statements are prepared once per connection (`Statements`).
/// - Queue changes `NOTIFY` the namespace's channel in the same statement or transaction, a
///   completion only when another process may wait for it (`ChangeNotice`); `ChangeListener`
///   turns other processes' notifications into `onChange` calls, listening only while someone
///   in this process waits (`changeInterest`).
/// - Every operation is bounded (`OperationWatch`, `operationTimeout`); connection failures are
///   `.unavailable` naming the store (password redacted), reads are retried first.
/// - Times are the injected clock's, stored as `double precision` seconds since 1970.
///
/// The store owns its connection pool and runs it in a task of its own: `close()` stops it
/// (and the listener); a store released without `close()` stops them in `deinit`.
public final class PostgresMetadataStore: MetadataStore, CustomStringConvertible {
    let client: PostgresClient
    let settings: PostgresConnectionSettings
    let schema: PostgresSchema
    let clock: any WallClock
    let lifecycle: JobLifecycle
    /// Called after each enqueue and each state change that may free a slot (the calls the
    /// SQLite store makes), and when another process notified such a change.
    let onChange: @Sendable () -> Void
    let logger: Logger
    /// postgres-nio's logger: this store's, never below `.info` (its debug lines carry queries).
    let queryLogger: Logger
    /// The payload of this store's notifications, so its listener skips its own.
    let instanceID: String
    let specs = DecodedSpecs()
    let recentRows = RecentJobRows()
    let listener: ChangeListener
    /// Bounds every pooled operation (`onPooledConnection`).
    let watch = OperationWatch()
    /// The next dequeue's candidates, read by a worker's completion.
    let prefetch: CandidatePrefetch
    /// How many candidates those reads ask for, as competition for the queue's head requires.
    let candidateDepth = CandidateDepth()
    private let poolTask: Task<Void, Never>
    private let closed = Mutex(false)

    /// Reads are retried this many times on a connection failure (a pooled connection the
    /// server closed, a restart), with doubling backoff from `retryBackoff`.
    static let readAttempts = 3
    static let retryBackoff: Duration = .milliseconds(100)
    /// A statement or transaction the server rolled back for a deadlock or serialization failure
    /// (nothing of it was written) is run again up to this many times.
    static let conflictAttempts = 5
    /// A compare-and-set write that keeps finding the row changed gives up after this many reads.
    static let writeRaces = 20
    /// The longest one operation (a statement, a transaction) may take before it is given up
    /// as unanswered (`Deadline`); the server ends statements past it, and sessions left idle
    /// inside a transaction for twice as long (their locks with them).
    let operationTimeout: Duration

    /// Opens the store at `url` (`postgres://user:password@host:port/database?sslmode=…`) for
    /// `namespace`: connects, starts listening for other processes' changes, creates the schema
    /// and applies missing migrations.
    ///
    /// - Throws: `.invalidArgument` for a URL or namespace that cannot be used; `.unavailable`
    ///   naming the store (password redacted) when the server cannot be reached or refuses.
    ///   `operationTimeout` bounds each operation (see the property).
    public static func open(url: URL, namespace: Namespace = Namespace(), clock: any WallClock = SystemClock(),
                            retryPolicy: RetryPolicy = RetryPolicy(), operationTimeout: Duration = .seconds(30),
                            logger: Logger = Logger(label: "trainyard.postgres"),
                            onChange: @escaping @Sendable () -> Void = {}) async throws -> PostgresMetadataStore {
        let settings = try PostgresConnectionSettings(url: url)
        let schema = try PostgresSchema(namespace)
        guard operationTimeout >= .seconds(1) else {
            throw TrainyardError(.invalidArgument, "the metadata store's operation timeout must be at least 1 second, not \(operationTimeout)")
        }
        let store = PostgresMetadataStore(settings: settings, schema: schema, clock: clock, retryPolicy: retryPolicy,
                                          operationTimeout: operationTimeout, logger: logger, onChange: onChange)
        do {
            // The listener's connection is made directly, not through the pool, which would retry
            // a refused connection for a minute: a wrong host or password is reported at once.
            try await Deadline.run(operationTimeout) { try await store.listener.start() }
            let applied = try await Deadline.run(PostgresMigrations.timeout + leaseAllowance) {
                try await store.client.withConnection { connection in
                    try await Deadline.run(PostgresMigrations.timeout, on: connection) {
                        try await PostgresMigrations.apply(schema, on: connection, now: clock.now().timeIntervalSince1970, logger: store.queryLogger)
                    }
                }
            }
            if !applied.isEmpty {
                logger.info("metadata store migrated", metadata: ["trainyard.store": .string(store.description),
                                                                  "trainyard.migrations": .string(applied.joined(separator: ", "))])
            }
        } catch {
            await store.close()
            if let error = error as? TrainyardError { throw error }
            throw TrainyardError(.unavailable, "cannot open the metadata store \(store.description): \(PostgresFailure.describe(error))")
        }
        return store
    }

    init(settings: PostgresConnectionSettings, schema: PostgresSchema, clock: any WallClock, retryPolicy: RetryPolicy, operationTimeout: Duration,
         logger: Logger, onChange: @escaping @Sendable () -> Void) {
        self.settings = settings
        self.operationTimeout = operationTimeout
        self.schema = schema
        self.clock = clock
        prefetch = CandidatePrefetch(clock: clock)
        self.lifecycle = JobLifecycle(retryPolicy: retryPolicy)
        self.logger = logger
        var queryLogger = logger
        queryLogger.logLevel = max(logger.logLevel, .info)
        self.queryLogger = queryLogger
        self.onChange = onChange
        instanceID = UUID().uuidString.lowercased()
        let client = PostgresClient(configuration: settings.clientConfiguration(applicationName: "trainyard:" + schema.name, searchPath: schema.name,
                                                                                statementTimeout: operationTimeout), backgroundLogger: queryLogger)
        self.client = client
        poolTask = Task { await client.run() }
        listener = ChangeListener(settings: settings, channel: schema.channel, instanceID: instanceID, logger: logger, onChange: onChange)
    }

    deinit {
        listener.cancel()
        poolTask.cancel()
        watch.stop()
    }

    /// Stops listening and closes every connection; the store cannot be used afterwards.
    /// Calling it again does nothing.
    public func close() async {
        guard closed.withLock({ wasClosed in defer { wasClosed = true }; return !wasClosed }) else { return }
        await listener.stop()
        poolTask.cancel()
        // Bounded: a query postgres-nio lost (see `Deadline`) must not keep the caller waiting.
        let pool = poolTask
        _ = try? await Deadline.run(operationTimeout) { await pool.value }
        watch.stop()
    }

    /// Listens for other processes' changes while `waiting` (and briefly after), calling
    /// `onChange` once each time it starts listening (see `ChangeListener`).
    public func changeInterest(_ waiting: Bool) {
        listener.setInterest(waiting)
    }

    /// The URL (password redacted) and the schema.
    public var description: String { "\(settings.redacted) (schema \(schema.name))" }

    var now: Double { clock.now().timeIntervalSince1970 }

    // MARK: Running statements

    /// One statement on a pooled connection, its rows collected, within `operationTimeout`.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await onPooledConnection { [queryLogger] connection in
            try await connection.query(query, logger: queryLogger).collect()
        }
    }

    /// `body` on a connection leased from the pool, within `operationTimeout` once leased
    /// (watching the connection, `Deadline`) and within a little more in all: the pool waits
    /// for a connection to a server that accepts and never answers for as long as it takes.
    func onPooledConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await watch.run(operationTimeout + Self.leaseAllowance) { [client, operationTimeout] handle in
            try await client.withConnection { connection in
                handle.leased(connection, limit: operationTimeout)
                return try await body(connection)
            }
        }
    }

    /// The time a lease may add to `operationTimeout`.
    static let leaseAllowance: Duration = .seconds(5)

    /// A read: retried on connection failures (with backoff) and rolled-back conflicts.
    func reading<T: Sendable>(_ what: @autoclosure () -> String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await attempt(what(), connectionAttempts: Self.readAttempts, body)
    }

    /// A write: retried only when the server rolled it back (a deadlock or serialization
    /// failure), never after a connection failure, whose outcome is unknown.
    func writing<T: Sendable>(_ what: @autoclosure () -> String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await attempt(what(), connectionAttempts: 1, body)
    }

    /// `body` in one transaction on one pooled connection, retried as `writing` is.
    /// `body` in one transaction on one pooled connection (the whole of it within
    /// `operationTimeout`), retried as `writing` is.
    func transaction<T: Sendable>(_ what: @autoclosure () -> String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await attempt(what(), connectionAttempts: 1) { [self] in
            try await onPooledConnection { [queryLogger] connection in
                try await PostgresTransaction.run(on: connection, logger: queryLogger, body)
            }
        }
    }

    /// Runs `body`, again after a rolled-back conflict or, up to `connectionAttempts` times, a
    /// connection failure (one that did not answer in time counts); reports the last failure.
    private func attempt<T: Sendable>(_ what: String, connectionAttempts: Int, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        var connectionFailures = 0
        var conflicts = 0
        while true {
            do {
                return try await body()
            } catch {
                switch PostgresFailure.kind(of: error) {
                case .conflict where conflicts + 1 < Self.conflictAttempts:
                    conflicts += 1
                    try await Task.sleep(for: .milliseconds(Int.random(in: 1...10 * conflicts)))
                case .connection where connectionFailures + 1 < connectionAttempts:
                    connectionFailures += 1
                    try await Task.sleep(for: Self.retryBackoff * (1 << (connectionFailures - 1)))
                default:
                    throw PostgresFailure.report(error, store: settings.redacted, doing: what)
                }
            }
        }
    }

    /// Runs `statement` on `connection` (inside a transaction), or on the pool when nil.
    func rows(_ statement: PostgresQuery, on connection: PostgresConnection?) async throws -> [PostgresRow] {
        guard let connection else { return try await rows(statement) }
        return try await connection.query(statement, logger: queryLogger).collect()
    }

    /// Runs a prepared statement (prepared on first use on each connection) on `connection`
    /// (inside a transaction, which bounds its time), or on a pooled connection within
    /// `operationTimeout` when nil.
    func run<Statement: PostgresStatement>(_ statement: Statement, on connection: PostgresConnection? = nil) async throws -> [PostgresRow] {
        if let connection { return try await Self.execute(statement, on: connection, logger: queryLogger) }
        return try await onPooledConnection { [queryLogger] connection in
            try await Self.execute(statement, on: connection, logger: queryLogger)
        }
    }

    private static func execute<Statement: PostgresStatement>(_ statement: Statement, on connection: PostgresConnection,
                                                              logger: Logger) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
        return rows
    }

    /// Sends the change notification other processes' listeners wait for (delivered at commit).
    func notifyStatement() -> PostgresQuery {
        "SELECT pg_notify(\(schema.channel), \(instanceID))"
    }

    static func newToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(g.next() as UInt64, radix: 16) }.joined(separator: "-")
    }
}
