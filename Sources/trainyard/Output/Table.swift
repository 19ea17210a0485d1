import Foundation
import TrainyardCore

/// Prints rows as an aligned text table (the default output of every listing command).
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: String...) { self.headers = headers }

    mutating func add(_ cells: String...) { rows.append(cells) }

    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

/// Prints `value` as JSON (pretty, sorted keys).
func printJSON<T: Encodable>(_ value: T) throws {
    print(String(decoding: try JSON.encode(value, pretty: true), as: UTF8.self))
}

enum Format {
    static func date(_ d: Date?) -> String {
        guard let d else { return "-" }
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: d)
    }

    static func metrics(_ m: [String: Double], limit: Int = 4) -> String {
        let preferred = BuiltInMetric.names + ["loss"]
        let keys = preferred.filter { m[$0] != nil } + m.keys.filter { !preferred.contains($0) }.sorted()
        return keys.prefix(limit).map { "\($0)=\(number(m[$0]!))" }.joined(separator: " ")
    }

    static func number(_ v: Double) -> String { String(format: "%.4g", v) }

    static func progress(_ job: Job) -> String {
        guard let p = job.progress else { return job.state.rawValue }
        var parts = [job.state.rawValue]
        if let e = p.epoch { parts.append("epoch \(e)" + (p.totalEpochs.map { "/\($0)" } ?? "")) }
        if let l = p.loss { parts.append("loss \(number(l))") }
        if let rows = p.rows {
            parts.append("\(rows) rows" + (p.rowErrors.flatMap { $0 > 0 ? " (\($0) errors)" : nil } ?? ""))
            if let rate = p.rowsPerSecond, job.state == .running { parts.append("\(Int(rate.rounded())) rows/s") }
        }
        if let eta = p.etaSeconds, job.state == .running { parts.append("ETA \(DurationText.format(.milliseconds(Int64(eta * 1000))))") }
        if let m = p.message { parts.append(m) }
        return parts.joined(separator: "  ")
    }
}
