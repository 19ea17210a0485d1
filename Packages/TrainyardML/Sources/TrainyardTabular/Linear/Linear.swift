#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hyper-parameters of the linear baseline (`linear`): ridge regression, or multinomial
/// logistic regression fitted with L-BFGS.
///
/// `l2` follows scikit-learn: Ridge's `alpha` (penalty ½·l2·‖w‖² on the summed squared error)
/// and LogisticRegression's `1 / C`. `epochs` (classification only) caps L-BFGS iterations.
///
/// `l2_units`: the inputs are standardised for the solver, but by default (`raw`) the penalty
/// is on the coefficients of the raw numeric columns, as when scikit-learn's estimators are
/// given the columns as they are: a coefficient of a column with standard deviation σ is
/// penalised by l2/σ² in standardised units. `standardized` penalises the standardised
/// coefficients (scikit-learn with a StandardScaler in front). One-hot columns are the same
/// either way.
struct LinearConfig: Sendable {
    static let l2 = ParameterDeclaration.number(
        "l2", default: 1, in: 0...1e12,
        doc: "L2 penalty: Ridge's alpha (regression), 1/C of LogisticRegression (classification).")
    static let l2Units = ParameterDeclaration.choice(
        "l2_units", default: "raw", from: ["raw", "standardized"],
        doc: "Penalise the coefficients of the raw numeric columns, or of the standardised ones.")
    static let epochs = ParameterDeclaration(
        "epochs", kind: .integer(1...100_000), default: .value(.int(200)),
        doc: "Most L-BFGS iterations of the logistic regression.", tasks: [TabularTask.classification.rawValue])
    static let seed = ParameterDeclaration.seed(in: Int.min...Int.max, doc: "Accepted for symmetry with gbdt and mlp; the fit is deterministic.")

    static let parameters = ParameterSet(algorithm: TabularAlgorithm.linear.rawValue, [l2, l2Units, epochs, seed])

    var l2: Double
    var l2Units: String
    var epochs: Int
    let task: TabularTask
    /// Every effective value under its public name (no seed: the fit does not use one).
    let resolved: [String: ParamValue]

    init(task: TabularTask, params: [String: ParamValue]) throws(ParameterError) {
        self.task = task
        let v = try Self.parameters.resolve(params, task: task.rawValue, seed: 0)
        l2 = v.double(Self.l2)
        l2Units = v.string(Self.l2Units)
        // 0 for regression: it solves in closed form, with no iterations to cap.
        epochs = Self.epochs.applies(to: task.rawValue) ? v.int(Self.epochs) : 0
        var resolved = v.values
        resolved[Self.seed.name] = nil
        self.resolved = resolved
    }
}

/// A linear model on dense-encoded inputs: weights (width + 1) × outputs, intercept last.
struct LinearModel: Sendable, Equatable {
    var encoding: DenseEncoding
    var weights: [Double]
    var outputs: Int
    var classCount: Int  // 0 for regression

    func predict(_ table: EncodedTable) -> [Double] {
        let x = encoding.encodeAll(table)
        let d = encoding.width, n = table.count, k = outputs
        var out = [Double](repeating: 0, count: n * k)
        for i in 0..<n {
            for c in 0..<k {
                var s = weights[d * k + c]
                for j in 0..<d where x[i * d + j] != 0 { s += Double(x[i * d + j]) * weights[j * k + c] }
                out[i * k + c] = s
            }
            if classCount > 0 { LinearTrainer.softmax(&out, row: i, k: k) }
        }
        return out
    }

    func write(to w: inout BinaryWriter) {
        encoding.write(to: &w)
        w.write(weights)
        w.write(outputs)
        w.write(classCount)
    }

    static func read(from r: inout BinaryReader) throws -> LinearModel {
        let m = LinearModel(encoding: try DenseEncoding.read(from: &r), weights: try r.readDoubles(), outputs: try r.readInt(), classCount: try r.readInt())
        guard m.outputs >= 1, m.weights.count == (m.encoding.width + 1) * m.outputs else { throw ModelFormatError("corrupt linear model") }
        return m
    }
}

/// Ridge's sufficient statistics (XᵀX and Xᵀy with the intercept column), kept in the
/// checkpoint so a warm start adds new rows to the exact same least-squares problem.
struct RidgeStatistics: Sendable, Equatable {
    var xtx: [Double]
    var xty: [Double]
    var rows: Int

    func write(to w: inout BinaryWriter) { w.write(xtx); w.write(xty); w.write(rows) }
    static func read(from r: inout BinaryReader) throws -> RidgeStatistics {
        RidgeStatistics(xtx: try r.readDoubles(), xty: try r.readDoubles(), rows: try r.readInt())
    }
}

enum LinearTrainer {
    struct Outcome {
        var model: LinearModel
        var statistics: RidgeStatistics?
        var history: [EpochReport]
    }

    static func softmax(_ v: inout [Double], row i: Int, k: Int) {
        var m = -Double.infinity
        for c in 0..<k { m = max(m, v[i * k + c]) }
        var s = 0.0
        for c in 0..<k { v[i * k + c] = exp(v[i * k + c] - m); s += v[i * k + c] }
        for c in 0..<k { v[i * k + c] /= s }
    }

    static func train(config: LinearConfig, task: TabularTask, classCount: Int, train: EncodedTable, validation: EncodedTable?,
                      warmStart: (LinearModel, RidgeStatistics?)?, observer: any TrainingObserver) throws -> Outcome {
        // On warm start the first fit's statistics stay; only the input bounds widen to the new rows.
        let encoding = warmStart?.0.encoding.widened(toCover: train) ?? DenseEncoding(fit: train)
        let x = encoding.encodeAll(train)
        let d = encoding.width, n = train.count, p = d + 1
        var history: [EpochReport] = []
        // Per input column: the penalty on its (standardised) coefficient.
        var penalty = [Double](repeating: config.l2, count: d)
        if config.l2Units == "raw" {
            for j in 0..<encoding.categoryCounts.count where encoding.categoryCounts[j] == 0 {
                penalty[encoding.offsets[j]] = config.l2 / (encoding.stds[j] * encoding.stds[j])
            }
        }

        func report(_ model: LinearModel, epoch: Int, total: Int, trainLoss: Double) throws {
            var metrics: [String: Double] = ["train_loss": trainLoss]
            if let validation {
                let vm = TabularMetrics.evaluate(task: task, truth: validation.target, predictions: model.predict(validation), classCount: classCount, full: false)
                for (k, v) in vm { metrics[k] = v }
                metrics["validation_loss"] = TabularMetrics.loss(task: task, vm)
            }
            let r = EpochReport(epoch: epoch, totalEpochs: total, metrics: metrics)
            history.append(r)
            guard observer.epochFinished(r) else { throw TrainingStopped() }
        }

        if task == .regression {
            var stats = warmStart?.1 ?? RidgeStatistics(xtx: [Double](repeating: 0, count: p * p), xty: [Double](repeating: 0, count: p), rows: 0)
            var row = [Double](repeating: 0, count: p)
            for i in 0..<n {
                for j in 0..<d { row[j] = Double(x[i * d + j]) }
                row[d] = 1
                let y = train.target[i]
                for a in 0..<p where row[a] != 0 {
                    stats.xty[a] += row[a] * y
                    for b in 0..<p where row[b] != 0 { stats.xtx[a * p + b] += row[a] * row[b] }
                }
            }
            stats.rows += n
            var a = stats.xtx
            for j in 0..<d { a[j * p + j] += penalty[j] }
            let w = solveSymmetric(a, stats.xty, p)
            let model = LinearModel(encoding: encoding, weights: w, outputs: 1, classCount: 0)
            let trainRMSE = RegressionMetrics(truth: train.target, predicted: model.predict(train)).rmse
            try report(model, epoch: 1, total: 1, trainLoss: trainRMSE)
            return Outcome(model: model, statistics: stats, history: history)
        }

        // Multinomial logistic regression: minimise Σ CE + ½·Σ penalty·W² (intercepts unpenalised).
        let k = classCount
        var w = warmStart?.0.weights ?? [Double](repeating: 0, count: p * k)
        let labels = train.target.map { Int($0) }
        func lossAndGradient(_ w: [Double], _ g: inout [Double]) -> Double {
            for i in 0..<g.count { g[i] = 0 }
            var loss = 0.0
            var z = [Double](repeating: 0, count: k)
            for i in 0..<n {
                for c in 0..<k { z[c] = w[d * k + c] }
                for j in 0..<d {
                    let v = Double(x[i * d + j])
                    if v != 0 { for c in 0..<k { z[c] += v * w[j * k + c] } }
                }
                var m = -Double.infinity
                for c in 0..<k { m = max(m, z[c]) }
                var s = 0.0
                for c in 0..<k { z[c] = exp(z[c] - m); s += z[c] }
                loss -= log(max(z[labels[i]] / s, 1e-300))
                for c in 0..<k { z[c] = z[c] / s - (c == labels[i] ? 1 : 0) }
                for j in 0..<d {
                    let v = Double(x[i * d + j])
                    if v != 0 { for c in 0..<k { g[j * k + c] += v * z[c] } }
                }
                for c in 0..<k { g[d * k + c] += z[c] }
            }
            for j in 0..<(d * k) {
                let lambda = penalty[j / k]
                loss += 0.5 * lambda * w[j] * w[j]; g[j] += lambda * w[j]
            }
            return loss
        }
        try LBFGS.minimize(&w, iterations: config.epochs, lossAndGradient) { iteration, loss, w in
            let model = LinearModel(encoding: encoding, weights: w, outputs: k, classCount: k)
            try report(model, epoch: iteration, total: config.epochs, trainLoss: loss / Double(n))
        }
        return Outcome(model: LinearModel(encoding: encoding, weights: w, outputs: k, classCount: k), statistics: nil, history: history)
    }

    /// Solves A·x = b for symmetric positive (semi-)definite A by Cholesky, adding a small
    /// ridge if A is singular.
    static func solveSymmetric(_ a: [Double], _ b: [Double], _ p: Int) -> [Double] {
        var jitter = 0.0
        var scale = 0.0
        for i in 0..<p { scale = max(scale, a[i * p + i]) }
        while true {
            var l = [Double](repeating: 0, count: p * p)
            var ok = true
            outer: for i in 0..<p {
                for j in 0...i {
                    var s = a[i * p + j] + (i == j ? jitter : 0)
                    for q in 0..<j { s -= l[i * p + q] * l[j * p + q] }
                    if i == j {
                        if s <= 1e-12 * max(scale, 1) { ok = false; break outer }
                        l[i * p + i] = s.squareRoot()
                    } else {
                        l[i * p + j] = s / l[j * p + j]
                    }
                }
            }
            if ok {
                var y = [Double](repeating: 0, count: p)
                for i in 0..<p {
                    var s = b[i]
                    for q in 0..<i { s -= l[i * p + q] * y[q] }
                    y[i] = s / l[i * p + i]
                }
                var x = [Double](repeating: 0, count: p)
                for i in stride(from: p - 1, through: 0, by: -1) {
                    var s = y[i]
                    for q in (i + 1)..<p { s -= l[q * p + i] * x[q] }
                    x[i] = s / l[i * p + i]
                }
                return x
            }
            jitter = jitter == 0 ? 1e-10 * max(scale, 1) : jitter * 10
        }
    }
}

/// Limited-memory BFGS with a backtracking (Armijo) line search.
enum LBFGS {
    static func minimize(_ x: inout [Double], iterations: Int, memory: Int = 10,
                         _ f: ([Double], inout [Double]) -> Double,
                         onIteration: (Int, Double, [Double]) throws -> Void) throws {
        let n = x.count
        var g = [Double](repeating: 0, count: n)
        var fx = f(x, &g)
        var sList: [[Double]] = [], yList: [[Double]] = [], rho: [Double] = []
        for iteration in 1...iterations {
            // Two-loop recursion: direction = −H·g.
            var q = g
            var alphas = [Double](repeating: 0, count: sList.count)
            for i in stride(from: sList.count - 1, through: 0, by: -1) {
                var a = 0.0
                for j in 0..<n { a += sList[i][j] * q[j] }
                a *= rho[i]
                alphas[i] = a
                for j in 0..<n { q[j] -= a * yList[i][j] }
            }
            if let s = sList.last, let y = yList.last {
                var sy = 0.0, yy = 0.0
                for j in 0..<n { sy += s[j] * y[j]; yy += y[j] * y[j] }
                let gamma = yy > 0 ? sy / yy : 1
                for j in 0..<n { q[j] *= gamma }
            } else {
                var gn = 0.0
                for j in 0..<n { gn += g[j] * g[j] }
                let scale = 1 / max(gn.squareRoot(), 1)
                for j in 0..<n { q[j] *= scale }
            }
            for i in 0..<sList.count {
                var b = 0.0
                for j in 0..<n { b += yList[i][j] * q[j] }
                b *= rho[i]
                for j in 0..<n { q[j] += sList[i][j] * (alphas[i] - b) }
            }
            var slope = 0.0
            for j in 0..<n { slope -= g[j] * q[j] }
            if slope >= 0 {  // not a descent direction: restart with steepest descent
                sList.removeAll(); yList.removeAll(); rho.removeAll()
                q = g
                slope = 0
                for j in 0..<n { slope -= g[j] * g[j] }
            }
            var step = 1.0
            var newX = x, newG = g, newF = fx
            var accepted = false
            for _ in 0..<40 {
                for j in 0..<n { newX[j] = x[j] - step * q[j] }
                newF = f(newX, &newG)
                if newF <= fx + 1e-4 * step * slope { accepted = true; break }
                step *= 0.5
            }
            if !accepted { try onIteration(iteration, fx, x); break }
            var s = [Double](repeating: 0, count: n), y = s
            var sy = 0.0
            for j in 0..<n { s[j] = newX[j] - x[j]; y[j] = newG[j] - g[j]; sy += s[j] * y[j] }
            if sy > 1e-12 {
                sList.append(s); yList.append(y); rho.append(1 / sy)
                if sList.count > memory { sList.removeFirst(); yList.removeFirst(); rho.removeFirst() }
            }
            let improvement = fx - newF
            x = newX; g = newG; fx = newF
            try onIteration(iteration, fx, x)
            var gmax = 0.0
            for j in 0..<n { gmax = max(gmax, abs(g[j])) }
            if gmax < 1e-6 || improvement < 1e-10 * max(abs(fx), 1) { break }
        }
    }
}
