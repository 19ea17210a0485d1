import Foundation
import Logging
import TrainyardCore
import TrainyardStorage

/// The wired-together system one process runs on: configuration, metadata store, artifact
/// store, the trainers by task, and the wake-up signal between them.
///
/// The CLI, the server and the tests all build one of these (`embedded` for the SQLite +
/// folder default), then hand it to the roles they run (workers, HTTP server).
public struct TrainyardServices: Sendable {
    public var configuration: TrainyardConfiguration
    public var store: any MetadataStore
    public var artifacts: any ArtifactStore
    public var trainers: TrainerRegistry
    public var wakeup: WakeupSignal
    public var clock: any WallClock
    public var logger: Logger

    public init(configuration: TrainyardConfiguration, store: any MetadataStore, artifacts: any ArtifactStore,
                trainers: TrainerRegistry, wakeup: WakeupSignal, clock: any WallClock = SystemClock(), logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.artifacts = artifacts
        self.trainers = trainers
        self.wakeup = wakeup
        self.clock = clock
        self.logger = logger
    }

    /// SQLite in `{data_dir}/trainyard.sqlite` and artifacts in `{data_dir}/artifacts`.
    public static func embedded(_ configuration: TrainyardConfiguration, trainers: TrainerRegistry,
                                clock: any WallClock = SystemClock(), retryPolicy: RetryPolicy = RetryPolicy(),
                                logger: Logger = Logger(label: "trainyard")) async throws -> TrainyardServices {
        let wakeup = WakeupSignal()
        let store = try SQLiteMetadataStore(file: configuration.databaseFile, namespace: configuration.namespace, clock: clock,
                                            retryPolicy: retryPolicy, onChange: { wakeup.signal() })
        for kind in JobKind.allCases {
            try await store.setRunningCap(configuration.maxRunning[kind], for: kind)
        }
        let artifacts = try FileArtifactStore(root: configuration.artifactDirectory, namespace: configuration.namespace)
        return TrainyardServices(configuration: configuration, store: store, artifacts: artifacts, trainers: trainers,
                                 wakeup: wakeup, clock: clock, logger: logger)
    }

    public var submitter: JobSubmitter { JobSubmitter(services: self) }
}

/// Task → trainer.
public struct TrainerRegistry: Sendable {
    private var trainers: [TaskKind: any Trainer]

    public init(_ trainers: [TaskKind: any Trainer] = [:]) { self.trainers = trainers }

    public subscript(task: TaskKind) -> (any Trainer)? {
        get { trainers[task] }
        set { trainers[task] = newValue }
    }

    public func trainer(for task: TaskKind) throws(TrainyardError) -> any Trainer {
        guard let t = trainers[task] else {
            throw TrainyardError(.invalidSpec, "task \(task.rawValue) has no trainer in this build")
        }
        return t
    }
}
