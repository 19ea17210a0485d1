import Dispatch

/// A pointer or value handed to worker threads that write disjoint parts of it.
struct UnsafeSendable<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body(chunkIndex, range)` over `0..<count` split into at most `workers` contiguous chunks.
///
/// Chunks are fixed by `count` and `workers` only, so results combined in chunk order are
/// deterministic regardless of scheduling. Runs inline when `count < minimumPerWorker * 2`.
func parallelChunks(count: Int, workers: Int = activeWorkerCount, minimumPerWorker: Int = 1,
                    _ body: @Sendable (Int, Range<Int>) -> Void) {
    let chunks = max(1, min(workers, count / max(minimumPerWorker, 1)))
    if chunks <= 1 {
        body(0, 0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let lo = count * c / chunks
        let hi = count * (c + 1) / chunks
        body(c, lo..<hi)
    }
}

/// Number of worker threads used for parallel loops (the active processor count, at least 1).
let activeWorkerCount: Int = {
    #if canImport(Glibc)
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    #else
    return max(1, ProcessInfo.processInfo.activeProcessorCount)
    #endif
}()

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// `DispatchQueue.concurrentPerform` with a `@Sendable` body.
enum DispatchQueueShim {
    static func concurrentPerform(iterations: Int, _ body: @Sendable (Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: iterations) { body($0) }
    }
}

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
