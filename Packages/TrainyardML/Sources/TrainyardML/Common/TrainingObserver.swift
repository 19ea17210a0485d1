/// What a learner reports after each epoch or boosting round, and how it learns it should stop.
///
/// The runtime adapts this to job progress (state, epoch, loss, ETA) and cancellation; the
/// learners know nothing about jobs.
public struct EpochReport: Sendable, Equatable {
    public var epoch: Int
    public var totalEpochs: Int
    /// Metric name → value, e.g. `train_loss`, `validation_loss`, `rmse`, `accuracy`.
    public var metrics: [String: Double]

    public init(epoch: Int, totalEpochs: Int, metrics: [String: Double]) {
        self.epoch = epoch
        self.totalEpochs = totalEpochs
        self.metrics = metrics
    }
}

/// Receives progress and answers whether training should stop (cancellation, timeout).
///
/// Called from the training thread between epochs; implementations must be cheap and thread-safe.
public protocol TrainingObserver: Sendable {
    /// Returns `false` to ask the learner to stop; the learner then throws `TrainingStopped`.
    func epochFinished(_ report: EpochReport) -> Bool
}

/// An observer that ignores reports and never stops training.
public struct SilentObserver: TrainingObserver {
    public init() {}
    public func epochFinished(_ report: EpochReport) -> Bool { true }
}

/// Thrown by a learner when its observer asked it to stop.
public struct TrainingStopped: Error, Sendable {
    public init() {}
}
