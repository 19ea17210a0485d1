/// Classification quality: accuracy, macro-averaged F1, log-loss, and ROC AUC for two classes.
///
/// Names match the public metric names (`accuracy`, `macro_f1`, `logloss`, `auc`).
public struct ClassificationMetrics: Sendable, Equatable {
    public var accuracy: Double
    public var macroF1: Double
    /// Mean negative log-likelihood of the true class; nil when no probabilities were given.
    public var logloss: Double?
    /// Area under the ROC curve of class 1's probability; binary problems only.
    public var auc: Double?

    /// - Parameters:
    ///   - truth: class indices in `0..<classCount`, nSamples ≥ 1.
    ///   - predicted: predicted class indices, aligned with `truth`.
    ///   - probabilities: optional row-major nSamples × classCount probabilities.
    public init(truth: [Int], predicted: [Int], classCount: Int, probabilities: [Double]? = nil) {
        precondition(truth.count == predicted.count && !truth.isEmpty, "metric inputs must be non-empty and aligned")
        var correct = 0
        var tp = [Int](repeating: 0, count: classCount)
        var fp = tp, fn = tp
        for i in truth.indices {
            let t = truth[i], p = predicted[i]
            if t == p { correct += 1; tp[t] += 1 } else { fp[p] += 1; fn[t] += 1 }
        }
        accuracy = Double(correct) / Double(truth.count)
        // Macro F1 over classes that occur in truth or predictions (scikit-learn's convention
        // counts every label present in either).
        var f1Sum = 0.0, present = 0
        for c in 0..<classCount where tp[c] + fp[c] + fn[c] > 0 {
            present += 1
            let denom = Double(2 * tp[c] + fp[c] + fn[c])
            f1Sum += denom > 0 ? Double(2 * tp[c]) / denom : 0
        }
        macroF1 = present > 0 ? f1Sum / Double(present) : 0
        if let probabilities {
            precondition(probabilities.count == truth.count * classCount, "probabilities must be nSamples × classCount")
            var ll = 0.0
            for i in truth.indices {
                let p = min(max(probabilities[i * classCount + truth[i]], 1e-15), 1)
                ll -= log(p)
            }
            logloss = ll / Double(truth.count)
            if classCount == 2 {
                auc = Self.rocAUC(labels: truth, scores: truth.indices.map { probabilities[$0 * 2 + 1] })
            }
        }
    }

    /// ROC AUC by the rank-sum (Mann–Whitney) formula, ties given half credit.
    public static func rocAUC(labels: [Int], scores: [Double]) -> Double? {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPositive = 0.0
        var positives = 0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let averageRank = Double(i + j) / 2 + 1
            for k in i...j where labels[order[k]] == 1 {
                rankSumPositive += averageRank
                positives += 1
            }
            i = j + 1
        }
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        return (rankSumPositive - Double(positives * (positives + 1)) / 2) / Double(positives * negatives)
    }

    public var asDictionary: [String: Double] {
        var d = ["accuracy": accuracy, "macro_f1": macroF1]
        if let logloss { d["logloss"] = logloss }
        if let auc { d["auc"] = auc }
        return d
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
