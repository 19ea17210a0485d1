/// Row-major Float kernels for small dense layers. Every inner loop is an axpy over the
/// output width (`y[0..<n] += a * x[0..<n]`), which the compiler vectorises; zero inputs
/// (ReLU outputs, one-hot columns) are skipped.
enum DenseKernels {
    /// y[0..<n] += a * x[0..<n]
    @inline(__always)
    static func axpy(_ n: Int, _ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        var j = 0
        while j + 8 <= n {
            let xv = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
            let yv = UnsafeRawPointer(y + j).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + j).storeBytes(of: yv + a * xv, as: SIMD8<Float>.self)
            j += 8
        }
        while j < n { y[j] += a * x[j]; j += 1 }
    }

    /// Z[m×n] = A[m×k] · W[k×n] + b, then ReLU when `relu`.
    static func forward(m: Int, k: Int, n: Int, a: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>,
                        z: UnsafeMutablePointer<Float>, relu: Bool) {
        for i in 0..<m {
            let zi = z + i * n, ai = a + i * k
            zi.update(from: b, count: n)
            for p in 0..<k {
                let av = ai[p]
                if av != 0 { axpy(n, av, w + p * n, zi) }
            }
            if relu { for j in 0..<n where zi[j] < 0 { zi[j] = 0 } }
        }
    }

    /// dW[k×n] += Aᵀ · dZ, db[n] += column sums of dZ[m×n].
    static func weightGradients(m: Int, k: Int, n: Int, a: UnsafePointer<Float>, dz: UnsafePointer<Float>,
                                dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>) {
        for i in 0..<m {
            let dzi = dz + i * n, ai = a + i * k
            axpy(n, 1, dzi, db)
            for p in 0..<k {
                let av = ai[p]
                if av != 0 { axpy(n, av, dzi, dw + p * n) }
            }
        }
    }

    /// dA[m×k] = dZ[m×n] · Wᵀ with `wt` = Wᵀ (n×k), masked where the layer's ReLU output `a` is 0.
    static func inputGradients(m: Int, k: Int, n: Int, dz: UnsafePointer<Float>, wt: UnsafePointer<Float>,
                               a: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>) {
        for i in 0..<m {
            let dai = da + i * k, dzi = dz + i * n, ai = a + i * k
            dai.update(repeating: 0, count: k)
            for j in 0..<n {
                let g = dzi[j]
                if g != 0 { axpy(k, g, wt + j * k, dai) }
            }
            for p in 0..<k where ai[p] <= 0 { dai[p] = 0 }
        }
    }
}
