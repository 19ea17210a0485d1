import Foundation
import Logging
import TrainyardCore

/// The wired-together system one process runs on: configuration, metadata store, artifact
/// store, the trainers by task, and the wake-up signal between them.
///
/// Runtime knows only the ports: the application builder (`TrainyardApp.build`) opens the
/// configured backends and makes one of these for the roles it runs (workers, HTTP server).
public struct TrainyardServices: Sendable {
    public var configuration: TrainyardConfiguration
    public var store: any MetadataStore
    public var artifacts: any ArtifactStore
    public var trainers: TrainerRegistry
    /// How transform jobs score (native models in process, bring-your-own through their serve
    /// process); nil in a build or test without serving: transform jobs then fail saying so.
    public var scoring: (any BatchScoring)?
    /// Opens the queues `sqs` triggers read; nil in a build or test without one: such triggers
    /// then record that they cannot be served.
    public var messageQueues: (any MessageQueueProvider)?
    /// Reads and writes data named by URI outside the artifact store (`s3://` spec data,
    /// transform inputs and outputs, watched prefixes); nil when this process has no S3: such
    /// URIs are then refused when submitted, saying so.
    public var dataObjects: (any DataObjectStore)?
    public var wakeup: WakeupSignal
    public var clock: any WallClock
    public var logger: Logger
    /// What this process's workers did (attempts started and ended, store outages), for
    /// `/metrics`; one instance shared by every copy of these services.
    public var workerMetrics = WorkerMetrics()

    public init(configuration: TrainyardConfiguration, store: any MetadataStore, artifacts: any ArtifactStore,
                trainers: TrainerRegistry, scoring: (any BatchScoring)? = nil, messageQueues: (any MessageQueueProvider)? = nil,
                dataObjects: (any DataObjectStore)? = nil, wakeup: WakeupSignal,
                clock: any WallClock = SystemClock(), logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.artifacts = artifacts
        self.trainers = trainers
        self.scoring = scoring
        self.messageQueues = messageQueues
        self.dataObjects = dataObjects
        self.wakeup = wakeup
        self.clock = clock
        self.logger = logger
    }

    public var submitter: JobSubmitter { JobSubmitter(services: self) }
    public var transformSubmitter: TransformSubmitter { TransformSubmitter(services: self) }
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
