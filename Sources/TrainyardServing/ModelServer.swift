import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TrainyardCore
import TrainyardRuntime

/// The model server's core: resolves references to versions, keeps loaded versions in an LRU
/// cache within a memory budget, and moves traffic when an alias moves.
///
/// Swapping: a reference such as `iris@production` resolves through `resolutions`, which only
/// ever points at a loaded version. The watcher (`run()`, a Service) polls the alias table;
/// when an alias moved it loads and warms the new version first, then switches the reference,
/// then retires the old version once nothing points at it. Requests already holding the old
/// `ServedModel` finish on it, so no request fails during a swap. Rollback is the same move back.
///
/// ```swift
/// let server = ModelServer(services: services)
/// let model = try await server.model(for: ModelReference(parsing: "iris@production"))
/// let out = try await model.predict([.object(["sepal_length": .double(5.1), …])])
/// ```
public final class ModelServer: Service, Sendable {
    public let services: TrainyardServices
    public let options: ServingOptions
    public let metrics: ServingMetrics
    /// Which model the routes that name none serve (`/invocations`, `/predict`, `/ner`).
    public let defaults: ServingDefaults
    let logger: Logger
    private let state = Mutex(State())
    private let onReadinessChange: @Sendable (String?) -> Void

    struct VersionKey: Hashable, Sendable {
        var model: ModelName
        var version: Int
    }

    enum Slot {
        case loading(Task<ServedModel, any Error>)
        case ready(ServedModel)
    }

    struct State {
        /// Reference → the loaded version it answers with.
        var resolutions: [ModelReference: Int] = [:]
        var slots: [VersionKey: Slot] = [:]
        var lastUsed: [VersionKey: UInt64] = [:]
        var tick: UInt64 = 0
        /// Required models still loading (readiness).
        var pendingRequired: Set<String> = []
        /// Versions whose last load failed, until their back-off ends.
        var failedLoads: [VersionKey: FailedLoad] = [:]
    }

    /// A load that failed, remembered so probes and requests in the next moments get the same
    /// answer at once instead of each starting the load again (a model that can never load
    /// would otherwise be retried, and logged, on every readiness poll).
    struct FailedLoad {
        var error: any Error
        var retryAt: ContinuousClock.Instant
        /// Consecutive failures; the back-off doubles with each, up to `maxLoadBackoff`.
        var failures: Int
    }

    /// Back-off after a first failed load (doubled after each further failure, up to `maxLoadBackoff`).
    public let loadBackoff: Duration
    static let maxLoadBackoff: Duration = .seconds(300)

    /// - Parameter services: the system to serve from; its artifact store is used as given (the
    ///   application builder, `TrainyardApp.modelServer`, puts the local cache of
    ///   `options.cacheDirectory` in front of it).
    /// - Parameter onReadinessChange: called with a reason while required (`preload`) models
    ///   load, and with nil once they are all loaded.
    /// - Parameter loadBackoff: how long a failed load is remembered before the next attempt (doubling).
    public init(services: TrainyardServices, options: ServingOptions = ServingOptions(), metrics: ServingMetrics = ServingMetrics(),
                loadBackoff: Duration = .seconds(5), onReadinessChange: @escaping @Sendable (String?) -> Void = { _ in }) {
        self.loadBackoff = loadBackoff
        self.services = services
        self.options = options
        self.metrics = metrics
        self.defaults = ServingDefaults(store: services.store, options: options)
        self.logger = services.logger
        self.onReadinessChange = onReadinessChange
        if !options.preload.isEmpty {
            state.withLock { $0.pendingRequired = Set(options.preload) }
        }
    }

    /// Why the server is not ready for traffic (required models loading); nil when ready.
    ///
    /// It counts the models without naming them: readiness routes are open to anyone, and model
    /// names are for token holders (the log names each model as it loads).
    public var notReadyReason: String? {
        let pending = state.withLock { $0.pendingRequired.count }
        return pending == 0 ? nil : "loading \(pending) required model\(pending == 1 ? "" : "s")"
    }

    /// Why `version` is not being loaded right now: its last load failed and the back-off has not
    /// ended. nil when a load may start (never tried, loaded, or back-off over).
    public func loadFailure(of version: ModelVersion) -> (error: any Error, retryIn: Duration)? {
        let key = VersionKey(model: version.model, version: version.version)
        let now = ContinuousClock.now
        return state.withLock { s in
            guard let failed = s.failedLoads[key], now < failed.retryAt else { return nil }
            return (failed.error, failed.retryAt - now)
        }
    }

    // MARK: Lookup

    /// The loaded version `reference` answers with, loading it on first use.
    ///
    /// - Throws: `.notFound` (unknown model, version or alias), `.timeout` when loading takes
    ///   longer than `requestTimeout`, `.artifactCorrupt` for a damaged artifact.
    public func model(for reference: ModelReference) async throws -> ServedModel {
        if let model = cached(reference) { return model }
        // A load outlives the request that started it: the next request finds it cached.
        return try await withDeadline(options.requestTimeout, what: "loading \(reference)", cancelsWork: false) {
            try await self.resolveAndLoad(reference)
        }
    }

    /// The resident version for `reference`, if any: the hot path (one lock, no I/O).
    public func cached(_ reference: ModelReference) -> ServedModel? {
        state.withLock { s -> ServedModel? in
            guard let version = s.resolutions[reference] else { return nil }
            let key = VersionKey(model: reference.name, version: version)
            guard case .ready(let model)? = s.slots[key] else { return nil }
            s.tick &+= 1
            s.lastUsed[key] = s.tick
            return model
        }
    }

    /// Whether `reference` currently answers from a loaded version (V2 model-ready).
    public func isLoaded(_ reference: ModelReference) -> Bool {
        state.withLock { s in
            guard let version = s.resolutions[reference] else { return false }
            if case .ready? = s.slots[VersionKey(model: reference.name, version: version)] { return true }
            return false
        }
    }

    /// Starts loading `reference` in the background if it is not loaded (V2 model-ready polls).
    /// A version whose load just failed is not tried again before its back-off ends (`load` answers
    /// with the remembered failure).
    public func prefetch(_ reference: ModelReference) {
        guard !isLoaded(reference) else { return }
        Task { _ = try? await self.resolveAndLoad(reference) }
    }

    /// Versions resident now (name, version), for status routes.
    public var loadedVersions: [(model: ModelName, version: Int)] {
        state.withLock { s in
            s.slots.compactMap { key, slot in if case .ready = slot { return (key.model, key.version) } else { return nil } }
                .sorted { ($0.model.rawValue, $0.version) < ($1.model.rawValue, $1.version) }
        }
    }

    private func resolveAndLoad(_ reference: ModelReference) async throws -> ServedModel {
        let version = try await services.store.resolve(reference)
        let model = try await load(version)
        state.withLock { s in
            if s.resolutions[reference] == nil { s.resolutions[reference] = version.version }
        }
        return cached(reference) ?? model
    }

    /// Loads and warms `version` unless it is resident; concurrent callers share one load.
    func load(_ version: ModelVersion) async throws -> ServedModel {
        let key = VersionKey(model: version.model, version: version.version)
        let now = ContinuousClock.now
        let (existing, remembered) = state.withLock { s -> (Slot?, (any Error)?) in
            if let slot = s.slots[key] { return (slot, nil) }
            if let failed = s.failedLoads[key], now < failed.retryAt { return (nil, failed.error) }
            let task = Task { try await self.performLoad(version) }
            s.slots[key] = .loading(task)
            return (nil, nil)
        }
        if let remembered { throw remembered }
        let task: Task<ServedModel, any Error>
        switch existing {
        case .ready(let model)?: return model
        case .loading(let t)?: task = t
        case nil:
            guard case .loading(let t)? = state.withLock({ $0.slots[key] }) else { return try await load(version) }
            task = t
        }
        do {
            let model = try await task.value
            let evicted = state.withLock { s -> [ServedModel] in
                if case .loading? = s.slots[key] {
                    s.slots[key] = .ready(model)
                    s.tick &+= 1
                    s.lastUsed[key] = s.tick
                }
                return evict(&s, keeping: key)
            }
            metrics.setLoaded(model: version.model.rawValue, version: version.version, true)
            for old in evicted { await retire(old, reason: "memory budget") }
            return model
        } catch {
            state.withLock { s in
                if case .loading? = s.slots[key] { s.slots[key] = nil }
            }
            throw error
        }
    }

    private func performLoad(_ version: ModelVersion) async throws -> ServedModel {
        let start = ContinuousClock.now
        let label = "\(version.model):\(version.version)"
        logger.info("loading model", metadata: ["trainyard.model": .string(label)])
        do {
            let model = try await ServedModel.load(version, services: services, options: options, metrics: metrics, logger: logger)
            state.withLock { _ = $0.failedLoads.removeValue(forKey: VersionKey(model: version.model, version: version.version)) }
            let seconds = (ContinuousClock.now - start).seconds
            metrics.recordLoad(model: version.model.rawValue, seconds: seconds, outcome: "loaded")
            logger.info("model loaded", metadata: ["trainyard.model": .string(label), "trainyard.load_ms": .string(String(format: "%.1f", seconds * 1000))])
            return model
        } catch {
            metrics.recordLoad(model: version.model.rawValue, seconds: nil, outcome: "failed")
            let backoff = rememberFailure(error, of: VersionKey(model: version.model, version: version.version))
            logger.error("model load failed", metadata: ["trainyard.model": .string(label), "error.description": .string("\(error)"),
                                                         "trainyard.retry_after_s": .stringConvertible(backoff.components.seconds)])
            throw error
        }
    }

    /// Records a failed load of `key`; returns how long until the next attempt may start.
    private func rememberFailure(_ error: any Error, of key: VersionKey) -> Duration {
        state.withLock { s in
            let failures = (s.failedLoads[key]?.failures ?? 0) + 1
            let ceiling = max(loadBackoff, Self.maxLoadBackoff)
            var backoff = loadBackoff
            for _ in 1..<failures where backoff < ceiling { backoff *= 2 }
            backoff = min(backoff, ceiling)
            s.failedLoads[key] = FailedLoad(error: error, retryAt: ContinuousClock.now + backoff, failures: failures)
            return backoff
        }
    }

    /// Removes least-recently-used versions beyond the memory budget (never `keeping`).
    private func evict(_ s: inout State, keeping: VersionKey) -> [ServedModel] {
        var total: Int64 = 0
        var ready: [(VersionKey, ServedModel)] = []
        for (key, slot) in s.slots {
            if case .ready(let m) = slot { total += m.sizeBytes; ready.append((key, m)) }
        }
        guard total > options.memoryBudgetBytes else { return [] }
        var evicted: [ServedModel] = []
        for (key, model) in ready.sorted(by: { (s.lastUsed[$0.0] ?? 0) < (s.lastUsed[$1.0] ?? 0) }) where key != keeping {
            guard total > options.memoryBudgetBytes else { break }
            s.slots[key] = nil
            s.lastUsed[key] = nil
            for (ref, v) in s.resolutions where ref.name == key.model && v == key.version { s.resolutions[ref] = nil }
            total -= model.sizeBytes
            evicted.append(model)
        }
        return evicted
    }

    private func retire(_ model: ServedModel, reason: String) async {
        metrics.setLoaded(model: model.name.rawValue, version: model.number, false)
        logger.info("unloading model", metadata: ["trainyard.model": .string("\(model.name):\(model.number)"), "trainyard.reason": .string(reason)])
        await model.retire()
    }

    // MARK: Alias watching (Service)

    /// Preloads the required models, then polls the alias table every `aliasPollInterval`
    /// until shutdown, swapping references whose alias moved and loading the default, text and
    /// NER models (`keepDefaultsLoaded`). Stops serve processes at the end.
    public func run() async throws {
        if !options.preload.isEmpty {
            onReadinessChange(notReadyReason)
            await withTaskGroup(of: Void.self) { group in
                for raw in options.preload {
                    group.addTask {
                        do {
                            _ = try await self.resolveAndLoad(try ModelReference(parsing: raw))
                        } catch {
                            self.logger.error("preloading a model failed", metadata: ["trainyard.model": .string(raw), "error.description": .string("\(error)")])
                        }
                        self.state.withLock { _ = $0.pendingRequired.remove(raw) }
                    }
                }
            }
            onReadinessChange(nil)
        }
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                await keepDefaultsLoaded()
                await refreshAliases()
                try? await Task.sleep(for: options.aliasPollInterval)
            }
        } onGracefulShutdown: {}
        await shutdown()
    }

    /// Stops every serve process (end of `run()`; tests call it directly).
    public func shutdown() async {
        let all = state.withLock { s -> [ServedModel] in
            let models = s.slots.values.compactMap { slot -> ServedModel? in if case .ready(let m) = slot { return m } else { return nil } }
            s.slots = [:]
            s.resolutions = [:]
            return models
        }
        for model in all { await model.retire() }
    }

    /// One poll: re-resolves every alias/default reference in use and swaps those that moved.
    public func refreshAliases() async {
        let references = state.withLock { s in s.resolutions.filter { if case .version = $0.key.selector { return false } else { return true } } }
        for (reference, current) in references {
            do {
                let target = try await services.store.resolve(reference)
                guard target.version != current else { continue }
                try await swap(reference, from: current, to: target)
            } catch let error as TrainyardError where error.code == .notFound {
                // Alias or model deleted: forget the reference; the next request resolves afresh (404).
                let orphan = state.withLock { s -> ServedModel? in
                    s.resolutions[reference] = nil
                    return self.unreferenced(&s, VersionKey(model: reference.name, version: current))
                }
                if let orphan { await retire(orphan, reason: "\(reference) no longer resolves") }
            } catch {
                logger.warning("alias refresh failed", metadata: ["trainyard.model": .string(reference.description), "error.description": .string("\(error)")])
            }
        }
    }

    /// Load + warm `target`, switch `reference` to it, retire `from` if nothing else uses it.
    func swap(_ reference: ModelReference, from: Int, to target: ModelVersion) async throws {
        _ = try await load(target)
        let old = state.withLock { s -> ServedModel? in
            guard s.resolutions[reference] == from else { return nil }
            s.resolutions[reference] = target.version
            return self.unreferenced(&s, VersionKey(model: reference.name, version: from))
        }
        logger.info("traffic moved", metadata: ["trainyard.model": .string(reference.description),
                                                "trainyard.from_version": .stringConvertible(from), "trainyard.to_version": .stringConvertible(target.version)])
        if let old { await retire(old, reason: "\(reference) moved to version \(target.version)") }
    }

    /// Removes `key` from the cache if no reference resolves to it; returns it for retiring.
    private func unreferenced(_ s: inout State, _ key: VersionKey) -> ServedModel? {
        guard !s.resolutions.contains(where: { $0.key.name == key.model && $0.value == key.version }) else { return nil }
        guard case .ready(let model)? = s.slots[key] else { return nil }
        s.slots[key] = nil
        s.lastUsed[key] = nil
        return model
    }
}

/// Runs `work`, throwing `.timeout` (504) if it takes longer than `limit`.
///
/// The caller is answered at the deadline even when `work` cannot be interrupted (a CPU-bound
/// prediction): `work` runs in its own task, which is cancelled and left to finish in the
/// background. A shared model load it awaits keeps going and is cached for the next request.
///
/// - Parameter cancelsWork: whether `work` is cancelled at the deadline (false: it runs to its end).
func withDeadline<T: Sendable>(_ limit: Duration, what: String, cancelsWork: Bool = true,
                               _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = FirstOutcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            outcome.install(continuation)
            let worker = Task {
                let result: Result<T, any Error>
                do { result = .success(try await work()) } catch { result = .failure(error) }
                outcome.resolve(result)
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                if outcome.resolve(.failure(TrainyardError(.timeout, "\(what) took longer than the request timeout (\(limit))"))), cancelsWork {
                    worker.cancel()
                }
            }
            outcome.onResolve { timer.cancel() }
        }
    } onCancel: {
        outcome.resolve(.failure(CancellationError()))
    }
}

/// The first of several racing results resumes the continuation; the others are dropped.
final class FirstOutcome<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var done = false
        var cleanup: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { s -> Result<T, any Error>? in
            if let early = s.early { s.early = nil; return early }
            s.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func onResolve(_ cleanup: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.done { return true }
            s.cleanup = cleanup
            return false
        }
        if now { cleanup() }
    }

    /// Delivers `result` if nothing was delivered yet; returns whether it was.
    @discardableResult
    func resolve(_ result: Result<T, any Error>) -> Bool {
        let (won, continuation, cleanup) = state.withLock { s -> (Bool, CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !s.done else { return (false, nil, nil) }
            s.done = true
            let c = s.continuation
            s.continuation = nil
            if c == nil { s.early = result }
            defer { s.cleanup = nil }
            return (true, c, s.cleanup)
        }
        continuation?.resume(with: result)
        cleanup?()
        return won
    }
}
