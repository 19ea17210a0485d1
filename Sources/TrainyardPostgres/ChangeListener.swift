import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Wakes this process's workers when another process changes the queue: `LISTEN` on the
/// namespace's channel over a connection of its own (outside the pool, where it would hold a
/// pooled connection forever), reconnecting with backoff whenever that connection drops.
///
/// Every store sends `pg_notify(channel, instanceID)` in the same statement or transaction as
/// a queue change (so a notification is delivered only once the change is committed); a
/// notification carrying this store's own `instanceID` is ignored, since the store already
/// called `onChange` when it made the change. After a reconnect `onChange` is called once:
/// notifications sent while the connection was down are lost.
final class ChangeListener: Sendable {
    let settings: PostgresConnectionSettings
    let channel: String
    let instanceID: String
    let onChange: @Sendable () -> Void
    let logger: Logger
    /// How often the listening connection proves it is alive (a connection whose peer vanished
    /// without closing it would otherwise wait for notifications forever).
    static let keepAliveInterval: Duration = .seconds(30)
    static let maxBackoff: Duration = .seconds(5)

    /// Set once the first `LISTEN` is confirmed (or the first attempt failed), for `start`.
    private let firstOutcome = Mutex<FirstOutcome>(.pending([]))
    /// The connection listening now, closed by `stop` so a listen in progress ends at once.
    private let current = Mutex<PostgresConnection?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)

    private enum FirstOutcome {
        case pending([CheckedContinuation<Void, any Error>])
        case listening
        case failed(any Error)
    }

    init(settings: PostgresConnectionSettings, channel: String, instanceID: String, logger: Logger, onChange: @escaping @Sendable () -> Void) {
        self.settings = settings
        self.channel = channel
        self.instanceID = instanceID
        self.logger = logger
        self.onChange = onChange
    }

    /// Starts listening; returns once the server confirmed the first `LISTEN`, or throws why the
    /// first connection failed (a wrong host, port or password is reported at once, not retried).
    func start() async throws {
        let loop = Task { [self] in await self.listenLoop() }
        task.withLock { $0 = loop }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resolved: Result<Void, any Error>? = firstOutcome.withLock { outcome in
                switch outcome {
                case .pending(let waiting): outcome = .pending(waiting + [continuation]); return nil
                case .listening: return .success(())
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

    private func resolveFirst(_ result: Result<Void, any Error>) {
        let waiting = firstOutcome.withLock { outcome -> [CheckedContinuation<Void, any Error>] in
            guard case .pending(let waiting) = outcome else { return [] }
            switch result {
            case .success: outcome = .listening
            case .failure(let error): outcome = .failed(error)
            }
            return waiting
        }
        for continuation in waiting { continuation.resume(with: result) }
    }

    private var hasListened: Bool {
        firstOutcome.withLock { if case .listening = $0 { true } else { false } }
    }

    private func listenLoop() async {
        var failures = 0
        var connectionNumber = 0
        while !Task.isCancelled {
            connectionNumber += 1
            do {
                let connection = try await connect(id: connectionNumber)
                current.withLock { $0 = connection }
                defer { current.withLock { $0 = nil } }
                var listened = false
                do {
                    try await listen(on: connection, reconnected: hasListened) { listened = true }
                } catch {
                    try? await connection.close()
                    // A connection that listened and then dropped is retried at once.
                    if listened { failures = 0 }
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                guard hasListened else {
                    // The first connection failed: `start` reports it and the store is not opened.
                    resolveFirst(.failure(error))
                    return
                }
                failures += 1
                logger.warning("change notifications: connection lost, reconnecting",
                               metadata: ["trainyard.store": .string(settings.redacted), "error.description": .string(PostgresFailure.describe(error))])
            }
            // Not a tight loop, also when a listen ended without an error.
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

    /// Listens until the connection fails (throws) or the task is cancelled (returns).
    private func listen(on connection: PostgresConnection, reconnected: Bool, onListening: () -> Void) async throws {
        try await connection.listen(on: channel) { notifications in
            onListening()
            resolveFirst(.success(()))
            if reconnected { onChange() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { [logger] in
                    // Proves the connection alive; a probe that fails or goes unanswered (the
                    // connection is then closed) ends the listen so the loop reconnects.
                    while !Task.isCancelled {
                        try await Task.sleep(for: Self.keepAliveInterval)
                        try await Deadline.run(Self.keepAliveInterval, on: connection) { _ = try await connection.query("SELECT 1", logger: logger) }
                    }
                }
                group.addTask { [instanceID, onChange] in
                    for try await notification in notifications where notification.payload != instanceID {
                        onChange()
                    }
                    // The sequence ends when the connection closes or the task is cancelled.
                    if !Task.isCancelled { throw PostgresFailure.listenerClosed }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}
