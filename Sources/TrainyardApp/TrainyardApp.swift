import Foundation
import Logging
import ServiceLifecycle
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime
import TrainyardServer
import TrainyardServing
import TrainyardStorage

/// The whole system one process runs, built from one configuration:
/// backends (chosen by the `metadata` / `artifacts` URLs) → runtime (`TrainyardServices`,
/// trainers) → serving (`ModelServer` and its artifact cache) → HTTP.
///
/// Every role (`up`, `server`, `worker`, `quickstart`, the CLI's local mode), the benchmark and
/// every test harness builds the system here, so there is one wiring to read and to change.
///
/// ```swift
/// let app = try await TrainyardApp.build(configuration, logger: logger)
/// let pool = WorkerPool(services: app.services, options: .init(workers: configuration.workers))
/// let http = try app.httpServer(onListening: { port in … })
/// try await ServiceGroup(services: [pool, http], …).run()
/// ```
public struct TrainyardApp: Sendable {
    /// The runtime: configuration, stores, trainers, wake-ups.
    public let services: TrainyardServices

    public var configuration: TrainyardConfiguration { services.configuration }

    /// Opens the configured backends and wires the runtime on them.
    ///
    /// - Parameters:
    ///   - trainers: nil for every trainer this build ships, bounded by `limits.*` and `runner.*`.
    ///   - clock, retryPolicy: injected by tests (the metadata store schedules retries with them).
    /// - Throws: a configuration error naming the key when a backend's settings are wrong, or the
    ///   store's error when it cannot be opened.
    public static func build(_ configuration: TrainyardConfiguration, trainers: TrainerRegistry? = nil, clock: any WallClock = SystemClock(),
                             retryPolicy: RetryPolicy = RetryPolicy(), logger: Logger = Logger(label: "trainyard")) async throws -> TrainyardApp {
        let wakeup = WakeupSignal()
        // Weakly: the signal holds the store (its observer, below), and a store holding the
        // signal back would never be released (nor its connections closed) with the app.
        let store = try await Backends.openMetadataStore(configuration, clock: clock, retryPolicy: retryPolicy,
                                                         onChange: { [weak wakeup] in wakeup?.signal() })
        // A shared store tells this process about other processes' changes while someone waits.
        wakeup.observeWaiting { [store] waiting in store.changeInterest(waiting) }
        let artifacts = try Backends.openArtifactStore(configuration)
        var services = TrainyardServices(configuration: configuration, store: store, artifacts: artifacts,
                                         trainers: trainers ?? defaultTrainers(configuration), wakeup: wakeup, clock: clock, logger: logger)
        // Transform jobs (and the submitter's column check) score through serving.
        services.scoring = ServingBatchScoring(services: services)
        services.messageQueues = Backends.openMessageQueues(logger: logger)
        services.dataObjects = Backends.openDataObjects(artifacts: artifacts, logger: logger)
        return TrainyardApp(services: services)
    }

    /// Closes the backends' connections (a PostgreSQL store's pool and listener), for a process
    /// or test that ends its use of the system before it exits. Releasing the app does the same,
    /// later; nothing is lost either way (every write is committed when its call returns).
    public func close() async {
        await Backends.close(services.store)
    }

    /// Wires a system on `services` built elsewhere (a test that swapped a store for a faulty one).
    public init(services: TrainyardServices) { self.services = services }

    /// Every trainer this build ships, bounded by the configured `limits.*` and `runner.*`.
    public static func defaultTrainers(_ configuration: TrainyardConfiguration) -> TrainerRegistry {
        .standard(limits: configuration.limits, runner: configuration.runner)
    }

    // MARK: Serving

    /// Serving settings as this system runs them: `options` (default: the configuration's
    /// `serving` section) with the artifact cache at `{data_dir}/cache` when none is set and the
    /// artifact store is remote, since every load would otherwise download.
    public func servingOptions(_ options: ServingOptions? = nil) -> ServingOptions {
        var resolved = options ?? configuration.serving
        if resolved.cacheDirectory == nil, Backends.isRemote(configuration.artifactBackend) {
            resolved.cacheDirectory = configuration.dataDirectory.appendingPathComponent("cache")
        }
        return resolved
    }

    /// A model server on this system (the CLI's local `predict`; a test's server), reading
    /// artifacts through the local cache when the resolved options have one.
    public func modelServer(options: ServingOptions? = nil, loadBackoff: Duration = .seconds(5)) -> ModelServer {
        let resolved = servingOptions(options)
        return ModelServer(services: servingServices(resolved), options: resolved, loadBackoff: loadBackoff)
    }

    /// The inference plane: a model server (as `modelServer`) and its routes, with
    /// required-model loading wired into `readiness`.
    public func inference(readiness: Readiness, options: ServingOptions? = nil) -> InferenceAPI {
        let resolved = servingOptions(options)
        return InferenceAPI.make(services: servingServices(resolved), readiness: readiness, options: resolved)
    }

    /// The services the model server reads from: the artifact store behind a local,
    /// size-bounded cache (`CachingArtifactStore`) when `options.cacheDirectory` is set. A cache
    /// folder that cannot be used is logged and served around, never fatal.
    func servingServices(_ options: ServingOptions) -> TrainyardServices {
        guard let directory = options.cacheDirectory else { return services }
        var cached = services
        do {
            cached.artifacts = try CachingArtifactStore(remote: services.artifacts, directory: directory, namespace: configuration.namespace,
                                                      maxBytes: options.cacheMaxBytes)
        } catch {
            services.logger.warning("artifact cache disabled: cannot use its folder", metadata: ["trainyard.cache": .string(directory.path),
                                                                                                "error.description": .string("\(error)")])
        }
        return cached
    }

    // MARK: HTTP

    /// The HTTP role: control API, operations and the inference plane, as a Service bound to
    /// `server.host` / `server.port` (refused beyond loopback without tokens unless
    /// `server.insecure`). The model server's alias watcher runs in the application's
    /// ServiceGroup, with `extraServices`.
    ///
    /// - Parameter onListening: called with the bound port once connections are accepted.
    public func httpServer(readiness: Readiness = Readiness(), options: ControlAPI.Options = .init(), serving: ServingOptions? = nil,
                           extraServices: [any Service] = [],
                           onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> TrainyardApplication {
        let inference = inference(readiness: readiness, options: serving)
        return try TrainyardHTTPServer.makeApplication(services: services, readiness: readiness, options: options, extraRoutes: inference.routes,
                                                       extraServices: [inference.server] + extraServices, onListening: onListening)
    }
}
