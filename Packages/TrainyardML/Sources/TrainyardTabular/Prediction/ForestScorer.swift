/// Scores a forest without walking its trees (QuickScorer's idea, specialised to binned
/// inputs): for every tree and every feature it splits on, a table maps each bin to the set of
/// the tree's leaves still reachable (a 64-bit mask). A row's exit leaf is the lowest bit of
/// the AND of its features' masks.
///
/// Per tree and row this is a few independent loads and ANDs, with no data-dependent
/// branches, so rows in a block run back to back. Needs ≤ 64 leaves per tree; `init` returns
/// nil otherwise and callers walk the trees instead.
struct ForestScorer: Sendable {
    let scoreCount: Int
    /// Consecutive trees whose leaves fit in one 64-bit mask together (e.g. two 32-leaf
    /// trees) share a group: one pass over the features scores all of them.
    let groupCount: Int
    /// Per group, `groupTrees[g]..<groupTrees[g+1]` are its trees.
    let groupTrees: [Int32]
    /// Per tree: first leaf in `leafValues`, bit offset in its group's mask, class.
    let treeLeafBase: [Int32]
    let treeShift: [Int32]
    let treeClass: [Int32]
    /// Per group, `usedStart[g]..<usedStart[g+1]` index `usedFeature`/`usedOffset`.
    let usedStart: [Int32]
    let usedFeature: [Int32]
    let usedOffset: [Int32]
    let tables: [UInt64]
    let leafValues: [Double]
    /// Linear leaves: the forest itself (its coefficient arrays) and, per tree, whether any
    /// of its leaves has coefficients; nil when the forest has none.
    let linear: Forest?
    let treeIsLinear: [Bool]
    /// Dense form of the linear leaves when they use at most 7 distinct features: per leaf
    /// 8 lanes (one per feature in `denseFeatures`, the last is the intercept with input 1)
    /// of weight, lower and upper bound, and the lanes it uses as a bit mask (a row missing
    /// one of them gets the leaf's constant value). Empty otherwise (the sparse path).
    /// Lanes are two `SIMD4<Double>` per leaf (entries 2l and 2l + 1), which compile to
    /// whole AVX registers.
    let denseFeatures: [Int32]
    let denseWeight: [SIMD4<Double>]
    let denseLower: [SIMD4<Double>]
    let denseUpper: [SIMD4<Double>]
    let denseMask: [UInt8]

    init?(forest: Forest, mappers: [BinMapper]) {
        let T = forest.treeCount
        func nodeRange(_ t: Int) -> Range<Int> { forest.treeNodeStart[t]..<(t + 1 < T ? forest.treeNodeStart[t + 1] : forest.nodeFeature.count) }
        func leafRange(_ t: Int) -> Range<Int> { forest.treeLeafStart[t]..<(t + 1 < T ? forest.treeLeafStart[t + 1] : forest.leafValues.count) }
        var groupTrees: [Int32] = [0]
        var leafBase: [Int32] = [], shifts: [Int32] = [], classes: [Int32] = []
        var usedStart: [Int32] = [0], usedFeature: [Int32] = [], usedOffset: [Int32] = []
        var tables: [UInt64] = []
        var t = 0
        while t < T {
            // Greedily pack trees while their leaves fit in 64 bits.
            var members: [Int] = []
            var bits = 0
            while t < T && bits + leafRange(t).count <= 64 {
                members.append(t)
                bits += leafRange(t).count
                t += 1
            }
            guard !members.isEmpty else { return nil }  // a tree with more than 64 leaves
            var tableOf: [Int: Int] = [:]  // feature → offset in `tables`
            var shift = 0
            for tree in members {
                let ns = nodeRange(tree), ls = leafRange(tree).lowerBound
                leafBase.append(Int32(ls))
                shifts.append(Int32(shift))
                classes.append(Int32(tree % forest.scoreCount))
                // Leaf sets below each node; children always have higher indices than parents.
                var below = [UInt64](repeating: 0, count: ns.count)
                func childMask(_ c: Int32) -> UInt64 {
                    c >= 0 ? below[Int(c) - ns.lowerBound] : 1 << UInt64(Int(~c) - ls + shift)
                }
                for node in ns.reversed() {
                    below[node - ns.lowerBound] = childMask(forest.nodeChildren[2 * node]) | childMask(forest.nodeChildren[2 * node + 1])
                }
                for node in ns {
                    let f = Int(forest.nodeFeature[node])
                    let bins = mappers[f].binCount
                    let offset: Int
                    if let o = tableOf[f] {
                        offset = o
                    } else {
                        offset = tables.count
                        tables.append(contentsOf: repeatElement(UInt64.max, count: bins))
                        tableOf[f] = offset
                        usedFeature.append(Int32(f))
                        usedOffset.append(Int32(offset))
                    }
                    let left = childMask(forest.nodeChildren[2 * node]), right = childMask(forest.nodeChildren[2 * node + 1])
                    for b in 0..<bins {
                        let goesLeft = (forest.nodeBits[node * 4 + (b >> 6)] >> UInt64(b & 63)) & 1 == 1
                        tables[offset + b] &= goesLeft ? ~right : ~left
                    }
                }
                shift += leafRange(tree).count
            }
            groupTrees.append(Int32(t))
            usedStart.append(Int32(usedFeature.count))
        }
        scoreCount = forest.scoreCount
        groupCount = groupTrees.count - 1
        self.groupTrees = groupTrees
        treeLeafBase = leafBase
        treeShift = shifts
        treeClass = classes
        self.usedStart = usedStart
        self.usedFeature = usedFeature
        self.usedOffset = usedOffset
        self.tables = tables
        leafValues = forest.leafValues
        if forest.hasLinearLeaves {
            linear = forest
            treeIsLinear = (0..<T).map { t in leafRange(t).contains { !forest.coefRange($0).isEmpty } }
        } else {
            linear = nil
            treeIsLinear = []
        }
        let used = Array(Set(forest.coefFeature)).sorted()
        if forest.hasLinearLeaves && used.count <= 7 {
            let lane = Dictionary(uniqueKeysWithValues: used.enumerated().map { ($1, $0) })
            let leaves = forest.leafValues.count
            var w = [SIMD8<Double>](repeating: .zero, count: leaves)
            var lo = [SIMD8<Double>](repeating: SIMD8(repeating: -.infinity), count: leaves)
            var hi = [SIMD8<Double>](repeating: SIMD8(repeating: .infinity), count: leaves)
            var mask = [UInt8](repeating: 0, count: leaves)
            for l in 0..<leaves {
                let range = forest.coefRange(l)
                if range.isEmpty { w[l][7] = forest.leafValues[l]; continue }
                w[l][7] = forest.leafConst[l]
                for c in range {
                    let j = lane[forest.coefFeature[c]]!
                    w[l][j] = forest.coefWeight[c]
                    lo[l][j] = forest.coefLower[c]
                    hi[l][j] = forest.coefUpper[c]
                    mask[l] |= 1 << UInt8(j)
                }
            }
            func split(_ v: [SIMD8<Double>]) -> [SIMD4<Double>] { v.flatMap { [$0.lowHalf, $0.highHalf] } }
            denseFeatures = used
            denseWeight = split(w); denseLower = split(lo); denseUpper = split(hi); denseMask = mask
        } else {
            denseFeatures = []
            denseWeight = []; denseLower = []; denseUpper = []; denseMask = []
        }
    }

    /// Adds every tree's output for `m` rows to class-major `scores` (stride `n`) at `rowStart`.
    /// - Parameters: `columns`: bins column-major, feature f of row r at `columns[f * stride + r]`.
    ///   `acc`: scratch for at least `m` masks. `raw` (forests with linear leaves): raw feature
    ///   values column-major with the same `stride`.
    func addScores(columns: UnsafePointer<UInt8>, stride: Int, m: Int, rowStart: Int, n: Int,
                   scores: UnsafeMutablePointer<Double>, acc: UnsafeMutablePointer<UInt64>,
                   raw: UnsafePointer<Double>? = nil) {
        tables.withUnsafeBufferPointer { tab in
        leafValues.withUnsafeBufferPointer { leaves in
        usedStart.withUnsafeBufferPointer { us in
        usedFeature.withUnsafeBufferPointer { uf in
        usedOffset.withUnsafeBufferPointer { uo in
        groupTrees.withUnsafeBufferPointer { gt in
        treeLeafBase.withUnsafeBufferPointer { lb in
        treeShift.withUnsafeBufferPointer { sh in
        treeClass.withUnsafeBufferPointer { cls in
            let tables = tab.baseAddress!
            // Dense linear leaves: each row's inputs as 8 lanes (missing → 0, noted in a mask).
            // With one score per row the lane products are summed over all linear trees in
            // `rowSum` and reduced once at the end.
            let dense = linear != nil && !denseWeight.isEmpty
            let rowX = UnsafeMutablePointer<SIMD4<Double>>.allocate(capacity: dense ? 2 * m : 0)
            let rowSum = UnsafeMutablePointer<SIMD4<Double>>.allocate(capacity: dense ? 2 * m : 0)
            let rowMissing = UnsafeMutablePointer<UInt8>.allocate(capacity: dense ? m : 0)
            defer { rowX.deallocate(); rowSum.deallocate(); rowMissing.deallocate() }
            if dense {
                for r in 0..<m {
                    rowX[2 * r] = .zero; rowX[2 * r + 1] = SIMD4(0, 0, 0, 1); rowMissing[r] = 0
                    rowSum[2 * r] = .zero; rowSum[2 * r + 1] = .zero
                }
                for (j, feature) in denseFeatures.enumerated() {
                    let col = raw! + Int(feature) * stride
                    for r in 0..<m {
                        let x = col[r]
                        if x.isNaN { rowMissing[r] |= 1 << UInt8(j) } else { rowX[2 * r + j / 4][j % 4] = x }
                    }
                }
            }
            for g in 0..<groupCount {
                let u0 = Int(us[g]), u1 = Int(us[g + 1])
                if u0 == u1 {
                    for r in 0..<m { acc[r] = UInt64.max }
                } else {
                    // First feature initialises the masks, the others AND into them.
                    do {
                        let table = tables + Int(uo[u0])
                        let col = columns + Int(uf[u0]) * stride
                        for r in 0..<m { acc[r] = table[Int(col[r])] }
                    }
                    for u in (u0 + 1)..<u1 {
                        let table = tables + Int(uo[u])
                        let col = columns + Int(uf[u]) * stride
                        for r in 0..<m { acc[r] &= table[Int(col[r])] }
                    }
                }
                for t in Int(gt[g])..<Int(gt[g + 1]) {
                    let out = scores + Int(cls[t]) * n + rowStart
                    let shift = UInt64(sh[t])
                    if dense, treeIsLinear[t] {
                        addDense(leafBase: Int(lb[t]), shift: shift, m: m, out: out, acc: acc, rowX: rowX, rowMissing: rowMissing,
                                 rowSum: scoreCount == 1 ? rowSum : nil)
                        continue
                    }
                    if let linear, treeIsLinear[t] {
                        addLinear(linear, leafBase: Int(lb[t]), shift: shift, m: m, out: out, acc: acc, raw: raw!, stride: stride)
                        continue
                    }
                    let values = leaves.baseAddress! + Int(lb[t])
                    for r in 0..<m { out[r] += values[(acc[r] &>> shift).trailingZeroBitCount] }
                }
            }
            if dense && scoreCount == 1 {
                let out = scores + rowStart
                for r in 0..<m {
                    let s = rowSum[2 * r] + rowSum[2 * r + 1]
                    out[r] += (s[0] + s[1]) + (s[2] + s[3])
                }
            }
        }}}}}}}}}
    }

    /// One tree with linear leaves in dense form: w · clamp(x, lower, upper) over 8 lanes,
    /// added to `rowSum` (one score per row) or summed into `out` right away.
    private func addDense(leafBase: Int, shift: UInt64, m: Int, out: UnsafeMutablePointer<Double>, acc: UnsafeMutablePointer<UInt64>,
                          rowX: UnsafeMutablePointer<SIMD4<Double>>, rowMissing: UnsafeMutablePointer<UInt8>,
                          rowSum: UnsafeMutablePointer<SIMD4<Double>>?) {
        denseWeight.withUnsafeBufferPointer { w in
        denseLower.withUnsafeBufferPointer { lo in
        denseUpper.withUnsafeBufferPointer { hi in
        denseMask.withUnsafeBufferPointer { mask in
        leafValues.withUnsafeBufferPointer { values in
            for r in 0..<m {
                let l = leafBase &+ (acc[r] &>> shift).trailingZeroBitCount
                if mask[l] & rowMissing[r] != 0 { out[r] += values[l]; continue }
                let a = 2 &* l, b = 2 &* r
                // Compare-and-replace clamps (pointwiseMin/Max compile to scalar branches).
                var x0 = rowX[b], x1 = rowX[b &+ 1]
                let lo0 = lo[a], lo1 = lo[a &+ 1], hi0 = hi[a], hi1 = hi[a &+ 1]
                x0.replace(with: lo0, where: x0 .< lo0); x0.replace(with: hi0, where: x0 .> hi0)
                x1.replace(with: lo1, where: x1 .< lo1); x1.replace(with: hi1, where: x1 .> hi1)
                let p = w[a] * x0 + w[a &+ 1] * x1
                if let rowSum {
                    rowSum[b] += p
                } else {
                    out[r] += (p[0] + p[1]) + (p[2] + p[3])
                }
            }
        }}}}}
    }

    /// One tree with linear leaves: each row's leaf from its mask, then the leaf's model.
    private func addLinear(_ forest: Forest, leafBase: Int, shift: UInt64, m: Int, out: UnsafeMutablePointer<Double>,
                           acc: UnsafeMutablePointer<UInt64>, raw: UnsafePointer<Double>, stride: Int) {
        forest.leafValues.withUnsafeBufferPointer { values in
        forest.leafConst.withUnsafeBufferPointer { consts in
        forest.leafCoefStart.withUnsafeBufferPointer { starts in
        forest.coefFeature.withUnsafeBufferPointer { feats in
        forest.coefWeight.withUnsafeBufferPointer { weights in
        forest.coefLower.withUnsafeBufferPointer { lower in
        forest.coefUpper.withUnsafeBufferPointer { upper in
            let leafCount = starts.count, coefCount = weights.count
            for r in 0..<m {
                let l = leafBase &+ (acc[r] &>> shift).trailingZeroBitCount
                let c0 = Int(starts[l]), c1 = l &+ 1 < leafCount ? Int(starts[l &+ 1]) : coefCount
                var s = consts[l]
                var missing = false
                for c in c0..<c1 {
                    let x = raw[Int(feats[c]) &* stride &+ r]
                    missing = missing || x.isNaN
                    s += weights[c] * min(max(x, lower[c]), upper[c])
                }
                out[r] += missing || c0 == c1 ? values[l] : s
            }
        }}}}}}}
    }
}
