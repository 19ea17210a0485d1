/// A raw buffer handed to parallel workers that write disjoint parts of it.
///
/// `@unchecked Sendable` because the callers guarantee disjoint access (each worker owns its
/// row range or its own scratch buffer); never share one across overlapping writes.
struct SharedBuffer<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    let count: Int

    static func allocate(_ count: Int, initialValue: Element) -> SharedBuffer {
        let p = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
        p.initialize(repeating: initialValue, count: max(count, 1))
        return SharedBuffer(base: p, count: count)
    }

    func deallocate() { base.deallocate() }

    @inline(__always) subscript(i: Int) -> Element {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}
