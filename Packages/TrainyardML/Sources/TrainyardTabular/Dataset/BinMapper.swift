/// Maps one feature's values to small bins, LightGBM-style: bin 0 holds missing values (and
/// unknown or rare categories); numeric bins 1…k are delimited by upper bounds chosen so bins
/// hold about equal numbers of rows; categorical bins 1…k are the most frequent categories.
struct BinMapper: Sendable, Equatable {
    let isCategorical: Bool
    /// Numeric: bin b ≥ 1 holds values in (upperBounds[b-2], upperBounds[b-1]]; the last is +∞.
    let upperBounds: [Double]
    /// Categorical: category index → bin (0 for categories that got no bin of their own).
    let categoryBins: [UInt8]
    /// Bins including the missing bin 0; at most 256.
    let binCount: Int
    /// `upperBounds` padded with +∞ to a power of two, for the fixed-step search of `bin`.
    private let searchBounds: [Double]

    init(isCategorical: Bool, upperBounds: [Double], categoryBins: [UInt8], binCount: Int) {
        self.isCategorical = isCategorical
        self.upperBounds = upperBounds
        self.categoryBins = categoryBins
        self.binCount = binCount
        var size = 1
        while size < upperBounds.count { size <<= 1 }
        searchBounds = upperBounds + [Double](repeating: .infinity, count: size - upperBounds.count)
    }

    /// Equal-frequency bins over the distinct non-missing values of `values`.
    /// - Parameters: `maxBins`: bins including the missing bin, in 2...256. `minDataInBin`:
    ///   a bin closes only once it holds this many values (LightGBM's `min_data_in_bin`), so
    ///   rare values share a bin with their neighbours instead of inviting splits around one row.
    static func numeric(_ values: [Double], maxBins: Int, minDataInBin: Int = 1) -> BinMapper {
        var sorted = values.filter { !$0.isNaN }
        sorted.sort()
        var distinct: [Double] = []
        var counts: [Int] = []
        for v in sorted {
            if let last = distinct.last, last == v { counts[counts.count - 1] += 1 } else { distinct.append(v); counts.append(1) }
        }
        let valueBins = maxBins - 1
        var bounds: [Double] = []
        if distinct.count <= valueBins {
            var inBin = 0
            for i in 0..<max(distinct.count - 1, 0) {
                inBin += counts[i]
                if inBin >= minDataInBin {
                    bounds.append(midpoint(distinct[i], distinct[i + 1]))
                    inBin = 0
                }
            }
        } else {
            var remaining = sorted.count
            var binsLeft = valueBins
            var inBin = 0
            for i in 0..<(distinct.count - 1) {
                inBin += counts[i]
                let mean = Double(remaining) / Double(binsLeft)
                // Close the bin when it is full, or when the next value alone would overfill it.
                if inBin >= minDataInBin && (Double(inBin) >= mean || Double(inBin + counts[i + 1]) > mean * 1.5 && Double(inBin) >= mean * 0.5) {
                    bounds.append(midpoint(distinct[i], distinct[i + 1]))
                    remaining -= inBin
                    inBin = 0
                    binsLeft -= 1
                    if binsLeft <= 1 { break }
                }
            }
        }
        bounds.append(.infinity)
        return BinMapper(isCategorical: false, upperBounds: bounds, categoryBins: [], binCount: bounds.count + 1)
    }

    /// One bin per category, the most frequent `maxBins - 1` categories first.
    static func categorical(_ codes: [Double], categoryCount: Int, maxBins: Int) -> BinMapper {
        var counts = [Int](repeating: 0, count: categoryCount)
        for v in codes where !v.isNaN { counts[Int(v)] += 1 }
        let order = (0..<categoryCount).filter { counts[$0] > 0 }.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
        var bins = [UInt8](repeating: 0, count: categoryCount)
        for (i, c) in order.prefix(maxBins - 1).enumerated() { bins[c] = UInt8(i + 1) }
        return BinMapper(isCategorical: true, upperBounds: [], categoryBins: bins, binCount: min(order.count, maxBins - 1) + 1)
    }

    private static func midpoint(_ a: Double, _ b: Double) -> Double {
        let m = a + (b - a) / 2
        return m < b ? m : a
    }

    @inline(__always)
    func bin(_ v: Double) -> UInt8 {
        if v.isNaN { return 0 }
        if isCategorical {
            let c = Int(v)
            return c >= 0 && c < categoryBins.count ? categoryBins[c] : 0
        }
        return searchBounds.withUnsafeBufferPointer { Self.search($0, v) }
    }

    /// Number of bounds below `v` plus one, by a fixed number of halving steps over the padded
    /// bounds (no data-dependent branches: the step count depends only on the bound count).
    @inline(__always)
    private static func search(_ ub: UnsafeBufferPointer<Double>, _ v: Double) -> UInt8 {
        var pos = 0
        var step = ub.count >> 1
        while step > 0 {
            let below = ub[pos &+ step &- 1] < v
            pos &+= step & (0 &- Int(truncatingIfNeeded: unsafeBitCast(below, to: UInt8.self)))
            step >>= 1
        }
        return UInt8(truncatingIfNeeded: pos &+ 1)
    }

    /// Bins `count` values of `src` into `out[i * stride]`.
    func bin(_ src: UnsafePointer<Double>, count: Int, into out: UnsafeMutablePointer<UInt8>, stride: Int = 1) {
        if isCategorical {
            for i in 0..<count { out[i &* stride] = bin(src[i]) }
            return
        }
        searchBounds.withUnsafeBufferPointer { ub in
            for i in 0..<count {
                let v = src[i]
                out[i &* stride] = v.isNaN ? 0 : Self.search(ub, v)
            }
        }
    }

    func write(to w: inout BinaryWriter) {
        w.write(isCategorical)
        w.write(upperBounds)
        w.write(categoryBins)
        w.write(binCount)
    }

    static func read(from r: inout BinaryReader) throws -> BinMapper {
        let isCategorical = try r.readBool()
        let ub = try r.readDoubles()
        let cb = try r.readBytes()
        let bc = try r.readInt()
        guard bc >= 1, bc <= 256, isCategorical ? cb.allSatisfy({ Int($0) < bc }) : ub.count == bc - 1,
              isCategorical || ub.last == .infinity else { throw ModelFormatError("bad bin mapper") }
        return BinMapper(isCategorical: isCategorical, upperBounds: ub, categoryBins: cb, binCount: bc)
    }
}

/// Rows binned once for training or prediction: row-major nSamples × nFeatures bytes.
struct BinnedRows: Sendable {
    var bins: [UInt8]
    let count: Int
    let featureCount: Int

    init(_ table: EncodedTable, mappers: [BinMapper]) {
        let n = table.count, f = mappers.count
        count = n
        featureCount = f
        var out = [UInt8](repeating: 0, count: n * f)
        out.withUnsafeMutableBufferPointer { buf in
            let shared = SharedBuffer(base: buf.baseAddress!, count: buf.count)
            Parallel.forEachChunk(count: n, chunks: Parallel.chunks(for: n * f, threshold: 200_000)) { _, range in
                for j in 0..<f {
                    let mapper = mappers[j]
                    table.columns[j].withUnsafeBufferPointer { col in
                        mapper.bin(col.baseAddress! + range.lowerBound, count: range.count, into: shared.base + range.lowerBound * f + j, stride: f)
                    }
                }
            }
        }
        bins = out
    }
}
