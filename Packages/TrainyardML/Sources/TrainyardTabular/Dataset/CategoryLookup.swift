/// Finds a category's index from a field's UTF-8 bytes without making a String: an open-addressing
/// table over a hash of the bytes, for the scoring hot path (a String and a `Dictionary` lookup
/// per categorical field were a tenth of batch scoring's time).
///
/// Byte-equal is String-equal, so a hit is exactly the category a `[String: Int]` lookup would
/// find. A miss is not final: Swift compares strings by canonical equivalence (a decomposed `é`
/// equals the precomposed one), so callers fall back to the dictionary on a miss — which is rare
/// (an unknown category), so it costs nothing in the common case.
struct CategoryLookup: Sendable {
    /// Every category's bytes back to back; category `k` ends at `ends[k]`.
    private let bytes: [UInt8]
    private let ends: [Int]
    /// Category index + 1 per slot, 0 for empty; a power-of-two count at least twice the categories.
    private let slots: [Int32]

    init(_ categories: [String]) {
        var bytes: [UInt8] = [], ends: [Int] = []
        for c in categories {
            bytes.append(contentsOf: c.utf8)
            ends.append(bytes.count)
        }
        var size = 8
        while size < 2 * categories.count { size <<= 1 }
        var slots = [Int32](repeating: 0, count: size)
        bytes.withUnsafeBufferPointer { all in
            for k in categories.indices {
                let start = k == 0 ? 0 : ends[k - 1]
                var s = Int(truncatingIfNeeded: Self.hash(UnsafeBufferPointer(rebasing: all[start..<ends[k]]))) & (size - 1)
                while slots[s] != 0 { s = (s + 1) & (size - 1) }
                slots[s] = Int32(k + 1)
            }
        }
        self.bytes = bytes
        self.ends = ends
        self.slots = slots
    }

    /// The index of the category whose bytes are `value`'s; nil when none is (see the type's
    /// comment: then ask the dictionary).
    @inline(__always)
    func index(of value: UnsafeBufferPointer<UInt8>) -> Int? {
        slots.withUnsafeBufferPointer { slots in
            bytes.withUnsafeBufferPointer { all in
                ends.withUnsafeBufferPointer { ends in
                    let mask = slots.count - 1
                    var s = Int(truncatingIfNeeded: Self.hash(value)) & mask
                    while true {
                        let entry = Int(slots[s])
                        if entry == 0 { return nil }
                        let k = entry - 1
                        let start = k == 0 ? 0 : ends[k - 1]
                        if ends[k] - start == value.count && memoryEqual(all.baseAddress.map { $0 + start }, value.baseAddress, value.count) {
                            return k
                        }
                        s = (s + 1) & mask
                    }
                }
            }
        }
    }

    /// FNV-1a, 64-bit: a few cycles per byte for the short names categories have.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }

    @inline(__always)
    private func memoryEqual(_ a: UnsafePointer<UInt8>?, _ b: UnsafePointer<UInt8>?, _ count: Int) -> Bool {
        guard count > 0 else { return true }
        guard let a, let b else { return false }
        for i in 0..<count where a[i] != b[i] { return false }
        return true
    }
}
