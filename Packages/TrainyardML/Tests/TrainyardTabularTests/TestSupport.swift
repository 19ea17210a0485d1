import Foundation
import TrainyardML
@testable import TrainyardTabular

/// Shared data helpers for the tabular tests.
enum TestData {
    /// The repository's bundled example data (`examples/`, with its licence notes), found
    /// relative to this file, so the tests run on any clone.
    static let examples: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../../../examples").standardized

    static func example(_ path: String) -> [UInt8]? {
        let url = examples.appendingPathComponent(path)
        return FileManager.default.contents(atPath: url.path).map { [UInt8]($0) }
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// y = 3·x1 − 2·x2 + effect(color) + noise; one categorical column; some missing x2.
    static func regressionCSV(rows: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        var s = "x1,x2,color,y\n"
        let colors = ["red", "green", "blue"]
        let effect = ["red": 2.0, "green": -1.0, "blue": 0.0]
        for i in 0..<rows {
            let x1 = rng.nextUnit() * 4 - 2, x2 = rng.nextUnit() * 4 - 2
            let c = colors[Int(rng.next() % 3)]
            let y = 3 * x1 - 2 * x2 + effect[c]! + rng.nextGaussian() * 0.1
            let x2s = i % 50 == 7 ? "NA" : String(format: "%.4f", x2)
            s += String(format: "%.4f", x1) + ",\(x2s),\(c)," + String(format: "%.4f", y) + "\n"
        }
        return bytes(s)
    }

    /// Classes by quadrant-ish rule: "a" if x1 + x2 > 0.5, "c" if x1 − x2 > 0.5, else "b".
    static func classificationCSV(rows: Int, seed: UInt64, classes: Int = 3) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        var s = "x1,x2,shape,label\n"
        for _ in 0..<rows {
            let x1 = rng.nextUnit() * 4 - 2, x2 = rng.nextUnit() * 4 - 2
            let label: String
            if classes == 2 { label = x1 + x2 > 0 ? "yes" : "no" }
            else { label = x1 + x2 > 0.5 ? "a" : (x1 - x2 > 0.5 ? "c" : "b") }
            let shape = ["round", "square"][Int(rng.next() % 2)]
            s += String(format: "%.4f,%.4f", x1, x2) + ",\(shape),\(label)\n"
        }
        return bytes(s)
    }

    /// Header plus `rows` rows of a shared CSV, starting after `skip` rows.
    static func slice(_ csv: [UInt8], skip: Int, rows: Int) -> [UInt8] {
        let lines = String(decoding: csv, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        let body = lines.dropFirst(1 + skip).prefix(rows)
        return bytes(([lines[0]] + body).joined(separator: "\n") + "\n")
    }
}

/// Records every report; stops after `stopAfter` reports when set.
final class RecordingObserver: TrainingObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var _reports: [EpochReport] = []
    let stopAfter: Int?
    init(stopAfter: Int? = nil) { self.stopAfter = stopAfter }
    var reports: [EpochReport] { lock.withLock { _reports } }
    func epochFinished(_ report: EpochReport) -> Bool {
        lock.withLock {
            _reports.append(report)
            if let stopAfter { return _reports.count < stopAfter }
            return true
        }
    }
}
