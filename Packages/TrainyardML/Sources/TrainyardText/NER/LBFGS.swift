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
        var g: [Double] = hugePageArray(zeros: n)
        var f = evaluate(x, &g)
        // Correction pairs in a ring of preallocated vectors: `order` lists slots oldest first.
        var sHistory: [[Double]] = []
        var yHistory: [[Double]] = []
        var rhoHistory = [Double](repeating: 0, count: memory)
        var order: [Int] = []
        var a = [Double](repeating: 0, count: memory)
        var d: [Double] = hugePageArray(count: n) { b in for i in 0..<n { b.initializeElement(at: i, to: -g[i]) } }
        var fHistory: [Double] = [f]
        var xNew: [Double] = hugePageArray(zeros: n)
        var gNew: [Double] = hugePageArray(zeros: n)
        for k in 1...maxIterations {
            var gd = dot(g, d)
            if gd >= 0 {
                // Not a descent direction: restart from steepest descent.
                order.removeAll()
                for i in 0..<n { d[i] = -g[i] }
                gd = dot(g, d)
            }
            var alpha = order.isEmpty ? 1 / max(dot(d, d).squareRoot(), 1e-12) : 1.0
            var fNew = f
            var accepted = false
            for _ in 0..<30 {
                x.withUnsafeBufferPointer { px in
                    d.withUnsafeBufferPointer { pd in
                        xNew.withUnsafeMutableBufferPointer { pn in
                            for i in 0..<n { pn[i] = px[i] + alpha * pd[i] }
                        }
                    }
                }
                fNew = evaluate(xNew, &gNew)
                if fNew.isFinite && fNew <= f + 1e-4 * alpha * gd { accepted = true; break }
                // Quadratic interpolation of the step, kept within [0.1, 0.5] of the last one.
                let denominator = 2 * (fNew - f - alpha * gd)
                let trial = denominator > 0 && fNew.isFinite ? -gd * alpha * alpha / denominator : alpha * 0.5
                alpha = min(max(trial, alpha * 0.1), alpha * 0.5)
            }
            guard accepted else { return }
            // s = x_new − x, y = g_new − g into the next free (or oldest) slot.
            let slot: Int
            if sHistory.count < memory && order.count == sHistory.count {
                sHistory.append(hugePageArray(zeros: n))
                yHistory.append(hugePageArray(zeros: n))
                slot = sHistory.count - 1
            } else if order.count < sHistory.count {
                slot = (0..<sHistory.count).first { !order.contains($0) }!
            } else {
                slot = order[0]
            }
            var ys = 0.0
            sHistory[slot].withUnsafeMutableBufferPointer { ps in
                yHistory[slot].withUnsafeMutableBufferPointer { py in
                    x.withUnsafeBufferPointer { px in
                        xNew.withUnsafeBufferPointer { pxn in
                            g.withUnsafeBufferPointer { pg in
                                gNew.withUnsafeBufferPointer { pgn in
                                    var s0 = 0.0, s1 = 0.0
                                    var i = 0
                                    while i + 2 <= n {
                                        let a0 = pxn[i] - px[i], b0 = pgn[i] - pg[i]
                                        let a1 = pxn[i + 1] - px[i + 1], b1 = pgn[i + 1] - pg[i + 1]
                                        ps[i] = a0; py[i] = b0; ps[i + 1] = a1; py[i + 1] = b1
                                        s0 += a0 * b0; s1 += a1 * b1
                                        i += 2
                                    }
                                    while i < n {
                                        let a0 = pxn[i] - px[i], b0 = pgn[i] - pg[i]
                                        ps[i] = a0; py[i] = b0; s0 += a0 * b0
                                        i += 1
                                    }
                                    ys = s0 + s1
                                }
                            }
                        }
                    }
                }
            }
            swap(&x, &xNew)
            swap(&g, &gNew)
            f = fNew
            if ys > 1e-10 {
                if let at = order.firstIndex(of: slot) { order.remove(at: at) }
                order.append(slot)
                rhoHistory[slot] = 1 / ys
            } else if let at = order.firstIndex(of: slot) {
                // The slot held the oldest pair and was overwritten: drop it.
                order.remove(at: at)
            }
            guard try iterationFinished(k, f, x) else { return }
            fHistory.append(f)
            if fHistory.count > period {
                let old = fHistory[fHistory.count - 1 - period]
                if (old - f) / max(abs(f), 1e-12) < delta { return }
            }
            // Two-loop recursion: d = −H g.
            for i in 0..<n { d[i] = -g[i] }
            for j in order.reversed() {
                a[j] = rhoHistory[j] * dot(sHistory[j], d)
                axpy(-a[j], yHistory[j], &d)
            }
            if let last = order.last {
                let gamma = dot(sHistory[last], yHistory[last]) / max(dot(yHistory[last], yHistory[last]), 1e-300)
                for i in 0..<n { d[i] *= gamma }
            }
            for j in order {
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
