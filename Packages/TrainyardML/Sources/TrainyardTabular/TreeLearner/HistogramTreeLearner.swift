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
    /// What one tree may grow into. No defaults of its own: every value comes from the `gbdt`
    /// parameters as declared in `GBDTConfig` (so training and the spec agree), except
    /// `minSumHessian`, a numerical guard of the learner that no spec sets.
    struct Configuration {
        var maxLeaves: Int
        var minDataInLeaf: Int
        var lambdaL2: Double
        /// A leaf needs at least this much hessian: keeps leaf values (−G / (H + λ)) finite
        /// when λ is 0 (LightGBM's `min_sum_hessian_in_leaf`).
        var minSumHessian = 1e-3
        var maxDepth: Int  // 0 = unlimited
        var catSmooth: Double
        var catL2: Double
        var maxCatThreshold: Int
        var maxCatToOnehot: Int
        var minDataPerGroup: Int
        /// Fraction of the tree's allowed features each node may split on (LightGBM's
        /// `feature_fraction_bynode`); 1 = all of them.
        var nodeFeatureFraction: Double

        /// The tree settings of `config` for `rows` training rows (`min_data_in_leaf` "auto"
        /// resolved against them).
        init(_ config: GBDTConfig, rows: Int) {
            maxLeaves = config.maxLeaves
            minDataInLeaf = config.effectiveMinDataInLeaf(rows: rows)
            lambdaL2 = config.lambdaL2
            maxDepth = config.maxDepth
            catSmooth = config.catSmooth
            catL2 = config.catL2
            maxCatThreshold = config.maxCatThreshold
            maxCatToOnehot = config.maxCatToOnehot
            minDataPerGroup = config.minDataPerGroup
            nodeFeatureFraction = config.featureFractionByNode
        }
    }

    struct Split {
        var gain = -Double.infinity
        var feature = -1
        var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var leftG = 0.0, leftH = 0.0
        /// Numeric splits: bins 1…threshold (and 0 when `missingLeft`) go left; `bits` is
        /// filled from these only for the split actually made. -1 for categorical splits.
        var threshold = -1
        var missingLeft = false

        init() {}

        init(gain: Double, feature: Int, bits: (UInt64, UInt64, UInt64, UInt64), leftG: Double, leftH: Double) {
            self.gain = gain; self.feature = feature; self.bits = bits; self.leftG = leftG; self.leftH = leftH
        }

        init(gain: Double, feature: Int, threshold: Int, missingLeft: Bool, leftG: Double, leftH: Double) {
            self.gain = gain; self.feature = feature; self.threshold = threshold; self.missingLeft = missingLeft
            self.leftG = leftG; self.leftH = leftH
        }
    }

    let config: Configuration
    let n: Int
    let featureCount: Int
    let binOffsets: [Int]
    let binCounts: [Int]
    let isCategorical: [Bool]
    let histSize: Int  // doubles per histogram
    private let bins: SharedBuffer<UInt8>
    /// The same bins column-major (feature × row), for partitioning a leaf on one feature.
    private let columnBins: SharedBuffer<UInt8>
    let indices: SharedBuffer<Int32>
    /// Partition scratch: left rows, right rows.
    private let temp: SharedBuffer<Int32>, temp2: SharedBuffer<Int32>
    private let hists: SharedBuffer<Double>
    private let scratch: SharedBuffer<Double>
    /// The tree's gradients and hessians interleaved (g₀, h₀, g₁, h₁, …): one load per row.
    private let gh: SharedBuffer<Float>
    /// Second histogram per worker: odd rows of big leaves accumulate here (see `buildHistogram`).
    private let oddRows: SharedBuffer<Double>

    // Per-leaf state.
    private(set) var leafBegin: [Int]
    private(set) var leafCount: [Int]
    private var leafG: [Double], leafH: [Double], leafDepth: [Int], leafSlot: [Int]
    private var leafParent: [Int], leafIsLeft: [Bool], best: [Split]
    private(set) var leafTotal = 0

    /// Number of rows in play for the current tree (the bag).
    var rowCount = 0
    /// Draws the per-node feature subsets; reseeded by `grow` for every tree.
    private var nodeRNG = SeededGenerator(seed: 0)

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
        let columns = SharedBuffer<UInt8>.allocate(rows.bins.count, initialValue: 0)
        let f = rows.featureCount
        for r in 0..<n { for j in 0..<f { columns[j * n + r] = binCopy[r * f + j] } }
        columnBins = columns
        indices = .allocate(n, initialValue: 0)
        temp = .allocate(n, initialValue: 0)
        temp2 = .allocate(n, initialValue: 0)
        hists = .allocate(config.maxLeaves * histSize, initialValue: 0)
        scratch = .allocate(histSize, initialValue: 0)
        gh = .allocate(2 * n, initialValue: 0)
        oddRows = .allocate(histSize * 2, initialValue: 0)
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
        bins.deallocate(); columnBins.deallocate(); indices.deallocate(); temp.deallocate(); temp2.deallocate(); hists.deallocate(); scratch.deallocate(); oddRows.deallocate(); gh.deallocate()
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
    /// `nodeSeed` seeds the per-node feature sampling (`nodeFeatureFraction` < 1).
    func grow(grad: UnsafePointer<Float>, hess: UnsafePointer<Float>, allowed: [Bool], shrinkage: Double, nodeSeed: UInt64 = 0) -> Tree {
        nodeRNG = SeededGenerator(seed: nodeSeed)
        for r in 0..<n { gh[2 * r] = grad[r]; gh[2 * r + 1] = hess[r] }
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
        var s = best[l]
        if s.threshold >= 0 { s.bits = Self.thresholdBits(s.threshold, missingLeft: s.missingLeft) }
        let r = leafTotal
        leafTotal += 1
        // Partition the leaf's rows: left rows first, both sides in row order. Each half of a
        // big leaf is partitioned on its own core into the scratch buffers (branch-free: a row
        // is written to both, one cursor advances), then the pieces are copied back in order.
        let begin = leafBegin[l], count = leafCount[l]
        let feat = s.feature
        let words = SharedBuffer<UInt64>.allocate(4, initialValue: 0)
        defer { words.deallocate() }
        words[0] = s.bits.0; words[1] = s.bits.1; words[2] = s.bits.2; words[3] = s.bits.3
        let chunks = min(Parallel.chunks(for: count, threshold: 16_384), 2)
        let sizes = SharedBuffer<Int>.allocate(4, initialValue: 0)  // (left, right) per chunk
        defer { sizes.deallocate() }
        let col = SharedBuffer(base: columnBins.base + feat * n, count: n)
        let idx = indices, left = temp, right = temp2
        Parallel.forEachChunk(count: count, chunks: chunks) { c, range in
            let w = words.base, bins = col.base
            let src = idx.base + begin, lo = left.base + begin + range.lowerBound, ro = right.base + begin + range.lowerBound
            var nl = 0, nr = 0
            for j in range {
                let row = src[j]
                let b = Int(bins[Int(row)])
                let goesLeft = Int(truncatingIfNeeded: (w[b &>> 6] &>> UInt64(b & 63)) & 1)
                lo[nl] = row
                ro[nr] = row
                nl &+= goesLeft
                nr &+= 1 &- goesLeft
            }
            sizes[2 * c] = nl; sizes[2 * c + 1] = nr
        }
        var nl = 0, nr = 0
        do {
            var out = indices.base + begin
            for c in 0..<chunks {
                let start = begin + count * c / chunks
                out.update(from: temp.base + start, count: sizes[2 * c]); out += sizes[2 * c]
                nl += sizes[2 * c]
            }
            for c in 0..<chunks {
                let start = begin + count * c / chunks
                out.update(from: temp2.base + start, count: sizes[2 * c + 1]); out += sizes[2 * c + 1]
                nr += sizes[2 * c + 1]
            }
        }
        let words4 = [s.bits.0, s.bits.1, s.bits.2, s.bits.3]
        // Tree bookkeeping.
        let node = Int32(tree.feature.count)
        tree.feature.append(Int32(feat))
        tree.bits.append(contentsOf: words4)
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
        let bins = bins, indices = indices, scratch = scratch, oddRows = oddRows
        let gh = gh
        let out = SharedBuffer(base: target, count: histSize)
        binOffsets.withUnsafeBufferPointer { offs in
            let offsets = SharedBuffer(base: UnsafeMutablePointer(mutating: offs.baseAddress!), count: f)
            let chunks = Parallel.chunks(for: count, threshold: 6000)
            Parallel.forEachChunk(count: count, chunks: min(chunks, 2)) { c, range in
                let hist = c == 0 ? out.base : scratch.base
                hist.update(repeating: 0, count: histSize)
                // Big ranges: even and odd rows go to two histograms, so rows that hit the same
                // bin (common for features with few bins) do not wait on each other's stores.
                let dual = range.count >= 4096
                let hist2 = oddRows.base + c * histSize
                if dual { hist2.update(repeating: 0, count: histSize) }
                var j = begin + range.lowerBound
                let end = begin + range.upperBound
                if dual {
                    while j + 1 < end {
                        let r0 = Int(indices[j]), r1 = Int(indices[j + 1])
                        let g0 = Double(gh[2 &* r0]), h0 = Double(gh[2 &* r0 &+ 1]), g1 = Double(gh[2 &* r1]), h1 = Double(gh[2 &* r1 &+ 1])
                        let row0 = bins.base + r0 * f, row1 = bins.base + r1 * f
                        for k in 0..<f {
                            let o = offsets[k]
                            let b0 = (o &+ Int(row0[k])) &<< 1, b1 = (o &+ Int(row1[k])) &<< 1
                            hist[b0] += g0
                            hist[b0 &+ 1] += h0
                            hist2[b1] += g1
                            hist2[b1 &+ 1] += h1
                        }
                        j += 2
                    }
                }
                while j < end {
                    let r = Int(indices[j])
                    let gg = Double(gh[2 &* r]), hh = Double(gh[2 &* r &+ 1])
                    let row = bins.base + r * f
                    for k in 0..<f {
                        let b = (offsets[k] &+ Int(row[k])) &<< 1
                        hist[b] += gg
                        hist[b &+ 1] += hh
                    }
                    j += 1
                }
                if dual { for k in 0..<histSize { hist[k] += hist2[k] } }
            }
            if chunks > 1 && count > 1 {
                for k in 0..<histSize { target[k] += scratch[k] }
            }
        }
    }

    /// The tree's `allowed` features, or a seeded subset of them for per-node sampling.
    private func nodeFeatures(_ allowed: [Bool]) -> [Bool] {
        guard config.nodeFeatureFraction < 1 else { return allowed }
        let candidates = allowed.indices.filter { allowed[$0] }
        let keep = max(1, Int((Double(candidates.count) * config.nodeFeatureFraction).rounded()))
        guard keep < candidates.count else { return allowed }
        var order = candidates
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(nodeRNG.next() % UInt64(i + 1))) }
        var subset = [Bool](repeating: false, count: allowed.count)
        for j in order.prefix(keep) { subset[j] = true }
        return subset
    }

    private func findBestSplit(leaf: Int, allowed treeAllowed: [Bool]) -> Split {
        let allowed = nodeFeatures(treeAllowed)
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
                                best = Split(gain: gain, feature: f, threshold: t, missingLeft: missingLeft, leftG: gl, leftH: hl)
                            }
                        }
                    }
                    if hm > 0 {
                        let gl2 = gl + gm, hl2 = hl + hm
                        let gr = G - gl2, hr = H - hl2
                        if hl2 >= minHess && hr >= minHess && hl2 * cf >= minData && hr * cf >= minData {
                            let gain = gl2 * gl2 / (hl2 + lambda) + gr * gr / (hr + lambda) - parent
                            if gain > best.gain {
                                best = Split(gain: gain, feature: f, threshold: t, missingLeft: true, leftG: gl2, leftH: hl2)
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
