#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hashed word and character n-gram features with TF-IDF weighting and L2 normalisation.
///
/// A text becomes a sparse vector over `buckets` (a power of two) hashed features:
/// word n-grams of lowercased tokens (1…`wordNgrams`) and, when `charMin > 0`, character n-grams
/// of each lowercased token padded with spaces (scikit-learn's `char_wb`). Values are
/// `(1 + log tf) · idf` (sublinear tf) or `tf · idf`, then the row is scaled to unit L2 norm.
struct TextFeaturizer: Sendable {
    var wordNgrams: Int
    var charMin: Int
    var charMax: Int
    var bucketBits: Int
    var sublinearTF: Bool
    /// Adds `NOT_word` features for words between a negator (not, n't, no, never, …) and the
    /// next clause punctuation, the classic sentiment-analysis negation scope.
    var negation: Bool = false
    /// Multiplier of character n-gram values before L2 normalisation (1 = same footing as words).
    /// Below 1, word features take a larger share of the unit norm, which amounts to a weaker L2
    /// penalty on them relative to the character n-grams. When ≠ 1, character ids carry `charTag`
    /// from `hashedIDs` until `weightRows` (or prediction) has applied the multiplier.
    var charWeight: Float = 1
    var tagged: Bool { charWeight != 1 }
    static let charTag: UInt32 = 0x8000_0000
    static let idMask: Int32 = 0x7FFF_FFFF
    /// Per-bucket weight (idf, times an optional Naive-Bayes ratio); 0 for buckets unseen in training.
    var weights: [Float] = []

    var buckets: Int { 1 << bucketBits }
    var mask: UInt64 { UInt64(buckets - 1) }

    /// Chunks that batch loops over texts are cut into: several per core, so that a core slowed
    /// down by other processes hands its share to the others (GCD runs the chunks on one thread
    /// per core). Results are merged in chunk order, so they do not depend on this number.
    static let chunkCount = Parallel.processorCount * 8

    /// Per-thread scratch space, reused across texts.
    struct Scratch {
        var scalars: [UInt32] = []
        var spans: [TokenSpan] = []
        var tokenHashes: [UInt64] = []
        var ids: [UInt32] = []
        var table: [UInt32] = []
        var keys: [UInt64] = []
        var termIDs: [Int32] = []
        var termCounts: [Float] = []
        var generation: UInt32 = 0
        init() {
            scalars.reserveCapacity(1024)
            spans.reserveCapacity(256)
            tokenHashes.reserveCapacity(256)
            ids.reserveCapacity(4096)
        }
    }

    @inline(__always) static func lower(_ c: UInt32) -> UInt32 {
        if c < 0x80 { return c &- 65 < 26 ? c | 0x20 : c }
        guard let s = Unicode.Scalar(c), s.properties.changesWhenLowercased else { return c }
        return s.properties.lowercaseMapping.unicodeScalars.first?.value ?? c
    }

    /// Appends the lowercased scalar values of `text`; ASCII bytes take a fast path.
    static func appendLoweredScalars(of text: String, to out: inout [UInt32]) {
        var text = text
        let done: Bool = text.withUTF8 { bytes in
            var ascii = true
            for b in bytes where b >= 0x80 { ascii = false; break }
            guard ascii else { return false }
            for b in bytes { out.append(UInt32(b &- 65 < 26 ? b | 0x20 : b)) }
            return true
        }
        if !done {
            for s in text.unicodeScalars { out.append(lower(s.value)) }
        }
    }

    static func tokenHash(_ word: String) -> UInt64 {
        var h = FeatureHasher(seed: 1)
        for c in word.unicodeScalars { h.add(lower(c.value)) }
        return h.value
    }
    static let negators: Set<UInt64> = Set(["not", "n't", "no", "never", "nothing", "neither", "nor", "none",
                                            "nobody", "without", "hardly", "barely", "cannot", "nowhere"].map(tokenHash))
    static let scopeEnders: Set<UInt64> = Set([".", ",", "!", "?", ";", ":", "but", "--", "-", "...", "however", "yet"].map(tokenHash))

    /// Fills `scratch.ids` with the (unsorted, repeated) bucket ids of `text`.
    func hashedIDs(_ text: String, _ scratch: inout Scratch) {
        scratch.scalars.removeAll(keepingCapacity: true)
        Self.appendLoweredScalars(of: text, to: &scratch.scalars)
        scratch.spans.removeAll(keepingCapacity: true)
        scratch.tokenHashes.removeAll(keepingCapacity: true)
        scratch.ids.removeAll(keepingCapacity: true)
        let mask = self.mask
        let negation = self.negation
        let charTag: UInt32 = tagged ? Self.charTag : 0
        scratch.scalars.withUnsafeBufferPointer { s in
            Tokenizer.spans(of: s, into: &scratch.spans)
            var negated = false
            for span in scratch.spans {
                var h = FeatureHasher(seed: 1)
                for i in Int(span.start)..<Int(span.end) { h.add(s[i]) }
                let th = h.value
                scratch.tokenHashes.append(th)
                scratch.ids.append(UInt32(truncatingIfNeeded: mixHash(th, 0x11) & mask))
                if negation {
                    if negated { scratch.ids.append(UInt32(truncatingIfNeeded: mixHash(th, 0x22) & mask)) }
                    if Self.negators.contains(th) { negated = true }
                    else if Self.scopeEnders.contains(th) { negated = false }
                }
                if charMin > 0 {
                    // Character n-grams of " token ", capped so one huge token cannot dominate;
                    // one running hash per start position emits every length in charMin…charMax.
                    let lo = Int(span.start) - 1
                    let hi = min(Int(span.end), Int(span.start) + 40)
                    let length = hi - lo + 1
                    for a in 0..<length {
                        var g = FeatureHasher(seed: 100)
                        let top = min(charMax, length - a)
                        if top < charMin { break }
                        for n in 1...top {
                            let p = lo + a + n - 1
                            g.add(p == lo || p == hi ? 32 : s[p])
                            if n >= charMin { scratch.ids.append(UInt32(truncatingIfNeeded: g.value & mask) | charTag) }
                        }
                    }
                }
            }
        }
        if wordNgrams >= 2 {
            let count = scratch.tokenHashes.count
            for n in 2...wordNgrams where n <= count {
                for a in 0...(count - n) {
                    var h = UInt64(n) &* 0x5851_F42D_4C95_7F2D
                    for k in a..<(a + n) { h = mixHash(h, scratch.tokenHashes[k]) }
                    scratch.ids.append(UInt32(truncatingIfNeeded: h & mask))
                }
            }
        }
    }

    /// Merges repeated `ids` into (bucket, term count) pairs appended to `indices`/`counts`, in
    /// first-occurrence order, with an open-addressing table whose slots are valid only when
    /// their stamp (the high half of the key) equals the current generation, so nothing is
    /// cleared between texts. One probe reads one key: `generation << 32 | id`.
    static func countTerms(_ ids: [UInt32], scratch: inout Scratch, indices: inout [Int32], counts: inout [Float]) {
        let n = ids.count
        guard n > 0 else { return }
        var size = 64
        while size < 2 * n { size <<= 1 }
        if scratch.keys.count < size {
            scratch.keys = [UInt64](repeating: 0, count: size)
            scratch.table = [UInt32](repeating: 0, count: size)
            scratch.generation = 0
        }
        if scratch.termIDs.count < n {
            scratch.termIDs = [Int32](repeating: 0, count: n)
            scratch.termCounts = [Float](repeating: 0, count: n)
        }
        scratch.generation &+= 1
        if scratch.generation == 0 {
            for i in 0..<scratch.keys.count { scratch.keys[i] = 0 }
            scratch.generation = 1
        }
        let stamp = UInt64(scratch.generation) << 32
        let mask = size - 1
        var distinct = 0
        scratch.keys.withUnsafeMutableBufferPointer { keyb in
        scratch.table.withUnsafeMutableBufferPointer { tb in
        scratch.termIDs.withUnsafeMutableBufferPointer { idb in
        scratch.termCounts.withUnsafeMutableBufferPointer { cb in
        ids.withUnsafeBufferPointer { ib in
            let keys = keyb.baseAddress!, t = tb.baseAddress!, outID = idb.baseAddress!, outCount = cb.baseAddress!
            for id in ib {
                let key = stamp | UInt64(id)
                var slot = Int(truncatingIfNeeded: (UInt64(id) &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
                while true {
                    let k = keys[slot]
                    if k == key {
                        outCount[Int(t[slot])] += 1
                        break
                    }
                    if k & 0xFFFF_FFFF_0000_0000 != stamp {
                        keys[slot] = key
                        t[slot] = UInt32(truncatingIfNeeded: distinct)
                        outID[distinct] = Int32(bitPattern: id)
                        outCount[distinct] = 1
                        distinct += 1
                        break
                    }
                    slot = (slot + 1) & mask
                }
            }
            indices.append(contentsOf: UnsafeBufferPointer(start: outID, count: distinct))
            counts.append(contentsOf: UnsafeBufferPointer(start: outCount, count: distinct))
        }
        }
        }
        }
        }
    }

    /// Applies tf weighting, the per-bucket weights and L2 normalisation to one row in place.
    func weightRow(indices: UnsafeBufferPointer<Int32>, values: UnsafeMutableBufferPointer<Float>) {
        var norm: Float = 0
        let tagged = self.tagged
        let indexMask: Int32 = tagged ? Self.idMask : -1
        let charWeight = self.charWeight
        weights.withUnsafeBufferPointer { w in
            for k in 0..<values.count {
                let tf = values[k]
                var v = (tf == 1 || !sublinearTF ? tf : 1 + logf(tf)) * w[Int(indices[k] & indexMask)]
                if indices[k] < 0 { v *= charWeight }
                values[k] = v
                norm += v * v
            }
        }
        if norm > 0 {
            let scale = 1 / norm.squareRoot()
            for k in 0..<values.count { values[k] *= scale }
        }
    }
}

/// Compressed sparse rows: row r's entries are `indices/values[offsets[r]..<offsets[r+1]]`.
struct SparseRows: Sendable {
    var offsets: [Int] = [0]
    var indices: [Int32] = []
    var values: [Float] = []
    var count: Int { offsets.count - 1 }

    mutating func append(contentsOf other: SparseRows) {
        let base = indices.count
        indices.append(contentsOf: other.indices)
        values.append(contentsOf: other.values)
        for r in 1..<other.offsets.count { offsets.append(base + other.offsets[r]) }
    }
}

extension TextFeaturizer {
    /// Term counts of all texts (unweighted), in parallel; row order = text order. Character ids
    /// still carry `charTag` when `charWeight ≠ 1` (mask with `idMask` to get the bucket).
    func termCounts(_ texts: [String]) -> SparseRows {
        let workers = TextFeaturizer.chunkCount
        let parts = UnsafeSendable(UnsafeMutablePointer<SparseRows>.allocate(capacity: workers))
        parts.value.initialize(repeating: SparseRows(), count: workers)
        defer { parts.value.deinitialize(count: workers); parts.value.deallocate() }
        Parallel.forEachChunk(count: texts.count, workers: workers, minimumPerWorker: 256) { chunk, range in
            var scratch = Scratch()
            var rows = SparseRows()
            rows.offsets.reserveCapacity(range.count + 1)
            for r in range {
                hashedIDs(texts[r], &scratch)
                Self.countTerms(scratch.ids, scratch: &scratch, indices: &rows.indices, counts: &rows.values)
                rows.offsets.append(rows.indices.count)
            }
            parts.value[chunk] = rows
        }
        var all = SparseRows()
        for c in 0..<workers where parts.value[c].count > 0 { all.append(contentsOf: parts.value[c]) }
        return all
    }

    static func stripTags(_ indices: inout [Int32]) {
        indices.withUnsafeMutableBufferPointer { b in
            for i in 0..<b.count { b[i] &= idMask }
        }
    }

    /// Weights every row of `rows` in place (tf transform, bucket weights, character weight, L2
    /// norm) and strips the character tags from its indices.
    func weightRows(_ rows: inout SparseRows) {
        let offsets = rows.offsets
        defer { if tagged { Self.stripTags(&rows.indices) } }
        rows.indices.withUnsafeBufferPointer { ind in
            rows.values.withUnsafeMutableBufferPointer { val in
                let i = UnsafeSendable(ind), v = UnsafeSendable(val)
                Parallel.forEachChunk(count: offsets.count - 1, workers: TextFeaturizer.chunkCount, minimumPerWorker: 1024) { _, range in
                    for r in range {
                        let lo = offsets[r], hi = offsets[r + 1]
                        weightRow(indices: UnsafeBufferPointer(rebasing: i.value[lo..<hi]),
                                  values: UnsafeMutableBufferPointer(rebasing: v.value[lo..<hi]))
                    }
                }
            }
        }
    }
}
