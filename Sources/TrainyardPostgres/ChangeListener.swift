import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Wakes this process's waiters when another process changes the queue: `LISTEN` on the
/// namespace's channel over a connection of its own (outside the pool, where it would hold a
/// pooled connection forever), reconnecting with backoff whenever that connection drops.
///
/// Every store sends `pg_notify(channel, instanceID)` in the same statement or transaction as
/// a queue change (so a notification is delivered only once the change is committed); a
/// notification carrying this store's own `instanceID` is ignored, since the store already
/// called `onChange` when it made the change.
///
/// The connection listens only while someone in this process waits for a change
/// (`setInterest`), and for `linger` after the last waiter stopped: a process whose workers are
/// all busy is not sent one notification per job by every other process, which cost each
/// listening process (and its server backend) as much CPU per job as the job's own statements.
/// A change committed while nobody listened is not announced, so every `LISTEN` is followed by
/// one `onChange`: the waiters look at the queue again once anything later will be announced.
final class ChangeListener: Sendable {
    let settings: PostgresConnectionSettings
    let channel: String
    let instanceID: String
    let onChange: @Sendable () -> Void
    let logger: Logger
    /// How often the connection proves it is alive (a connection whose peer vanished without
    /// closing it would otherwise wait for notifications forever).
    static let keepAliveInterval: Duration = .seconds(30)
    static let maxBackoff: Duration = .seconds(5)
    /// How long the connection keeps listening after the last waiter stopped waiting: a worker
    /// between two jobs stops waiting for a moment, and listening again costs a round trip and
    /// a look at the queue. Longer than a waiter's usual look at the queue (the look the
    /// `onChange` after a `LISTEN` asks for): a shorter one would stop listening during that
    /// look, and the next wait would listen, be woken at once, and never back off.
    static let linger: Duration = .seconds(2)
    /// How long a `LISTEN` may go unanswered before its connection is given up.
    static let listenTimeout: Duration = PostgresConnectionSettings.connectTimeout

    /// Set once the first connection is made (or the first attempt failed), for `start`.
    private let firstOutcome = Mutex<FirstOutcome>(.pending([]))
    /// The connection open now, closed by `stop` so a listen in progress ends at once.
    private let current = Mutex<PostgresConnection?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// Whether anyone in this process waits for a change, and since when.
    private let interest = WaitableFlag()
    private let listeningNow = Mutex(false)

    /// Whether the connection listens now (for tests).
    var isListening: Bool { listeningNow.withLock { $0 } }

    private enum FirstOutcome {
        case pending([CheckedContinuation<Void, any Error>])
        case connected
        case failed(any Error)
    }

    init(settings: PostgresConnectionSettings, channel: String, instanceID: String, logger: Logger, onChange: @escaping @Sendable () -> Void) {
        self.settings = settings
        self.channel = channel
        self.instanceID = instanceID
        self.logger = logger
        self.onChange = onChange
    }

    /// Starts the loop; returns once the first connection is made, or throws why it failed (a
    /// wrong host, port or password is reported at once, not retried).
    func start() async throws {
        let loop = Task { [self] in await self.connectionLoop() }
        task.withLock { $0 = loop }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resolved: Result<Void, any Error>? = firstOutcome.withLock { outcome in
                switch outcome {
                case .pending(let waiting): outcome = .pending(waiting + [continuation]); return nil
                case .connected: return .success(())
                case .failed(let error): return .failure(error)
                }
            }
            if let resolved { continuation.resume(with: resolved) }
        }
    }

    /// Stops listening and closes the connection; returns when the loop has ended.
    func stop() async {
        let loop = task.withLock { $0 }
        loop?.cancel()
        if let connection = current.withLock({ $0 }) { try? await connection.close() }
        await loop?.value
    }

    /// Cancels the loop without waiting (a store released without `close()`).
    func cancel() {
        task.withLock { $0 }?.cancel()
    }

    /// Whether anyone in this process waits for a change now. Quick and non-blocking: it is
    /// called under the waiters' lock (`WakeupSignal.observeWaiting`).
    func setInterest(_ waiting: Bool) {
        interest.set(waiting)
    }

    private func resolveFirst(_ result: Result<Void, any Error>) {
        let waiting = firstOutcome.withLock { outcome -> [CheckedContinuation<Void, any Error>] in
            guard case .pending(let waiting) = outcome else { return [] }
            switch result {
            case .success: outcome = .connected
            case .failure(let error): outcome = .failed(error)
            }
            return waiting
        }
        for continuation in waiting { continuation.resume(with: result) }
    }

    private var hasConnected: Bool {
        firstOutcome.withLock { if case .connected = $0 { true } else { false } }
    }

    private func connectionLoop() async {
        var failures = 0
        var connectionNumber = 0
        while !Task.isCancelled {
            connectionNumber += 1
            do {
                let connection = try await connect(id: connectionNumber)
                current.withLock { $0 = connection }
                defer { current.withLock { $0 = nil } }
                resolveFirst(.success(()))
                do {
                    // A connection that listened and then dropped is retried at once; one that
                    // keeps failing before it listens (a standby refuses LISTEN) backs off.
                    try await serve(connection) { failures = 0 }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                guard hasConnected else {
                    // The first connection failed: `start` reports it and the store is not opened.
                    resolveFirst(.failure(error))
                    return
                }
                failures += 1
                logger.warning("change notifications: connection lost, reconnecting",
                               metadata: ["trainyard.store": .string(settings.redacted), "error.description": .string(PostgresFailure.describe(error))])
            }
            // Not a tight loop, also when a connection ended without an error.
            let backoff = min(Duration.milliseconds(100) * (1 << min(failures, 6)), Self.maxBackoff)
            try? await Task.sleep(for: backoff)
        }
        resolveFirst(.failure(CancellationError()))
    }

    /// A new connection for listening, or an error once `PostgresConnectionSettings.connectTimeout`
    /// passed (postgres-nio bounds the TCP connect only; a server may accept and never answer).
    private func connect(id: Int) async throws -> PostgresConnection {
        let configuration = try settings.connectionConfiguration(applicationName: "trainyard-listener:" + channel)
        let limit = PostgresConnectionSettings.connectTimeout
        return try await withThrowingTaskGroup(of: PostgresConnection?.self) { group in
            group.addTask { [logger] in try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger) }
            group.addTask { try await Task.sleep(for: limit); return nil }
            let first = try await group.next() ?? nil
            group.cancelAll()
            // A connection made just as the time ran out is closed, not left open.
            while true {
                do {
                    guard let result = try await group.next() else { break }
                    if let late = result, late !== first { try? await late.close() }
                } catch {
                    continue  // the timer, cancelled
                }
            }
            guard let first else { throw Deadline.Exceeded(limit: limit) }
            return first
        }
    }

    /// Listens on `connection` whenever someone waits, until the connection fails (throws) or
    /// the task is cancelled (returns). `onListening` is called after each answered `LISTEN`.
    private func serve(_ connection: PostgresConnection, onListening: () -> Void) async throws {
        // One callback per connection, however often the loop waits for its closing.
        let closing = WaitableFlag()
        connection.closeFuture.whenComplete { _ in closing.set(true) }
        while !Task.isCancelled {
            try await waitForInterest(probing: connection, closing: closing)
            if Task.isCancelled { return }
            // A LISTEN on a connection that died without closing (a vanished peer, a dropped
            // NAT entry) would wait for TCP to give up: unanswered, it closes the connection.
            let answered = WaitableFlag()
            let watchdog = Task { [logger, settings] in
                try await Task.sleep(for: Self.listenTimeout)
                guard !answered.current.value else { return }
                logger.warning("change notifications: LISTEN unanswered, reconnecting",
                               metadata: ["trainyard.store": .string(settings.redacted), "trainyard.timeout": "\(Self.listenTimeout)"])
                try? await connection.close()
            }
            defer { watchdog.cancel() }
            try await connection.listen(on: channel) { notifications in
                answered.set(true)
                onListening()
                listeningNow.withLock { $0 = true }
                defer { listeningNow.withLock { $0 = false } }
                // What was committed before the LISTEN took effect was not announced here.
                onChange()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { [logger] in
                        while !Task.isCancelled {
                            try await Task.sleep(for: Self.keepAliveInterval)
                            try await Self.probe(connection, logger: logger)
                        }
                    }
                    group.addTask { [instanceID, onChange] in
                        for try await notification in notifications where notification.payload != instanceID {
                            onChange()
                        }
                        // The sequence ends when the connection closes or the task is cancelled.
                        if !Task.isCancelled { throw PostgresFailure.listenerClosed }
                    }
                    group.addTask { [self] in try await untilNobodyWaits() }
                    // The first to end: nobody waits any more (return: UNLISTEN, then wait for
                    // the next waiter), or the connection failed (throw: reconnect).
                    try await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    /// Returns once someone waits, proving the connection alive meanwhile; throws when the
    /// connection closed (a server restart, a terminated backend) or stopped answering.
    private func waitForInterest(probing connection: PostgresConnection, closing: WaitableFlag) async throws {
        enum Wake { case interest, probeDue, closed }
        while !Task.isCancelled {
            let wake = await withTaskGroup(of: Wake?.self) { group in
                group.addTask { [interest] in await interest.waitUntilTrue() ? .interest : nil }
                group.addTask {
                    try? await Task.sleep(for: Self.keepAliveInterval)
                    return .probeDue
                }
                group.addTask { await closing.waitUntilTrue() ? .closed : nil }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            switch wake {
            case .interest: return
            case .closed: throw PostgresFailure.listenerClosed
            case .probeDue: try await Self.probe(connection, logger: logger)
            case nil: return  // cancelled
            }
        }
    }

    /// Returns once nobody has waited for `linger`.
    private func untilNobodyWaits() async throws {
        while true {
            let (waiting, changedAt) = interest.current
            let idle = ContinuousClock.now - changedAt
            if !waiting && idle >= Self.linger { return }
            try await Task.sleep(for: waiting ? Self.linger : Self.linger - idle)
        }
    }

    /// A trivial query: one that fails or goes unanswered (the connection is then closed)
    /// throws, so the loop reconnects.
    private static func probe(_ connection: PostgresConnection, logger: Logger) async throws {
        try await Deadline.run(keepAliveInterval, on: connection) { _ = try await connection.query("SELECT 1", logger: logger) }
    }
}
