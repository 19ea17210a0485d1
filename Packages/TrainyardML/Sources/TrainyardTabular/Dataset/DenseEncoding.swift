/// Dense inputs for the neural and linear models: numeric features standardised
/// ((x − mean) / std, missing → 0, i.e. the mean), categorical features one-hot (missing or
/// unknown → all zeros). Row-major nSamples × `width` Floats.
///
/// Standardised values are clipped to the range seen in training, and within it to ±`clip`
/// (5σ): a few wild values (diamonds has a `y` of 58.9 mm where 4–10 is usual) would
/// otherwise dominate a neural net's activations, and a value beyond anything seen in
/// training is read as the nearest value seen (as a tree does) instead of being extrapolated.
///
/// The statistics are fitted once on the first training data and kept on warm start, so a
/// resumed model sees inputs on the same scale.
struct DenseEncoding: Sendable, Equatable {
    static let clip = 5.0
    var means: [Double]
    var stds: [Double]
    /// Per feature: bounds of the standardised value (training min / max, within ±`clip`).
    var lower: [Double]
    var upper: [Double]
    var categoryCounts: [Int]
    var offsets: [Int]
    var width: Int

    init(fit table: EncodedTable) {
        categoryCounts = table.categoryCounts
        means = []
        stds = []
        lower = []
        upper = []
        offsets = []
        var w = 0
        for (j, col) in table.columns.enumerated() {
            offsets.append(w)
            if categoryCounts[j] > 0 {
                means.append(0); stds.append(1)
                lower.append(-Self.clip); upper.append(Self.clip)
                w += categoryCounts[j]
            } else {
                var s = 0.0, c = 0.0
                for v in col where !v.isNaN { s += v; c += 1 }
                let mean = c > 0 ? s / c : 0
                var ss = 0.0
                for v in col where !v.isNaN { ss += (v - mean) * (v - mean) }
                let std = c > 1 ? (ss / c).squareRoot() : 1
                let sd = std > 1e-12 ? std : 1
                means.append(mean); stds.append(sd)
                var lo = Double.infinity, hi = -Double.infinity
                for v in col where !v.isNaN { lo = min(lo, v); hi = max(hi, v) }
                lower.append(c > 0 ? max((lo - mean) / sd, -Self.clip) : -Self.clip)
                upper.append(c > 0 ? min((hi - mean) / sd, Self.clip) : Self.clip)
                w += 1
            }
        }
        width = w
    }

    init(means: [Double], stds: [Double], lower: [Double], upper: [Double], categoryCounts: [Int]) {
        self.means = means
        self.stds = stds
        self.lower = lower
        self.upper = upper
        self.categoryCounts = categoryCounts
        offsets = []
        var w = 0
        for c in categoryCounts { offsets.append(w); w += c > 0 ? c : 1 }
        width = w
    }

    /// The same encoding with its bounds widened to cover `table` too (warm start on new data).
    func widened(toCover table: EncodedTable) -> DenseEncoding {
        var e = self
        for (j, col) in table.columns.enumerated() where categoryCounts[j] == 0 {
            for v in col where !v.isNaN {
                let z = (v - means[j]) / stds[j]
                e.lower[j] = max(min(e.lower[j], z), -Self.clip)
                e.upper[j] = min(max(e.upper[j], z), Self.clip)
            }
        }
        return e
    }

    /// Writes rows `rows` of `table` into `out` (rows.count × width).
    func encode(_ table: EncodedTable, rows: some Collection<Int>, into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: rows.count * width)
        for j in 0..<table.columns.count {
            let off = offsets[j], cats = categoryCounts[j]
            let mean = means[j], invStd = 1 / stds[j], lo = lower[j], hi = upper[j]
            table.columns[j].withUnsafeBufferPointer { col in
                var i = 0
                for r in rows {
                    let v = col[r]
                    if !v.isNaN {
                        if cats > 0 {
                            let c = Int(v)
                            if c >= 0 && c < cats { out[i * width + off + c] = 1 }
                        } else {
                            out[i * width + off] = Float(min(max((v - mean) * invStd, lo), hi))
                        }
                    }
                    i += 1
                }
            }
        }
    }

    func encodeAll(_ table: EncodedTable) -> [Float] {
        var out = [Float](repeating: 0, count: table.count * width)
        out.withUnsafeMutableBufferPointer { encode(table, rows: 0..<table.count, into: $0.baseAddress!) }
        return out
    }

    func write(to w: inout BinaryWriter) {
        w.write(means)
        w.write(stds)
        w.write(categoryCounts.map { Int32($0) })
        w.write(lower)
        w.write(upper)
    }

    /// Reads what `write` wrote; model format version 1 had no bounds (±`clip` for all).
    static func read(from r: inout BinaryReader) throws -> DenseEncoding {
        let means = try r.readDoubles(), stds = try r.readDoubles()
        let counts = try r.readInt32s().map(Int.init)
        var lower = [Double](repeating: -clip, count: means.count), upper = [Double](repeating: clip, count: means.count)
        if r.version >= 2 { lower = try r.readDoubles(); upper = try r.readDoubles() }
        guard means.count == stds.count, counts.count == means.count, counts.allSatisfy({ $0 >= 0 }),
              lower.count == means.count, upper.count == means.count, zip(lower, upper).allSatisfy({ $0 <= $1 }) else {
            throw ModelFormatError("corrupt input encoding")
        }
        return DenseEncoding(means: means, stds: stds, lower: lower, upper: upper, categoryCounts: counts)
    }
}
