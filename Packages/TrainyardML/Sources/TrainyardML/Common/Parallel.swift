import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one parallel-loop helper of the learners, for the two-core machines Trainyard targets.
///
/// Work items are split by a fixed rule (never by thread timing), so parallel sums are
/// reproducible: every chunk's boundaries depend only on the item count and the chunk count.
public enum Parallel {
    /// Online processors (at least 1).
    public static let processorCount: Int = {
        #if canImport(Glibc) || canImport(Darwin)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 2
        #endif
    }()

    /// Number of workers the tabular learners use for CPU-bound loops (at most 8).
    public static let workers: Int = min(processorCount, 8)

    /// Runs `body(chunk, range)` for `chunks` contiguous ranges covering `0..<count`,
    /// concurrently when `chunks > 1`. Callers give each chunk disjoint memory to write.
    public static func forEachChunk(count: Int, chunks: Int, _ body: (Int, Range<Int>) -> Void) {
        let n = max(1, min(chunks, count))
        if n == 1 {
            body(0, 0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            // concurrentPerform returns only after every iteration ran, so `body` never
            // outlives this call.
            let shared = UncheckedBody(body)
            DispatchQueue.concurrentPerform(iterations: n) { c in
                let lo = count * c / n
                let hi = count * (c + 1) / n
                shared.value(c, lo..<hi)
            }
        }
    }

    /// `forEachChunk` with at most `workers` chunks of at least `minimumPerWorker` items each;
    /// inline when `count < 2 * minimumPerWorker`.
    public static func forEachChunk(count: Int, workers: Int = processorCount, minimumPerWorker: Int,
                                    _ body: (Int, Range<Int>) -> Void) {
        forEachChunk(count: count, chunks: max(1, min(workers, count / max(minimumPerWorker, 1))), body)
    }

    /// How many chunks to use for `count` items when parallelism pays off above `threshold`.
    public static func chunks(for count: Int, threshold: Int) -> Int {
        count >= threshold ? workers : 1
    }
}

private struct UncheckedBody<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
