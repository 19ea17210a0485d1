/// Row-major Float kernels for small dense layers.
///
/// All three products of a layer reduce to one primitive, `accumulate`: an output row
/// (≤ a few hundred Floats) plus a weighted sum of matrix rows. The output is held in
/// registers in 32-wide panels while the sum runs, so each step costs one load of the matrix
/// row instead of a load and a store of the output; zero weights (ReLU outputs, one-hot
/// inputs) are skipped. Products are fused (`addingProduct`: one FMA instruction where the
/// target CPU has it).
enum DenseKernels {
    typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// c + a·x, fused where the build's target CPU has FMA (see Package.swift).
    @inline(__always) static func fma(_ c: V, _ a: Float, _ x: V) -> V {
        #if TRAINYARD_NO_FMA
        return c + a * x
        #else
        return c.addingProduct(a, x)
        #endif
    }

    /// out[0..<n] += Σ_{p < count} a[p · aStride] · rows[p · rowStride + 0..<n]
    @inline(__always)
    static func accumulate(count: Int, a: UnsafePointer<Float>, aStride: Int, rows: UnsafePointer<Float>, rowStride: Int,
                           n: Int, out: UnsafeMutablePointer<Float>) {
        var j = 0
        while j + 32 <= n {
            var c0 = load(out + j), c1 = load(out + j + 8), c2 = load(out + j + 16), c3 = load(out + j + 24)
            var ap = a, rp = rows + j
            for _ in 0..<count {
                let av = ap.pointee
                if av != 0 {
                    c0 = fma(c0, av, load(rp)); c1 = fma(c1, av, load(rp + 8))
                    c2 = fma(c2, av, load(rp + 16)); c3 = fma(c3, av, load(rp + 24))
                }
                ap += aStride
                rp += rowStride
            }
            store(c0, out + j); store(c1, out + j + 8); store(c2, out + j + 16); store(c3, out + j + 24)
            j += 32
        }
        while j + 8 <= n {
            var c0 = load(out + j)
            for p in 0..<count {
                let av = a[p * aStride]
                if av != 0 { c0 = fma(c0, av, load(rows + p * rowStride + j)) }
            }
            store(c0, out + j)
            j += 8
        }
        while j < n {
            var c: Float = out[j]
            for p in 0..<count { c += a[p * aStride] * rows[p * rowStride + j] }
            out[j] = c
            j += 1
        }
    }

    /// Z[m×n] = A[m×k] · W[k×n] + b, then ReLU when `relu`.
    static func forward(m: Int, k: Int, n: Int, a: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>,
                        z: UnsafeMutablePointer<Float>, relu: Bool) {
        for i in 0..<m {
            let zi = z + i * n
            zi.update(from: b, count: n)
            accumulate(count: k, a: a + i * k, aStride: 1, rows: w, rowStride: n, n: n, out: zi)
            if relu { for j in 0..<n where zi[j] < 0 { zi[j] = 0 } }
        }
    }

    /// dW[k×n] += Aᵀ · dZ (column p of A weights the rows of dZ), db[n] += column sums of dZ[m×n].
    static func weightGradients(m: Int, k: Int, n: Int, a: UnsafePointer<Float>, dz: UnsafePointer<Float>,
                                dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>) {
        for i in 0..<m {
            let dzi = dz + i * n
            for j in 0..<n { db[j] += dzi[j] }
        }
        for p in 0..<k {
            accumulate(count: m, a: a + p, aStride: k, rows: dz, rowStride: n, n: n, out: dw + p * n)
        }
    }

    /// dA[m×k] = dZ[m×n] · Wᵀ with `wt` = Wᵀ (n×k), masked where the layer's ReLU output `a` is 0.
    static func inputGradients(m: Int, k: Int, n: Int, dz: UnsafePointer<Float>, wt: UnsafePointer<Float>,
                               a: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>) {
        for i in 0..<m {
            let dai = da + i * k, ai = a + i * k
            dai.update(repeating: 0, count: k)
            accumulate(count: n, a: dz + i * n, aStride: 1, rows: wt, rowStride: k, n: k, out: dai)
            for p in 0..<k where ai[p] <= 0 { dai[p] = 0 }
        }
    }
}
