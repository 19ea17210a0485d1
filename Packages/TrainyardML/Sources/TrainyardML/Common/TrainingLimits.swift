#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How far the data may push a training run: most classes, most input columns, and the memory
/// a run may plan to allocate for its data-sized arrays (weights of classes × features, scores
/// of rows × classes, histograms of leaves × bins…).
///
/// A learner checks these before it allocates, so data that would need 256 GB fails at once
/// with a reason instead of aborting the process. The names in error messages are the server's
/// configuration keys (`limits.classes`, `limits.features`, `limits.train_memory_bytes`), so
/// the person reading a failed job knows what to raise; the library itself reads no
/// configuration.
public struct TrainingLimits: Sendable, Equatable {
    /// `limits.classes`: most distinct labels a classifier may be trained on.
    public var classes: Int
    /// `limits.features`: most input (feature) columns.
    public var features: Int
    /// `limits.train_memory_bytes`: most bytes the data-sized arrays of one run may take.
    public var memoryBytes: Int

    public init(classes: Int = 10_000, features: Int = 10_000, memoryBytes: Int = TrainingLimits.defaultMemoryBytes) {
        self.classes = classes
        self.features = features
        self.memoryBytes = memoryBytes
    }

    /// Half of the machine's physical memory (4 GiB when it cannot be read): room for the
    /// server beside one training run.
    public static let defaultMemoryBytes: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 4 << 30 }
        let (bytes, overflow) = Int(pages).multipliedReportingOverflow(by: Int(pageSize))
        return overflow ? Int.max / 2 : bytes / 2
    }()

    /// Throws unless `count` distinct labels fit `classes`.
    /// - Parameter source: what holds the labels, for the message (`data.train`).
    public func checkClasses(_ count: Int, in source: String) throws(TrainingLimitError) {
        guard count > classes else { return }
        throw TrainingLimitError(key: "limits.classes", "\(source) has \(count) distinct labels; limits.classes allows \(classes)")
    }

    /// Throws unless `count` input columns fit `features`.
    public func checkFeatures(_ count: Int, in source: String) throws(TrainingLimitError) {
        guard count > features else { return }
        throw TrainingLimitError(key: "limits.features", "\(source) has \(count) feature columns; limits.features allows \(features)")
    }
}

/// A training run that would exceed one of its `TrainingLimits`; `key` is the limit's
/// configuration key. Retrying cannot help: the same data hits the same limit.
public struct TrainingLimitError: Error, Sendable, Equatable, CustomStringConvertible {
    public let key: String
    public let description: String

    public init(key: String, _ description: String) {
        self.key = key
        self.description = description
    }
}

/// The large arrays a learner is about to allocate, each a product of sizes taken from the
/// data or the parameters, summed with overflow-checked arithmetic and compared with
/// `TrainingLimits.memoryBytes` before anything is allocated.
///
/// ```swift
/// var plan = MemoryPlan("gbdt")
/// plan.add("scores (rows × classes)", rows, classes, 8)
/// try plan.check(limits, advice: "use fewer classes")
/// ```
public struct MemoryPlan: Sendable {
    public let learner: String
    /// Each array: what it is and its bytes (nil: the product overflows an Int).
    public private(set) var items: [(name: String, bytes: Int?)] = []

    public init(_ learner: String) { self.learner = learner }

    /// Adds an array of `factors` multiplied together (the last one usually the element size).
    public mutating func add(_ name: String, _ factors: Int...) {
        items.append((name, Self.product(factors)))
    }

    /// Adds an array whose size was computed with `product` / `sum` (nil: overflowed).
    public mutating func add(_ name: String, bytes: Int?) {
        items.append((name, bytes))
    }

    /// The sum of `values`, or nil when one is nil or the sum overflows.
    public static func sum(_ values: [Int?]) -> Int? {
        var total = 0
        for v in values {
            guard let v else { return nil }
            let (s, overflow) = total.addingReportingOverflow(v)
            if overflow { return nil }
            total = s
        }
        return total
    }

    /// The product of `factors`, or nil when it overflows (or a factor is negative).
    public static func product(_ factors: [Int]) -> Int? {
        var total = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (p, overflow) = total.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            total = p
        }
        return total
    }

    /// The sum of every array, or nil when it overflows.
    public var totalBytes: Int? { Self.sum(items.map(\.bytes)) }

    /// Throws `TrainingLimitError` (`limits.train_memory_bytes`) when the arrays would not fit,
    /// naming the largest one and `advice` (what to change).
    public func check(_ limits: TrainingLimits, advice: String) throws(TrainingLimitError) {
        let total = totalBytes
        if let total, total <= limits.memoryBytes { return }
        let largest = items.max { ($0.bytes ?? .max) < ($1.bytes ?? .max) }
        let need = total.map { "about \(Self.format($0))" } ?? "more memory than can be addressed"
        let part = largest.map { " (the largest part: \($0.name), \($0.bytes.map(Self.format) ?? "overflowing"))" } ?? ""
        throw TrainingLimitError(key: "limits.train_memory_bytes",
            "\(learner) would need \(need)\(part); limits.train_memory_bytes allows \(Self.format(limits.memoryBytes)); \(advice)")
    }

    /// Bytes in binary units, one decimal ("3.5 GiB").
    public static func format(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        if unit == 0 { return "\(bytes) bytes" }
        let tenths = (value * 10).rounded() / 10
        return "\(tenths) \(units[unit])"
    }
}
