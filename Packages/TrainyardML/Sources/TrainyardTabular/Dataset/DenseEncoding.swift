/// Dense inputs for the neural and linear models: numeric features standardised
/// ((x − mean) / std, missing → 0, i.e. the mean), categorical features one-hot (missing or
/// unknown → all zeros). Row-major nSamples × `width` Floats.
///
/// Standardised values are clipped to ±`clip` (5σ): a few wild values (diamonds has a
/// `y` of 58.9 mm where 4–10 is usual) would otherwise dominate a neural net's activations.
///
/// The statistics are fitted once on the first training data and kept on warm start, so a
/// resumed model sees inputs on the same scale.
struct DenseEncoding: Sendable, Equatable {
    static let clip = 5.0
    var means: [Double]
    var stds: [Double]
    var categoryCounts: [Int]
    var offsets: [Int]
    var width: Int

    init(fit table: EncodedTable) {
        categoryCounts = table.categoryCounts
        means = []
        stds = []
        offsets = []
        var w = 0
        for (j, col) in table.columns.enumerated() {
            offsets.append(w)
            if categoryCounts[j] > 0 {
                means.append(0); stds.append(1)
                w += categoryCounts[j]
            } else {
                var s = 0.0, c = 0.0
                for v in col where !v.isNaN { s += v; c += 1 }
                let mean = c > 0 ? s / c : 0
                var ss = 0.0
                for v in col where !v.isNaN { ss += (v - mean) * (v - mean) }
                let std = c > 1 ? (ss / c).squareRoot() : 1
                means.append(mean); stds.append(std > 1e-12 ? std : 1)
                w += 1
            }
        }
        width = w
    }

    init(means: [Double], stds: [Double], categoryCounts: [Int]) {
        self.means = means
        self.stds = stds
        self.categoryCounts = categoryCounts
        offsets = []
        var w = 0
        for c in categoryCounts { offsets.append(w); w += c > 0 ? c : 1 }
        width = w
    }

    /// Writes rows `rows` of `table` into `out` (rows.count × width).
    func encode(_ table: EncodedTable, rows: some Collection<Int>, into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: rows.count * width)
        for j in 0..<table.columns.count {
            let off = offsets[j], cats = categoryCounts[j]
            let mean = means[j], invStd = 1 / stds[j]
            table.columns[j].withUnsafeBufferPointer { col in
                var i = 0
                for r in rows {
                    let v = col[r]
                    if !v.isNaN {
                        if cats > 0 {
                            let c = Int(v)
                            if c >= 0 && c < cats { out[i * width + off + c] = 1 }
                        } else {
                            out[i * width + off] = Float(min(max((v - mean) * invStd, -Self.clip), Self.clip))
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
    }

    static func read(from r: inout BinaryReader) throws -> DenseEncoding {
        let means = try r.readDoubles(), stds = try r.readDoubles()
        let counts = try r.readInt32s().map(Int.init)
        guard means.count == stds.count, counts.count == means.count, counts.allSatisfy({ $0 >= 0 }) else {
            throw ModelFormatError("corrupt input encoding")
        }
        return DenseEncoding(means: means, stds: stds, categoryCounts: counts)
    }
}
