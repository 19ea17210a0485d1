/// Open-addressing map from 64-bit attribute hashes to dense ids (0, 1, 2, … in insertion order).
///
/// Flat arrays, linear probing, load factor ≤ 0.5; key 0 is reserved as "empty" (a hash of 0 is
/// remapped to 1). Much faster than `Dictionary` for the millions of lookups of NER tagging.
struct AttributeTable: Sendable {
    private(set) var keys: [UInt64]
    private(set) var values: [Int32]
    private(set) var count = 0
    private var mask: Int

    init(capacity: Int = 1024) {
        var size = 1024
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    @inline(__always) static func fix(_ key: UInt64) -> UInt64 { key == 0 ? 1 : key }

    @inline(__always) func find(_ key: UInt64) -> Int32 {
        let key = Self.fix(key)
        var slot = Int(truncatingIfNeeded: key >> 20) & mask
        return keys.withUnsafeBufferPointer { k in
            while true {
                let e = k[slot]
                if e == key { return values[slot] }
                if e == 0 { return -1 }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The id of `key`, inserting it with the next id if absent.
    @inline(__always) mutating func insert(_ key: UInt64) -> Int32 {
        if count * 2 >= keys.count { grow() }
        let key = Self.fix(key)
        var slot = Int(truncatingIfNeeded: key >> 20) & mask
        while true {
            let e = keys[slot]
            if e == key { return values[slot] }
            if e == 0 {
                keys[slot] = key
                values[slot] = Int32(count)
                count += 1
                return values[slot]
            }
            slot = (slot + 1) & mask
        }
    }

    /// Inserts `key` with an explicit id (used when rebuilding a filtered table).
    mutating func set(_ key: UInt64, _ id: Int32) {
        if count * 2 >= keys.count { grow() }
        let key = Self.fix(key)
        var slot = Int(truncatingIfNeeded: key >> 20) & mask
        while keys[slot] != 0 && keys[slot] != key { slot = (slot + 1) & mask }
        if keys[slot] == 0 { count += 1 }
        keys[slot] = key
        values[slot] = id
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: 0, count: oldKeys.count * 2)
        values = [Int32](repeating: -1, count: oldKeys.count * 2)
        mask = keys.count - 1
        for i in 0..<oldKeys.count where oldKeys[i] != 0 {
            var slot = Int(truncatingIfNeeded: oldKeys[i] >> 20) & mask
            while keys[slot] != 0 { slot = (slot + 1) & mask }
            keys[slot] = oldKeys[i]
            values[slot] = oldValues[i]
        }
    }

    /// (key, id) pairs in id order.
    func entries() -> [(UInt64, Int32)] {
        var out: [(UInt64, Int32)] = []
        out.reserveCapacity(count)
        for i in 0..<keys.count where keys[i] != 0 { out.append((keys[i], values[i])) }
        return out.sorted { $0.1 < $1.1 }
    }
}
