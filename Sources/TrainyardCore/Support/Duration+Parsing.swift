/// Human durations as written in specs and flags: `90s`, `30m`, `2h`, `1d`, `500ms`, or a
/// bare number of seconds.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count)
            // "ms" must not be read as "m" + "s": try the longest suffix first (listed first).
            // `exactly`: a huge number is no duration (not a trap converting it).
            if let v = Double(number), v >= 0, v.isFinite { return Int64(exactly: (v * scale * 1000).rounded()).map { .milliseconds($0) } }
            if suffix == "ms" { continue }
        }
        if let v = Double(t), v >= 0, v.isFinite { return Int64(exactly: (v * 1000).rounded()).map { .milliseconds($0) } }
        return nil
    }

    public static func format(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        if s < 1 { return "\(Int((s * 1000).rounded()))ms" }
        if s < 60 { return String(format: "%.1fs", s) }
        if s < 3600 { return "\(Int(s) / 60)m\(String(format: "%02d", Int(s) % 60))s" }
        return "\(Int(s) / 3600)h\(String(format: "%02d", (Int(s) % 3600) / 60))m"
    }
}

extension Duration {
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

import Foundation
