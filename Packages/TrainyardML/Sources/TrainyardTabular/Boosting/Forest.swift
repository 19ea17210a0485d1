/// A boosted ensemble as flat arrays (struct of arrays), LightGBM-style.
///
/// Every split is a set of bins sent left (256 bits per node), so numeric thresholds with a
/// missing-value direction and categorical subsets share one test. Children are node indices
/// (≥ 0) or `~leaf` (< 0); a tree whose root is a leaf stores `~leaf` as its root. Tree `t`
/// adds to class `t % scoreCount`.
struct Forest: Sendable, Equatable {
    var scoreCount: Int
    var initialScores: [Double]
    var roots: [Int32] = []
    var nodeFeature: [Int32] = []
    var nodeBits: [UInt64] = []
    var nodeChildren: [Int32] = []
    var leafValues: [Double] = []
    /// Per tree: first node and first leaf, to truncate after early stopping.
    var treeNodeStart: [Int] = []
    var treeLeafStart: [Int] = []
    /// Linear leaves (`linear_tree`), empty while every tree has constant leaves. Per leaf:
    /// the intercept and the first of its coefficients (`leafCoefStart`, the leaf's
    /// coefficients run to the next leaf's start). Per coefficient: the raw feature, the
    /// weight and the range of that feature among the leaf's training rows (inputs are
    /// clamped to it, so a leaf never extrapolates beyond what it saw). A leaf whose input
    /// is missing (NaN) for one of its features outputs its constant `leafValues` entry.
    var leafConst: [Double] = []
    var leafCoefStart: [Int32] = []
    var coefFeature: [Int32] = []
    var coefWeight: [Double] = []
    var coefLower: [Double] = []
    var coefUpper: [Double] = []

    init(scoreCount: Int, initialScores: [Double]) {
        self.scoreCount = scoreCount
        self.initialScores = initialScores
    }

    var treeCount: Int { roots.count }

    /// Whether any leaf may be linear (then predictions need the raw feature values).
    var hasLinearLeaves: Bool { !leafCoefStart.isEmpty }

    /// Coefficients of leaf `l` (global index): a range of `coefFeature`/`coefWeight`/….
    @inline(__always) func coefRange(_ l: Int) -> Range<Int> {
        Int(leafCoefStart[l])..<(l + 1 < leafCoefStart.count ? Int(leafCoefStart[l + 1]) : coefWeight.count)
    }

    /// Appends a tree built with tree-local node and leaf indices.
    mutating func append(_ tree: Tree) {
        let nodeBase = Int32(nodeFeature.count), leafBase = Int32(leafValues.count)
        if let linear = tree.linear {
            if !hasLinearLeaves {
                // Earlier trees' leaves become linear leaves without coefficients.
                leafConst = leafValues
                leafCoefStart = [Int32](repeating: 0, count: leafValues.count)
            }
            for leaf in linear {
                leafConst.append(leaf.constant)
                leafCoefStart.append(Int32(coefWeight.count))
                coefFeature.append(contentsOf: leaf.features)
                coefWeight.append(contentsOf: leaf.weights)
                coefLower.append(contentsOf: leaf.lower)
                coefUpper.append(contentsOf: leaf.upper)
            }
        } else if hasLinearLeaves {
            leafConst.append(contentsOf: tree.leafValues)
            leafCoefStart.append(contentsOf: repeatElement(Int32(coefWeight.count), count: tree.leafValues.count))
        }
        treeNodeStart.append(nodeFeature.count)
        treeLeafStart.append(leafValues.count)
        func remap(_ c: Int32) -> Int32 { c >= 0 ? c + nodeBase : ~(~c + leafBase) }
        roots.append(tree.feature.isEmpty ? ~leafBase : nodeBase)
        nodeFeature.append(contentsOf: tree.feature)
        nodeBits.append(contentsOf: tree.bits)
        nodeChildren.append(contentsOf: tree.children.map(remap))
        leafValues.append(contentsOf: tree.leafValues)
    }

    /// Keeps the first `trees` trees.
    mutating func truncate(toTrees trees: Int) {
        guard trees < treeCount else { return }
        let ns = treeNodeStart[trees], ls = treeLeafStart[trees]
        roots.removeSubrange(trees...)
        treeNodeStart.removeSubrange(trees...)
        treeLeafStart.removeSubrange(trees...)
        nodeFeature.removeSubrange(ns...)
        nodeBits.removeSubrange((ns * 4)...)
        nodeChildren.removeSubrange((ns * 2)...)
        leafValues.removeSubrange(ls...)
        if hasLinearLeaves {
            let cs = Int(leafCoefStart[ls])
            leafConst.removeSubrange(ls...)
            leafCoefStart.removeSubrange(ls...)
            coefFeature.removeSubrange(cs...)
            coefWeight.removeSubrange(cs...)
            coefLower.removeSubrange(cs...)
            coefUpper.removeSubrange(cs...)
        }
    }

    /// The output of leaf `l` for one row: its constant value, or for a linear leaf the
    /// intercept plus the weighted clamped inputs (`raw(feature)`), falling back to the
    /// constant value when one of them is missing.
    @inline(__always) func leafOutput(_ l: Int, raw: (Int) -> Double) -> Double {
        guard hasLinearLeaves else { return leafValues[l] }
        let range = coefRange(l)
        if range.isEmpty { return leafValues[l] }
        var s = leafConst[l]
        for c in range {
            let x = raw(Int(coefFeature[c]))
            if x.isNaN { return leafValues[l] }
            s += coefWeight[c] * min(max(x, coefLower[c]), coefUpper[c])
        }
        return s
    }

    /// Adds trees `trees` to class-major `scores` (scoreCount × n) for the binned rows
    /// `rowRange`; `rows` points at the first row of `rowRange` (row-major, `f` bytes a row).
    ///
    /// Rows are visited in blocks, tree by tree, so each tree stays in L1 while a block of
    /// rows goes through it; rows within a block are independent, which lets the CPU overlap
    /// their traversals.
    /// `raw` (needed when the forest has linear leaves): raw feature values column-major,
    /// feature j of row r at `raw[j * rawStride + r - rowRange.lowerBound]`.
    func addScores(trees: Range<Int>, rows: UnsafePointer<UInt8>, featureCount f: Int,
                   rowRange: Range<Int>, n: Int, scores: UnsafeMutablePointer<Double>,
                   raw: UnsafePointer<Double>? = nil, rawStride: Int = 0) {
        if hasLinearLeaves {
            if rowRange.isEmpty { return }
            precondition(raw != nil, "linear leaves need the raw feature values")
            addScoresLinear(trees: trees, rows: rows, featureCount: f, rowRange: rowRange, n: n, scores: scores, raw: raw!, rawStride: rawStride)
            return
        }
        let block = 64
        nodeFeature.withUnsafeBufferPointer { feat in
        nodeBits.withUnsafeBufferPointer { bits in
        nodeChildren.withUnsafeBufferPointer { kids in
        leafValues.withUnsafeBufferPointer { leaves in
        roots.withUnsafeBufferPointer { rootsBuf in
            var start = rowRange.lowerBound
            while start < rowRange.upperBound {
                let end = min(start + block, rowRange.upperBound)
                for t in trees {
                    let root = rootsBuf[t]
                    let out = scores + (t % scoreCount) * n
                    if root < 0 {
                        let v = leaves[Int(~root)]
                        for r in start..<end { out[r] += v }
                        continue
                    }
                    for r in start..<end {
                        let row = rows + (r &- rowRange.lowerBound) &* f
                        var node = Int(root)
                        repeat {
                            let b = Int(row[Int(feat[node])])
                            let word = bits[node &* 4 &+ (b &>> 6)]
                            let goLeft = Int((word &>> UInt64(b & 63)) & 1)
                            node = Int(kids[node &* 2 &+ 1 &- goLeft])
                        } while node >= 0
                        out[r] += leaves[~node]
                    }
                }
                start = end
            }
        }}}}}
    }

    /// `addScores` for forests with linear leaves: walks each tree, then evaluates the leaf.
    private func addScoresLinear(trees: Range<Int>, rows: UnsafePointer<UInt8>, featureCount f: Int,
                                 rowRange: Range<Int>, n: Int, scores: UnsafeMutablePointer<Double>,
                                 raw: UnsafePointer<Double>, rawStride: Int) {
        for t in trees {
            let root = roots[t]
            let out = scores + (t % scoreCount) * n
            for r in rowRange {
                let local = r &- rowRange.lowerBound
                let row = rows + local &* f
                var node = Int(root)
                while node >= 0 {
                    let b = Int(row[Int(nodeFeature[node])])
                    let goLeft = Int((nodeBits[node &* 4 &+ (b &>> 6)] &>> UInt64(b & 63)) & 1)
                    node = Int(nodeChildren[node &* 2 &+ 1 &- goLeft])
                }
                out[r] += leafOutput(~node) { j in raw[j &* rawStride &+ local] }
            }
        }
    }

    func write(to w: inout BinaryWriter) {
        w.write(scoreCount)
        w.write(initialScores)
        w.write(roots)
        w.write(nodeFeature)
        w.write(nodeBits.count)
        for b in nodeBits { w.write(b) }
        w.write(nodeChildren)
        w.write(leafValues)
        w.write(treeNodeStart.map { Int32($0) })
        w.write(treeLeafStart.map { Int32($0) })
        // Model format 3: linear leaves (all empty for constant-leaf forests).
        w.write(leafConst)
        w.write(leafCoefStart)
        w.write(coefFeature)
        w.write(coefWeight)
        w.write(coefLower)
        w.write(coefUpper)
    }

    static func read(from r: inout BinaryReader, featureCount: Int) throws -> Forest {
        var forest = Forest(scoreCount: try r.readInt(), initialScores: try r.readDoubles())
        forest.roots = try r.readInt32s()
        forest.nodeFeature = try r.readInt32s()
        let bitCount = try r.readInt()
        guard bitCount == forest.nodeFeature.count * 4 else { throw ModelFormatError("bad forest node bits") }
        forest.nodeBits = try (0..<bitCount).map { _ in try r.read(UInt64.self) }
        forest.nodeChildren = try r.readInt32s()
        forest.leafValues = try r.readDoubles()
        forest.treeNodeStart = try r.readInt32s().map(Int.init)
        forest.treeLeafStart = try r.readInt32s().map(Int.init)
        if r.version >= 3 {
            forest.leafConst = try r.readDoubles()
            forest.leafCoefStart = try r.readInt32s()
            forest.coefFeature = try r.readInt32s()
            forest.coefWeight = try r.readDoubles()
            forest.coefLower = try r.readDoubles()
            forest.coefUpper = try r.readDoubles()
            let coefs = forest.coefWeight.count
            guard forest.leafConst.count == forest.leafCoefStart.count,
                  forest.leafCoefStart.isEmpty || forest.leafCoefStart.count == forest.leafValues.count,
                  forest.coefFeature.count == coefs, forest.coefLower.count == coefs, forest.coefUpper.count == coefs,
                  forest.leafCoefStart.allSatisfy({ $0 >= 0 && Int($0) <= coefs }),
                  zip(forest.leafCoefStart, forest.leafCoefStart.dropFirst()).allSatisfy({ $0 <= $1 }),
                  forest.coefFeature.allSatisfy({ $0 >= 0 && Int($0) < featureCount })
            else { throw ModelFormatError("corrupt gbdt linear leaves") }
        }
        // Validate indices so a corrupt file cannot make prediction read out of bounds.
        let nodes = forest.nodeFeature.count, leaves = forest.leafValues.count
        guard forest.scoreCount >= 1, forest.initialScores.count == forest.scoreCount,
              forest.nodeChildren.count == nodes * 2,
              forest.treeNodeStart.count == forest.roots.count, forest.treeLeafStart.count == forest.roots.count,
              forest.nodeFeature.allSatisfy({ $0 >= 0 && Int($0) < featureCount }),
              (forest.nodeChildren + forest.roots).allSatisfy({ $0 >= 0 ? Int($0) < nodes : Int(~$0) < leaves }),
              // Children come after their parent, so prediction always terminates.
              forest.nodeChildren.indices.allSatisfy({ forest.nodeChildren[$0] < 0 || Int(forest.nodeChildren[$0]) > $0 / 2 })
        else { throw ModelFormatError("corrupt gbdt forest") }
        // Every tree's children stay inside its own node and leaf ranges.
        let T = forest.roots.count
        for t in 0..<T {
            let ns = forest.treeNodeStart[t], ne = t + 1 < T ? forest.treeNodeStart[t + 1] : nodes
            let ls = forest.treeLeafStart[t], le = t + 1 < T ? forest.treeLeafStart[t + 1] : leaves
            guard ns <= ne, ls < le, ne <= nodes, le <= leaves else { throw ModelFormatError("corrupt gbdt tree \(t)") }
            func inside(_ c: Int32) -> Bool { c >= 0 ? (ns..<ne).contains(Int(c)) : (ls..<le).contains(Int(~c)) }
            guard inside(forest.roots[t]), (ns..<ne).allSatisfy({ inside(forest.nodeChildren[2 * $0]) && inside(forest.nodeChildren[2 * $0 + 1]) })
            else { throw ModelFormatError("corrupt gbdt tree \(t)") }
        }
        return forest
    }
}

/// One tree while it is grown: tree-local indices.
struct Tree: Sendable {
    var feature: [Int32] = []
    var bits: [UInt64] = []
    var children: [Int32] = []
    var leafValues: [Double] = []
    /// Linear leaves (one per leaf, already shrunk), nil for constant leaves.
    var linear: [LinearLeaf]? = nil
}

/// A leaf's linear model: constant + Σ weights[i] · clamp(x[features[i]], lower[i], upper[i]).
struct LinearLeaf: Sendable, Equatable {
    var constant: Double
    var features: [Int32] = []
    var weights: [Double] = []
    var lower: [Double] = []
    var upper: [Double] = []
}
