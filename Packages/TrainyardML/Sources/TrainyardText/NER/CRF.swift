#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shape of a linear-chain CRF: labels, which transitions the tag scheme allows, and the
/// sparse state-feature layout (attribute → the labels it was seen with in training).
///
/// Parameters θ are laid out flat: `[state (stateCount) | transitions (L×L, from-major) |
/// start (L) | end (L)]`. State parameter `p` of attribute `a` lies in
/// `attrOffsets[a]..<attrOffsets[a+1]` and scores label `stateLabels[p]`.
struct CRFLayout: Sendable {
    var labels: [String]
    var attrOffsets: [Int32]
    var stateLabels: [UInt8]
    var allowed: [Bool]
    var allowedStart: [Bool]
    var allowedEnd: [Bool]

    var L: Int { labels.count }
    var stateCount: Int { stateLabels.count }
    var transitionBase: Int { stateCount }
    var startBase: Int { stateCount + L * L }
    var endBase: Int { stateCount + L * L + L }
    var parameterCount: Int { stateCount + L * L + 2 * L }

    /// Transitions a tag scheme permits (`O → I-X` is not; `B-X → I-X` is, …), from the labels'
    /// prefixes. Labels are `O` or `P-TYPE` with P in B, I, E, S.
    static func constraints(_ labels: [String], scheme: TagScheme) -> ([Bool], [Bool], [Bool]) {
        let L = labels.count
        let parts = labels.map { l -> (Character, Substring) in
            l == "O" ? ("O", "") : (l.first!, l.dropFirst(2))
        }
        var allowed = [Bool](repeating: true, count: L * L)
        var start = [Bool](repeating: true, count: L)
        var end = [Bool](repeating: true, count: L)
        for (j, (p, _)) in parts.enumerated() {
            start[j] = p == "O" || p == "B" || p == "S"
            end[j] = scheme == .bio || p == "O" || p == "E" || p == "S"
        }
        for (i, (pi, ti)) in parts.enumerated() {
            for (j, (pj, tj)) in parts.enumerated() {
                let inside = pj == "I" || pj == "E"
                var ok: Bool
                switch scheme {
                case .bio:
                    ok = !inside || ((pi == "B" || pi == "I") && ti == tj)
                case .bioes:
                    let open = pi == "B" || pi == "I"
                    ok = open ? (inside && ti == tj) : !inside
                }
                allowed[i * L + j] = ok
            }
        }
        return (allowed, start, end)
    }
}

/// Reusable per-thread buffers for one sentence.
struct CRFScratch {
    var emission: [Double] = []
    var alpha: [Double] = []
    var beta: [Double] = []
    var scale: [Double] = []
    var backPointer: [Int32] = []
    var delta: [Double] = []
    var pairSource: [Double] = []
    var pairFrom: [Int] = []
    var pairTo: [Int] = []
    var pairWeights: [Double] = []
    var v: [Double] = []

    mutating func ensure(tokens: Int, labels: Int) {
        let need = tokens * labels
        if emission.count < need {
            emission = [Double](repeating: 0, count: need)
            alpha = emission
            beta = emission
            delta = emission
            backPointer = [Int32](repeating: 0, count: need)
        }
        if scale.count < tokens { scale = [Double](repeating: 0, count: tokens) }
    }
}

/// Training and inference on flat arrays. `tokenEnds[t]` closes token t's attribute ids in
/// `attrs`; a sentence is the token range `tokens`.
enum CRF {
    /// Fills `scratch.emission[t·L + y]` with state scores of tokens in `tokens`.
    @inline(__always)
    static func emissions<W: BinaryFloatingPoint>(
        layout: CRFLayout, weights: UnsafeBufferPointer<W>, attrs: UnsafeBufferPointer<Int32>,
        tokenStarts: UnsafeBufferPointer<Int>, tokens: Range<Int>, into e: UnsafeMutableBufferPointer<Double>
    ) {
        let L = layout.L
        layout.attrOffsets.withUnsafeBufferPointer { off in
            layout.stateLabels.withUnsafeBufferPointer { lab in
                for (row, t) in tokens.enumerated() {
                    let base = row * L
                    for y in 0..<L { e[base + y] = 0 }
                    for k in tokenStarts[t]..<tokenStarts[t + 1] {
                        let a = Int(attrs[k])
                        for p in Int(off[a])..<Int(off[a + 1]) {
                            e[base + Int(lab[p])] += Double(weights[p])
                        }
                    }
                }
            }
        }
    }

    /// Best label sequence (Viterbi) for `n` tokens with emissions in `scratch.emission`.
    static func viterbi(n: Int, L: Int, transitions: UnsafeBufferPointer<Double>, start: UnsafeBufferPointer<Double>,
                        end: UnsafeBufferPointer<Double>, scratch: inout CRFScratch, into out: inout [Int32]) {
        out.removeAll(keepingCapacity: true)
        guard n > 0 else { return }
        scratch.emission.withUnsafeBufferPointer { e in
            scratch.delta.withUnsafeMutableBufferPointer { d in
                scratch.backPointer.withUnsafeMutableBufferPointer { bp in
                    for y in 0..<L { d[y] = start[y] + e[y] }
                    for t in 1..<max(n, 1) {
                        let prev = (t - 1) * L, cur = t * L
                        for y in 0..<L {
                            var best = -Double.infinity
                            var arg: Int32 = 0
                            for a in 0..<L {
                                let v = d[prev + a] + transitions[a * L + y]
                                if v > best { best = v; arg = Int32(a) }
                            }
                            d[cur + y] = best + e[cur + y]
                            bp[cur + y] = arg
                        }
                    }
                    var best = -Double.infinity
                    var arg = 0
                    let last = (n - 1) * L
                    for y in 0..<L where d[last + y] + end[y] > best {
                        best = d[last + y] + end[y]
                        arg = y
                    }
                    out = [Int32](repeating: 0, count: n)
                    out[n - 1] = Int32(arg)
                    var t = n - 1
                    while t > 0 {
                        out[t - 1] = bp[t * L + Int(out[t])]
                        t -= 1
                    }
                }
            }
        }
    }

    /// Scaled forward-backward. Leaves per-token marginals P(y_t = y) in `scratch.alpha`
    /// (row-major n × L) and returns log Z. `expT`, `expStart`, `expEnd` are the exponentiated
    /// transition/start/end scores (0 where disallowed); only allowed transitions are visited.
    /// With `transitionCounts`, adds the expected transition counts Σ_t P(y_t = a, y_t+1 = y).
    @discardableResult
    static func forwardBackward(n: Int, L: Int, expT: UnsafeBufferPointer<Double>, expStart: UnsafeBufferPointer<Double>,
                                expEnd: UnsafeBufferPointer<Double>, scratch: inout CRFScratch,
                                transitionCounts: UnsafeMutablePointer<Double>? = nil) -> Double {
        if scratch.pairSource.count != L * L || !scratch.pairSource.elementsEqual(expT) {
            // Allowed transitions as (from, to, weight) triples, cached per transition matrix.
            scratch.pairSource = Array(expT)
            scratch.pairFrom = []; scratch.pairTo = []; scratch.pairWeights = []
            for a in 0..<L {
                for y in 0..<L where expT[a * L + y] != 0 {
                    scratch.pairFrom.append(a); scratch.pairTo.append(y); scratch.pairWeights.append(expT[a * L + y])
                }
            }
            scratch.v = [Double](repeating: 0, count: L)
        }
        let pairCount = scratch.pairFrom.count
        var logZ = 0.0
        scratch.pairFrom.withUnsafeBufferPointer { pf in
        scratch.pairTo.withUnsafeBufferPointer { pt in
        scratch.pairWeights.withUnsafeBufferPointer { pw in
        scratch.v.withUnsafeMutableBufferPointer { v in
        scratch.emission.withUnsafeMutableBufferPointer { e in
            scratch.alpha.withUnsafeMutableBufferPointer { al in
                scratch.beta.withUnsafeMutableBufferPointer { be in
                    scratch.scale.withUnsafeMutableBufferPointer { c in
                        // ψ_t(y) = exp(E − max_t), kept in `e`.
                        for t in 0..<n {
                            var m = -Double.infinity
                            for y in 0..<L { m = max(m, e[t * L + y]) }
                            logZ += m
                            for y in 0..<L { e[t * L + y] = exp(e[t * L + y] - m) }
                        }
                        var sum = 0.0
                        for y in 0..<L { al[y] = expStart[y] * e[y]; sum += al[y] }
                        c[0] = sum
                        for y in 0..<L { al[y] /= sum }
                        if n > 1 {
                            for t in 1..<n {
                                let prev = (t - 1) * L, cur = t * L
                                for y in 0..<L { al[cur + y] = 0 }
                                for k in 0..<pairCount { al[cur + pt[k]] += al[prev + pf[k]] * pw[k] }
                                sum = 0
                                for y in 0..<L { al[cur + y] *= e[cur + y]; sum += al[cur + y] }
                                c[t] = sum
                                let inv = 1 / sum
                                for y in 0..<L { al[cur + y] *= inv }
                            }
                        }
                        var zEnd = 0.0
                        let last = (n - 1) * L
                        for y in 0..<L { zEnd += al[last + y] * expEnd[y] }
                        for t in 0..<n { logZ += log(c[t]) }
                        logZ += log(zEnd)
                        for y in 0..<L { be[last + y] = expEnd[y] / zEnd }
                        var t = n - 2
                        while t >= 0 {
                            let cur = t * L, next = (t + 1) * L
                            let inv = 1 / c[t + 1]
                            for y in 0..<L { v[y] = e[next + y] * be[next + y]; be[cur + y] = 0 }
                            for k in 0..<pairCount { be[cur + pf[k]] += pw[k] * v[pt[k]] }
                            for y in 0..<L { be[cur + y] *= inv }
                            if let tc = transitionCounts {
                                // P(y_t = a, y_t+1 = y) = α̂_t(a) T(a, y) ψ_t+1(y) β̂_t+1(y) / c_t+1
                                for k in 0..<pairCount {
                                    let a = pf[k], y = pt[k]
                                    tc[a * L + y] += al[cur + a] * inv * pw[k] * v[y]
                                }
                            }
                            t -= 1
                        }
                        // Marginals into alpha.
                        for i in 0..<(n * L) { al[i] *= be[i] }
                    }
                }
            }
        }
        }
        }
        }
        }
        return logZ
    }
}
