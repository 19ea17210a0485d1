/// Linear leaves (LightGBM's `linear_tree`): after a tree is grown, each leaf fits
/// w, b minimising Σᵢ hᵢ/2 (xᵢ·w + b + gᵢ/hᵢ)² + λ/2 ‖w‖² over its rows, on the numeric
/// features split on along the path to the leaf. Rows missing one of those features do not
/// take part (and are scored with the leaf's constant value). Weights and intercept are
/// shrunk by the learning rate like the constant value.
enum LinearLeafFitter {
    /// Numeric features split on along the path to each leaf, ascending, per tree-local leaf.
    static func pathFeatures(_ tree: Tree, leafCount: Int, isCategorical: [Bool]) -> [[Int32]] {
        var out = [[Int32]](repeating: [], count: leafCount)
        guard !tree.feature.isEmpty else { return out }
        func visit(_ node: Int32, _ path: [Int32]) {
            if node < 0 {
                out[Int(~node)] = Array(Set(path)).sorted()
                return
            }
            let f = tree.feature[Int(node)]
            let next = isCategorical[Int(f)] ? path : path + [f]
            visit(tree.children[2 * Int(node)], next)
            visit(tree.children[2 * Int(node) + 1], next)
        }
        visit(0, [])
        return out
    }

    /// Fits one leaf. `rows`: its row ids; `raw`: the numeric features' values row-major
    /// (`width` a row, feature j at `slot[j]`, so a row's values share a cache line);
    /// `constant`: the leaf's (shrunk) constant value, used when the fit is not possible.
    static func fit(features: [Int32], rows: UnsafeBufferPointer<Int32>, raw: UnsafePointer<Double>, width: Int, slot: [Int],
                    grad: UnsafePointer<Float>, hess: UnsafePointer<Float>, lambda: Double, shrinkage: Double,
                    constant: Double) -> LinearLeaf {
        let k = features.count
        guard k > 0 else { return LinearLeaf(constant: constant) }
        let d = k + 1
        // Upper triangle of Σ h x̃ x̃ᵀ (x̃ = [x, 1]) row-major in a d × d buffer, and Σ g x̃.
        var a = [Double](repeating: 0, count: d * d)
        var b = [Double](repeating: 0, count: d)
        var lower = [Double](repeating: .infinity, count: k)
        var upper = [Double](repeating: -.infinity, count: k)
        var used = 0
        let cols = features.map { slot[Int($0)] }
        a.withUnsafeMutableBufferPointer { A in
        b.withUnsafeMutableBufferPointer { B in
        lower.withUnsafeMutableBufferPointer { lo in
        upper.withUnsafeMutableBufferPointer { hi in
        withUnsafeTemporaryAllocation(of: Double.self, capacity: d) { x in
            x[k] = 1
            rowLoop: for r in rows {
                let row = Int(r)
                let values = raw + row * width
                for i in 0..<k {
                    let v = values[cols[i]]
                    if v.isNaN { continue rowLoop }
                    x[i] = v
                }
                for i in 0..<k { lo[i] = min(lo[i], x[i]); hi[i] = max(hi[i], x[i]) }
                let h = Double(hess[row]), g = Double(grad[row])
                for i in 0..<d {
                    let hx = h * x[i]
                    let rowA = A.baseAddress! + i * d
                    for j in i..<d { rowA[j] += hx * x[j] }
                    B[i] += g * x[i]
                }
                used += 1
            }
        }}}}}
        guard used > d else { return LinearLeaf(constant: constant) }
        // Symmetric fill, ridge on the weights (not the intercept), a relative jitter for
        // collinear columns, then Cholesky.
        for i in 0..<d { for j in 0..<i { a[i * d + j] = a[j * d + i] } }
        for i in 0..<d {
            a[i * d + i] += (i < k ? lambda : 0) + 1e-10 * a[i * d + i] + 1e-300
        }
        guard var theta = choleskySolve(a, b.map { -$0 }, d) else { return LinearLeaf(constant: constant) }
        for i in 0..<d { theta[i] *= shrinkage }
        guard theta.allSatisfy({ $0.isFinite }) else { return LinearLeaf(constant: constant) }
        return LinearLeaf(constant: theta[k], features: features, weights: Array(theta[0..<k]), lower: lower, upper: upper)
    }

    /// Adds the leaf's output to `out[row]` for each of its rows (values laid out as in
    /// `fit`): the linear model, or `constant` where one of its features is missing.
    static func addOutputs(_ leaf: LinearLeaf, constant: Double, rows: UnsafeBufferPointer<Int32>, raw: UnsafePointer<Double>, width: Int,
                           slot: [Int], out: UnsafeMutablePointer<Double>) {
        if leaf.features.isEmpty {
            for r in rows { out[Int(r)] += constant }
            return
        }
        let cols = leaf.features.map { slot[Int($0)] }
        let k = cols.count
        leaf.weights.withUnsafeBufferPointer { w in
        leaf.lower.withUnsafeBufferPointer { lo in
        leaf.upper.withUnsafeBufferPointer { hi in
            for r in rows {
                let row = Int(r)
                var y = leaf.constant
                var missing = false
                let values = raw + row * width
                for i in 0..<k {
                    let x = values[cols[i]]
                    missing = missing || x.isNaN
                    y += w[i] * min(max(x, lo[i]), hi[i])
                }
                out[row] += missing ? constant : y
            }
        }}}
    }

    /// Solves A x = b for a symmetric positive-definite d × d `a` (row-major); nil if not PD.
    static func choleskySolve(_ a: [Double], _ b: [Double], _ d: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0...i {
                var s = a[i * d + j]
                for p in 0..<j { s -= l[i * d + p] * l[j * d + p] }
                if i == j {
                    guard s > 0, s.isFinite else { return nil }
                    l[i * d + i] = s.squareRoot()
                } else {
                    l[i * d + j] = s / l[j * d + j]
                }
            }
        }
        var y = b
        for i in 0..<d {
            var s = y[i]
            for p in 0..<i { s -= l[i * d + p] * y[p] }
            y[i] = s / l[i * d + i]
        }
        var x = y
        for i in stride(from: d - 1, through: 0, by: -1) {
            var s = x[i]
            for p in (i + 1)..<d { s -= l[p * d + i] * x[p] }
            x[i] = s / l[i * d + i]
        }
        return x
    }
}
