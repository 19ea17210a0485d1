/// Limited-memory BFGS minimiser with a backtracking (Armijo) line search.
///
/// `evaluate(x, &gradient)` returns f(x) and fills ∇f(x). After each accepted step
/// `iterationFinished(k, f, x)` may return false to stop. Stops early when the relative
/// decrease of f over the last `period` iterations falls below `delta` (crfsuite's rule).
struct LBFGS {
    var memory = 6
    var maxIterations = 100
    var period = 10
    var delta = 1e-5

    func minimize(_ x: inout [Double], evaluate: ([Double], inout [Double]) -> Double,
                  iterationFinished: (Int, Double, [Double]) throws -> Bool) rethrows {
        let n = x.count
        var g = [Double](repeating: 0, count: n)
        var f = evaluate(x, &g)
        var sHistory: [[Double]] = []
        var yHistory: [[Double]] = []
        var rhoHistory: [Double] = []
        var d = g.map { -$0 }
        var fHistory: [Double] = [f]
        var xNew = x
        var gNew = g
        for k in 1...maxIterations {
            var gd = dot(g, d)
            if gd >= 0 {
                // Not a descent direction: restart from steepest descent.
                sHistory.removeAll(); yHistory.removeAll(); rhoHistory.removeAll()
                for i in 0..<n { d[i] = -g[i] }
                gd = dot(g, d)
            }
            var alpha = sHistory.isEmpty ? 1 / max(dot(d, d).squareRoot(), 1e-12) : 1.0
            var fNew = f
            var accepted = false
            for _ in 0..<30 {
                for i in 0..<n { xNew[i] = x[i] + alpha * d[i] }
                fNew = evaluate(xNew, &gNew)
                if fNew.isFinite && fNew <= f + 1e-4 * alpha * gd { accepted = true; break }
                // Quadratic interpolation of the step, kept within [0.1, 0.5] of the last one.
                let denominator = 2 * (fNew - f - alpha * gd)
                let trial = denominator > 0 && fNew.isFinite ? -gd * alpha * alpha / denominator : alpha * 0.5
                alpha = min(max(trial, alpha * 0.1), alpha * 0.5)
            }
            guard accepted else { return }
            var s = [Double](repeating: 0, count: n)
            var y = [Double](repeating: 0, count: n)
            for i in 0..<n { s[i] = xNew[i] - x[i]; y[i] = gNew[i] - g[i] }
            let ys = dot(y, s)
            swap(&x, &xNew)
            swap(&g, &gNew)
            f = fNew
            if ys > 1e-10 {
                if sHistory.count == memory { sHistory.removeFirst(); yHistory.removeFirst(); rhoHistory.removeFirst() }
                sHistory.append(s); yHistory.append(y); rhoHistory.append(1 / ys)
            }
            guard try iterationFinished(k, f, x) else { return }
            fHistory.append(f)
            if fHistory.count > period {
                let old = fHistory[fHistory.count - 1 - period]
                if (old - f) / max(abs(f), 1e-12) < delta { return }
            }
            // Two-loop recursion: d = −H g.
            for i in 0..<n { d[i] = -g[i] }
            var a = [Double](repeating: 0, count: sHistory.count)
            for j in stride(from: sHistory.count - 1, through: 0, by: -1) {
                a[j] = rhoHistory[j] * dot(sHistory[j], d)
                axpy(-a[j], yHistory[j], &d)
            }
            if let lastS = sHistory.last, let lastY = yHistory.last {
                let gamma = dot(lastS, lastY) / max(dot(lastY, lastY), 1e-300)
                for i in 0..<n { d[i] *= gamma }
            }
            for j in 0..<sHistory.count {
                let b = rhoHistory[j] * dot(yHistory[j], d)
                axpy(a[j] - b, sHistory[j], &d)
            }
        }
    }

    @inline(__always) func dot(_ a: [Double], _ b: [Double]) -> Double {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                var i = 0
                let n = pa.count
                while i + 4 <= n {
                    s0 += pa[i] * pb[i]; s1 += pa[i + 1] * pb[i + 1]
                    s2 += pa[i + 2] * pb[i + 2]; s3 += pa[i + 3] * pb[i + 3]
                    i += 4
                }
                while i < n { s0 += pa[i] * pb[i]; i += 1 }
                return (s0 + s1) + (s2 + s3)
            }
        }
    }

    @inline(__always) func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                for i in 0..<py.count { py[i] += alpha * px[i] }
            }
        }
    }
}
