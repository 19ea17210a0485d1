import Foundation

/// An artifact store whose writes can be cut short by a killed writer and leave temporary
/// files behind (a folder's `.tmp-*` files). A worker pool sweeps those no live writer can own
/// any more when it starts; stores that leave nothing behind simply do not conform.
///
/// A port of its own, so the runtime can ask for the sweep without knowing the store's type.
public protocol InterruptedWriteSweeping: Sendable {
    /// Removes temporary files untouched for longer than `age` seconds before `now`; returns
    /// how many were removed and their bytes.
    func removeStaleTemporaryFiles(olderThan age: TimeInterval, now: Date) -> (files: Int, bytes: Int64)
}
