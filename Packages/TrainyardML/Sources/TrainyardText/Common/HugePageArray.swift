#if canImport(Glibc)
import Glibc
#endif

/// An array of `count` elements whose memory is first advised for transparent huge pages (where
/// the kernel offers them on request), then filled by `initialize`. Large, randomly accessed
/// arrays (CRF parameters and gradients, the expanded training corpus) then take far fewer
/// page faults and TLB misses.
func hugePageArray<T>(count: Int, _ initialize: (UnsafeMutableBufferPointer<T>) -> Void) -> [T] {
    [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        if let base = buffer.baseAddress {
            adviseHugePages(UnsafeMutableRawPointer(base), bytes: count * MemoryLayout<T>.stride)
        }
        initialize(buffer)
        initialized = count
    }
}

/// A zero-filled array advised for huge pages (see ``hugePageArray(count:_:)``).
func hugePageArray<T: BinaryFloatingPoint>(zeros count: Int) -> [T] {
    hugePageArray(count: count) { (b: UnsafeMutableBufferPointer<T>) in b.initialize(repeating: 0) }
}

@inline(__always) func adviseHugePages(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
    #if canImport(Glibc)
    let page = 4096
    guard bytes >= 4 << 20 else { return }
    let start = (Int(bitPattern: pointer) + page - 1) & ~(page - 1)
    let end = (Int(bitPattern: pointer) + bytes) & ~(page - 1)
    if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, 14 /* MADV_HUGEPAGE */) }
    #endif
}
