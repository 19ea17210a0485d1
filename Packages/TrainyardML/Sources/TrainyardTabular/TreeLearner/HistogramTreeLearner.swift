/// Grows one regression tree leaf-wise on binned rows from gradients and hessians, the
/// LightGBM serial tree learner in miniature:
///
/// - one histogram per leaf, a flat `[Double]` of (gradient, hessian) pairs per bin;
/// - only the smaller child's histogram is built, the larger one is parent − smaller;
/// - rows live in one index array, each leaf a contiguous (begin, count) range of it;
/// - the leaf with the best split gain is split next, up to `maxLeaves` leaves.
///
/// Histograms of large leaves are built on all cores over fixed row halves, so results do
/// not depend on thread timing. Not thread-safe: one learner per training run.
final class HistogramTreeLearner {
    struct Configuration {
        var maxLeaves = 31
        var minDataInLeaf = 20
        var lambdaL2 = 0.0
        var minSumHessian = 1e-3
        var maxDepth = 0  // 0 = unlimited
        var catSmooth = 10.0
        var catL2 = 10.0
        var maxCatThreshold = 32
        var maxCatToOnehot = 4
        var minDataPerGroup = 20
    }

    struct Split {
        var gain = -Double.infinity
        var feature = -1
        var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var leftG = 0.0, leftH = 0.0
    }

    let config: Configuration
    let n: Int
    let featureCount: Int
    let binOffsets: [Int]
    let binCounts: [Int]
    let isCategorical: [Bool]
    let histSize: Int  // doubles per histogram
    private let bins: SharedBuffer<UInt8>
    let indices: SharedBuffer<Int32>
    private let temp: SharedBuffer<Int32>
    private let hists: SharedBuffer<Double>
    private let scratch: SharedBuffer<Double>

    // Per-leaf state.
    private(set) var leafBegin: [Int]
    private(set) var leafCount: [Int]
    private var leafG: [Double], leafH: [Double], leafDepth: [Int], leafSlot: [Int]
    private var leafParent: [Int], leafIsLeft: [Bool], best: [Split]
    private(set) var leafTotal = 0

    /// Number of rows in play for the current tree (the bag).
    var rowCount = 0

    init(rows: BinnedRows, mappers: [BinMapper], config: Configuration) {
        self.config = config
        n = rows.count
        featureCount = rows.featureCount
        var offsets: [Int] = []
        var total = 0
        for m in mappers { offsets.append(total); total += m.binCount }
        binOffsets = offsets
        binCounts = mappers.map(\.binCount)
        isCategorical = mappers.map(\.isCategorical)
        histSize = total * 2
        let binCopy = SharedBuffer<UInt8>.allocate(rows.bins.count, initialValue: 0)
        rows.bins.withUnsafeBufferPointer { src in binCopy.base.update(from: src.baseAddress!, count: src.count) }
        bins = binCopy
        indices = .allocate(n, initialValue: 0)
        temp = .allocate(n, initialValue: 0)
        hists = .allocate(config.maxLeaves * histSize, initialValue: 0)
        scratch = .allocate(histSize, initialValue: 0)
        let L = config.maxLeaves
        leafBegin = .init(repeating: 0, count: L)
        leafCount = .init(repeating: 0, count: L)
        leafG = .init(repeating: 0, count: L)
        leafH = .init(repeating: 0, count: L)
        leafDepth = .init(repeating: 0, count: L)
        leafSlot = .init(repeating: 0, count: L)
        leafParent = .init(repeating: -1, count: L)
        leafIsLeft = .init(repeating: false, count: L)
        best = .init(repeating: Split(), count: L)
        setAllRows()
    }

    deinit {
        bins.deallocate(); indices.deallocate(); temp.deallocate(); hists.deallocate(); scratch.deallocate()
    }

    /// Uses every row for the next tree.
    func setAllRows() {
        for i in 0..<n { indices[i] = Int32(i) }
        rowCount = n
    }

    /// Uses only `rows` (sorted row ids) for the next tree.
    func setRows(_ rows: [Int32]) {
        for (i, r) in rows.enumerated() { indices[i] = r }
        rowCount = rows.count
    }

    /// Grows a tree; afterwards `leafBegin`/`leafCount` (first `leafTotal` leaves) give each
    /// leaf's rows in `indices`.
    /// - Parameters: `grad`, `hess`: n values; `allowed`: features that may split.
    func grow(grad: UnsafePointer<Float>, hess: UnsafePointer<Float>, allowed: [Bool], shrinkage: Double) -> Tree {
        var G = 0.0, H = 0.0
        for j in 0..<rowCount {
            let r = Int(indices[j])
            G += Double(grad[r]); H += Double(hess[r])
        }
        leafTotal = 1
        leafBegin[0] = 0; leafCount[0] = rowCount; leafG[0] = G; leafH[0] = H
        leafDepth[0] = 0; leafSlot[0] = 0; leafParent[0] = -1
        var tree = Tree()
        if canSplit(0) {
            buildHistogram(leaf: 0, grad: grad, hess: hess)
            best[0] = findBestSplit(leaf: 0, allowed: allowed)
        } else {
            best[0] = Split()
        }
        while leafTotal < config.maxLeaves {
            var chosen = -1
            var bestGain = 1e-12
            for l in 0..<leafTotal where best[l].gain > bestGain { bestGain = best[l].gain; chosen = l }
            if chosen < 0 { break }
            split(leaf: chosen, tree: &tree, grad: grad, hess: hess, allowed: allowed)
        }
        tree.leafValues = (0..<leafTotal).map { l in
            let v = -leafG[l] / (leafH[l] + config.lambdaL2)
            return v.isFinite ? v * shrinkage : 0
        }
        return tree
    }

    private func canSplit(_ leaf: Int) -> Bool {
        leafCount[leaf] >= 2 * config.minDataInLeaf && (config.maxDepth <= 0 || leafDepth[leaf] < config.maxDepth)
    }

    private func split(leaf l: Int, tree: inout Tree, grad: UnsafePointer<Float>, hess: UnsafePointer<Float>, allowed: [Bool]) {
        let s = best[l]
        let r = leafTotal
        leafTotal += 1
        // Partition the leaf's rows: left rows stay in front, in order.
        let begin = leafBegin[l], count = leafCount[l]
        let f = featureCount, feat = s.feature
        let words = [s.bits.0, s.bits.1, s.bits.2, s.bits.3]
        var nl = 0, nr = 0
        words.withUnsafeBufferPointer { w in
            for j in begin..<(begin + count) {
                let row = indices[j]
                let b = Int(bins[Int(row) * f + feat])
                if (w[b >> 6] >> UInt64(b & 63)) & 1 == 1 { indices[begin + nl] = row; nl += 1 } else { temp[nr] = row; nr += 1 }
            }
        }
        (indices.base + begin + nl).update(from: temp.base, count: nr)
        // Tree bookkeeping.
        let node = Int32(tree.feature.count)
        tree.feature.append(Int32(feat))
        tree.bits.append(contentsOf: words)
        tree.children.append(~Int32(l))
        tree.children.append(~Int32(r))
        if leafParent[l] >= 0 { tree.children[2 * leafParent[l] + (leafIsLeft[l] ? 0 : 1)] = node }
        leafParent[l] = Int(node); leafIsLeft[l] = true
        leafParent[r] = Int(node); leafIsLeft[r] = false
        let depth = leafDepth[l] + 1
        leafDepth[l] = depth; leafDepth[r] = depth
        let G = leafG[l], H = leafH[l]
        leafBegin[r] = begin + nl; leafCount[r] = nr
        leafCount[l] = nl
        leafG[l] = s.leftG; leafH[l] = s.leftH
        leafG[r] = G - s.leftG; leafH[r] = H - s.leftH
        // Histograms: build the smaller child, subtract it from the parent's for the larger.
        let splitL = canSplit(l), splitR = canSplit(r)
        let parentSlot = leafSlot[l]
        if splitL || splitR {
            let smaller = nl <= nr ? l : r, larger = nl <= nr ? r : l
            leafSlot[smaller] = r  // the free slot
            leafSlot[larger] = parentSlot
            buildHistogram(leaf: smaller, grad: grad, hess: hess)
            let small = hists.base + leafSlot[smaller] * histSize
            let big = hists.base + parentSlot * histSize
            for k in 0..<histSize { big[k] -= small[k] }
        } else {
            leafSlot[l] = parentSlot
            leafSlot[r] = r
        }
        best[l] = splitL ? findBestSplit(leaf: l, allowed: allowed) : Split()
        best[r] = splitR ? findBestSplit(leaf: r, allowed: allowed) : Split()
    }

    /// Sums gradients and hessians per bin over the leaf's rows, on both cores for big leaves.
    private func buildHistogram(leaf: Int, grad: UnsafePointer<Float>, hess: UnsafePointer<Float>) {
        let begin = leafBegin[leaf], count = leafCount[leaf]
        let target = hists.base + leafSlot[leaf] * histSize
        let histSize = histSize, f = featureCount
        let bins = bins, indices = indices, scratch = scratch
        let g = SharedBuffer(base: UnsafeMutablePointer(mutating: grad), count: n)
        let h = SharedBuffer(base: UnsafeMutablePointer(mutating: hess), count: n)
        let out = SharedBuffer(base: target, count: histSize)
        binOffsets.withUnsafeBufferPointer { offs in
            let offsets = SharedBuffer(base: UnsafeMutablePointer(mutating: offs.baseAddress!), count: f)
            let chunks = Parallel.chunks(for: count, threshold: 6000)
            Parallel.forEachChunk(count: count, chunks: min(chunks, 2)) { c, range in
                let hist = c == 0 ? out.base : scratch.base
                hist.update(repeating: 0, count: histSize)
                for j in (begin + range.lowerBound)..<(begin + range.upperBound) {
                    let r = Int(indices[j])
                    let gg = Double(g[r]), hh = Double(h[r])
                    let row = bins.base + r * f
                    for k in 0..<f {
                        let b = (offsets[k] &+ Int(row[k])) &<< 1
                        hist[b] += gg
                        hist[b &+ 1] += hh
                    }
                }
            }
            if chunks > 1 && count > 1 {
                for k in 0..<histSize { target[k] += scratch[k] }
            }
        }
    }

    private func findBestSplit(leaf: Int, allowed: [Bool]) -> Split {
        let G = leafG[leaf], H = leafH[leaf]
        let cf = Double(leafCount[leaf]) / max(H, 1e-300)
        let lambda = config.lambdaL2, minHess = config.minSumHessian
        let minData = Double(config.minDataInLeaf)
        let hist = hists.base + leafSlot[leaf] * histSize
        var best = Split()
        for f in 0..<featureCount where allowed[f] {
            let k = binCounts[f]
            if k < 3 && !isCategorical[f] { continue }
            let hp = hist + binOffsets[f] * 2
            if !isCategorical[f] {
                let parent = G * G / (H + lambda)
                let gm = hp[0], hm = hp[1]
                var gl = 0.0, hl = 0.0
                for t in 1..<(k - 1) {
                    gl += hp[2 * t]; hl += hp[2 * t + 1]
                    if hl == 0 && hm == 0 { continue }
                    // Missing values right (or, when this leaf has none, to the bigger side).
                    do {
                        let gr = G - gl, hr = H - hl
                        if hl >= minHess && hr >= minHess && hl * cf >= minData && hr * cf >= minData {
                            let gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parent
                            if gain > best.gain {
                                let missingLeft = hm == 0 && hl > hr
                                best = Split(gain: gain, feature: f, bits: Self.thresholdBits(t, missingLeft: missingLeft), leftG: gl, leftH: hl)
                            }
                        }
                    }
                    if hm > 0 {
                        let gl2 = gl + gm, hl2 = hl + hm
                        let gr = G - gl2, hr = H - hl2
                        if hl2 >= minHess && hr >= minHess && hl2 * cf >= minData && hr * cf >= minData {
                            let gain = gl2 * gl2 / (hl2 + lambda) + gr * gr / (hr + lambda) - parent
                            if gain > best.gain {
                                best = Split(gain: gain, feature: f, bits: Self.thresholdBits(t, missingLeft: true), leftG: gl2, leftH: hl2)
                            }
                        }
                    }
                }
            } else {
                var used: [Int] = []
                for c in 1..<k where hp[2 * c + 1] > 0 && hp[2 * c + 1] * cf >= Double(config.minDataPerGroup) { used.append(c) }
                if used.count < 2 && !(used.count == 1 && (H - hp[2 * used[0] + 1]) * cf >= minData) { continue }
                if used.count <= config.maxCatToOnehot {
                    let parent = G * G / (H + lambda)
                    for c in used {
                        let gl = hp[2 * c], hl = hp[2 * c + 1]
                        let gr = G - gl, hr = H - hl
                        guard hl >= minHess && hr >= minHess && hl * cf >= minData && hr * cf >= minData else { continue }
                        let gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parent
                        if gain > best.gain { best = Split(gain: gain, feature: f, bits: Self.setBits([c]), leftG: gl, leftH: hl) }
                    }
                } else {
                    let smooth = config.catSmooth
                    used.sort { a, b in
                        let ra = hp[2 * a] / (hp[2 * a + 1] + smooth), rb = hp[2 * b] / (hp[2 * b + 1] + smooth)
                        return ra != rb ? ra < rb : a < b
                    }
                    let l2 = lambda + config.catL2
                    let parent = G * G / (H + l2)
                    let steps = min(used.count - 1, config.maxCatThreshold)
                    for forward in [true, false] {
                        var gl = 0.0, hl = 0.0
                        for i in 0..<steps {
                            let c = forward ? used[i] : used[used.count - 1 - i]
                            gl += hp[2 * c]; hl += hp[2 * c + 1]
                            let gr = G - gl, hr = H - hl
                            guard hl >= minHess && hr >= minHess && hl * cf >= minData && hr * cf >= minData else { continue }
                            let gain = gl * gl / (hl + l2) + gr * gr / (hr + l2) - parent
                            if gain > best.gain {
                                let members = forward ? Array(used[0...i]) : Array(used[(used.count - 1 - i)...])
                                best = Split(gain: gain, feature: f, bits: Self.setBits(members), leftG: gl, leftH: hl)
                            }
                        }
                    }
                }
            }
        }
        return best
    }

    /// Bins 1…t left, plus the missing bin 0 when `missingLeft`.
    static func thresholdBits(_ t: Int, missingLeft: Bool) -> (UInt64, UInt64, UInt64, UInt64) {
        var w: [UInt64] = [0, 0, 0, 0]
        for b in (missingLeft ? 0 : 1)...t { w[b >> 6] |= 1 << UInt64(b & 63) }
        return (w[0], w[1], w[2], w[3])
    }

    static func setBits(_ members: [Int]) -> (UInt64, UInt64, UInt64, UInt64) {
        var w: [UInt64] = [0, 0, 0, 0]
        for b in members { w[b >> 6] |= 1 << UInt64(b & 63) }
        return (w[0], w[1], w[2], w[3])
    }
}
