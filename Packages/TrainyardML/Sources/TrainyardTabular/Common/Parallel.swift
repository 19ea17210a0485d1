import Dispatch

/// Work splitting for the two-core machines Trainyard targets.
///
/// Work items are split by a fixed rule (never by thread timing), so parallel sums are
/// reproducible: every chunk's boundaries depend only on the item count.
enum Parallel {
    /// Number of workers used for CPU-bound loops.
    static let workers: Int = max(1, min(System.activeProcessorCount, 8))

    /// Runs `body(chunk, range)` for `chunks` contiguous ranges covering `0..<count`,
    /// concurrently when `chunks > 1`.
    static func forEachChunk(count: Int, chunks: Int, _ body: (Int, Range<Int>) -> Void) {
        let n = max(1, min(chunks, count))
        if n == 1 {
            body(0, 0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            // concurrentPerform returns only after every iteration ran, so `body` never
            // outlives this call; callers give each chunk disjoint memory to write.
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: n) { c in
                let lo = count * c / n
                let hi = count * (c + 1) / n
                shared.value(c, lo..<hi)
            }
        }
    }

    /// How many chunks to use for `count` items when parallelism pays off above `threshold`.
    static func chunks(for count: Int, threshold: Int) -> Int {
        count >= threshold ? workers : 1
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

enum System {
    static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 2
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
