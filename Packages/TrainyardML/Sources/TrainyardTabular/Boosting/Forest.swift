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

    init(scoreCount: Int, initialScores: [Double]) {
        self.scoreCount = scoreCount
        self.initialScores = initialScores
    }

    var treeCount: Int { roots.count }

    /// Appends a tree built with tree-local node and leaf indices.
    mutating func append(_ tree: Tree) {
        let nodeBase = Int32(nodeFeature.count), leafBase = Int32(leafValues.count)
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
    }

    /// Adds trees `trees` to class-major `scores` (scoreCount × n) for the binned rows
    /// `rowRange`; `rows` points at the first row of `rowRange` (row-major, `f` bytes a row).
    ///
    /// Rows are visited in blocks, tree by tree, so each tree stays in L1 while a block of
    /// rows goes through it; rows within a block are independent, which lets the CPU overlap
    /// their traversals.
    func addScores(trees: Range<Int>, rows: UnsafePointer<UInt8>, featureCount f: Int,
                   rowRange: Range<Int>, n: Int, scores: UnsafeMutablePointer<Double>) {
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
}
