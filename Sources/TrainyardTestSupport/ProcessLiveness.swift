import Foundation

/// Whether process `pid` is running, and not a zombie waiting for a parent that does not reap
/// (PID 1 in some containers never does): what tests of child-process lifetimes ask.
public func isProcessRunning(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state != "Z" && state != "X"
}
