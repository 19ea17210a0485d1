/// 64-bit FNV-1a style streaming hash with a final avalanche, used for feature ids.
struct FeatureHasher {
    private(set) var state: UInt64

    @inline(__always) init(seed: UInt64) { state = 0xCBF2_9CE4_8422_2325 ^ (seed &* 0x9E37_79B9_7F4A_7C15) }

    @inline(__always) mutating func add(_ v: UInt32) {
        state = (state ^ UInt64(v)) &* 0x0000_0100_0000_01B3
    }

    @inline(__always) mutating func add(_ v: UInt64) {
        state = (state ^ v) &* 0x0000_0100_0000_01B3
    }

    @inline(__always) var value: UInt64 {
        var z = state
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return z ^ (z >> 33)
    }
}

@inline(__always) func mixHash(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var z = a ^ (b &+ 0x9E37_79B9_7F4A_7C15 &+ (a << 6) &+ (a >> 2))
    z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
    z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
    return z ^ (z >> 33)
}
