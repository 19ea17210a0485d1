/// Regression quality: root mean squared error, mean absolute error and R².
///
/// Names match the public metric names (`rmse`, `mae`, `r2`).
public struct RegressionMetrics: Sendable, Equatable {
    public var rmse: Double
    public var mae: Double
    public var r2: Double

    /// - Parameters: `truth` and `predicted` have the same length (nSamples ≥ 1).
    public init(truth: [Double], predicted: [Double]) {
        precondition(truth.count == predicted.count && !truth.isEmpty, "metric inputs must be non-empty and aligned")
        let n = Double(truth.count)
        var se = 0.0, ae = 0.0, mean = 0.0
        for t in truth { mean += t }
        mean /= n
        var ss = 0.0
        for i in truth.indices {
            let d = truth[i] - predicted[i]
            se += d * d
            ae += abs(d)
            ss += (truth[i] - mean) * (truth[i] - mean)
        }
        rmse = (se / n).squareRoot()
        mae = ae / n
        r2 = ss > 0 ? 1 - se / ss : 0
    }

    public var asDictionary: [String: Double] { ["rmse": rmse, "mae": mae, "r2": r2] }
}
