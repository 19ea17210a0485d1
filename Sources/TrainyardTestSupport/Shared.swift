import Synchronization

/// A value shared by concurrent test clients (counters, failure lists, stop flags).
public final class Shared<T: Sendable>: Sendable {
    private let value: Mutex<T>
    public init(_ value: T) { self.value = Mutex(value) }
    public func withLock<R: Sendable>(_ body: (inout T) -> R) -> R { value.withLock { body(&$0) } }
}
