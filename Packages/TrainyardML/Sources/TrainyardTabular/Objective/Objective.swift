#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The loss a boosted model minimises, with its gradients.
///
/// Scores and gradients are class-major: value for class k of row i at `k * n + i`
/// (K = 1 for regression and binary classification).
enum Objective: Sendable, Equatable {
    /// Squared error (`regression_l2`).
    case l2
    /// Binary log-loss on a sigmoid of the score.
    case binary
    /// Multiclass log-loss on a softmax of K scores.
    case multiclass(Int)

    static func forTask(_ task: TabularTask, classCount: Int) -> Objective {
        switch task {
        case .regression: return .l2
        case .classification: return classCount == 2 ? .binary : .multiclass(classCount)
        }
    }

    /// Scores (trees) per row.
    var scoreCount: Int {
        if case .multiclass(let k) = self { return k }
        return 1
    }

    /// Starting scores: the mean target, the log-odds, or the log class priors.
    func initialScores(labels: [Double]) -> [Double] {
        let n = Double(max(labels.count, 1))
        switch self {
        case .l2:
            return [labels.reduce(0, +) / n]
        case .binary:
            let p = min(max(labels.reduce(0, +) / n, 1e-6), 1 - 1e-6)
            return [log(p / (1 - p))]
        case .multiclass(let k):
            var counts = [Double](repeating: 0, count: k)
            for y in labels { counts[Int(y)] += 1 }
            return counts.map { log(max($0 / n, 1e-6)) }
        }
    }

    /// Fills gradients and hessians (class-major, K × n) for the current scores.
    func gradients(scores: UnsafePointer<Double>, labels: UnsafePointer<Double>, n: Int,
                   grad: UnsafeMutablePointer<Float>, hess: UnsafeMutablePointer<Float>) {
        switch self {
        case .l2:
            for i in 0..<n {
                grad[i] = Float(scores[i] - labels[i])
                hess[i] = 1
            }
        case .binary:
            for i in 0..<n {
                let p = 1 / (1 + exp(-scores[i]))
                grad[i] = Float(p - labels[i])
                hess[i] = Float(max(p * (1 - p), 1e-16))
            }
        case .multiclass(let k):
            let factor = Double(k) / Double(k - 1)
            withUnsafeTemporaryAllocation(of: Double.self, capacity: k) { p in
                for i in 0..<n {
                    var m = -Double.infinity
                    for c in 0..<k { m = max(m, scores[c * n + i]) }
                    var s = 0.0
                    for c in 0..<k { p[c] = exp(scores[c * n + i] - m); s += p[c] }
                    let y = Int(labels[i])
                    for c in 0..<k {
                        let pc = p[c] / s
                        grad[c * n + i] = Float(pc - (c == y ? 1 : 0))
                        hess[c * n + i] = Float(max(factor * pc * (1 - pc), 1e-16))
                    }
                }
            }
        }
    }

    /// Converts raw scores (class-major) to row-major predictions: the value (regression) or
    /// the class probabilities (K columns, 2 for binary).
    func transform(scores: [Double], n: Int) -> [Double] {
        switch self {
        case .l2:
            return scores
        case .binary:
            var out = [Double](repeating: 0, count: 2 * n)
            for i in 0..<n {
                let p = 1 / (1 + exp(-scores[i]))
                out[2 * i] = 1 - p
                out[2 * i + 1] = p
            }
            return out
        case .multiclass(let k):
            var out = [Double](repeating: 0, count: k * n)
            for i in 0..<n {
                var m = -Double.infinity
                for c in 0..<k { m = max(m, scores[c * n + i]) }
                var s = 0.0
                for c in 0..<k { let e = exp(scores[c * n + i] - m); out[i * k + c] = e; s += e }
                for c in 0..<k { out[i * k + c] /= s }
            }
            return out
        }
    }
}

/// Metrics of predictions (row-major values or probabilities) against labels, under the
/// public names, plus `loss` (rmse or logloss) for early stopping.
enum TabularMetrics {
    static func regression(truth: [Double], predicted: [Double]) -> [String: Double] {
        RegressionMetrics(truth: truth, predicted: predicted).asDictionary
    }

    /// - Parameters: `probabilities` row-major nSamples × classCount.
    static func classification(truth: [Double], probabilities: [Double], classCount: Int, withAUC: Bool) -> [String: Double] {
        let n = truth.count
        var predicted = [Int](repeating: 0, count: n)
        for i in 0..<n {
            var best = 0
            for c in 1..<classCount where probabilities[i * classCount + c] > probabilities[i * classCount + best] { best = c }
            predicted[i] = best
        }
        let labels = truth.map { Int($0) }
        if withAUC {
            return ClassificationMetrics(truth: labels, predicted: predicted, classCount: classCount, probabilities: probabilities).asDictionary
        }
        // Cheap per-round metrics: accuracy and logloss (AUC needs a sort).
        var correct = 0, ll = 0.0
        for i in 0..<n {
            if predicted[i] == labels[i] { correct += 1 }
            ll -= log(min(max(probabilities[i * classCount + labels[i]], 1e-15), 1))
        }
        return ["accuracy": Double(correct) / Double(n), "logloss": ll / Double(n)]
    }

    static func evaluate(task: TabularTask, truth: [Double], predictions: [Double], classCount: Int, full: Bool) -> [String: Double] {
        switch task {
        case .regression: return regression(truth: truth, predicted: predictions)
        case .classification: return classification(truth: truth, probabilities: predictions, classCount: classCount, withAUC: full)
        }
    }

    /// The loss reported as `train_loss` / `validation_loss`: rmse or logloss.
    static func loss(task: TabularTask, _ metrics: [String: Double]) -> Double {
        task == .regression ? metrics["rmse"]! : metrics["logloss"]!
    }
}
