import ArgumentParser
import Foundation
import TrainyardCore
import TrainyardServing

struct Evaluate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Metrics of a model version on labelled data (rmse/mae/r2, accuracy/macro_f1/logloss/auc, precision/recall/f1 + per_type).",
        discussion: "With --server the data file is uploaded as a blob and the server scores it."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Model reference: NAME, NAME@ALIAS or NAME:VERSION.")
    var reference: String

    @Option(help: "Labelled data in the training data's format (CSV/TSV, JSONL, fastText, CoNLL): a local file or s3://bucket/key.")
    var data: String

    func run() async throws {
        let ref = try ModelReference(parsing: reference)
        let location: String
        if data.lowercased().hasPrefix("s3://") {
            location = data
        } else {
            location = URL(fileURLWithPath: data).path
            // Checked before anything is opened: a mistyped path opens no store and reaches no server.
            guard FileManager.default.isReadableFile(atPath: location) else {
                throw TrainyardError(.invalidArgument, "--data \(data): file does not exist or is not readable")
            }
        }
        let result = try await global.controlPlane().evaluate(ref, data: location)
        if global.json { return try printJSON(result) }
        let shown = location.split(separator: "/").last.map(String.init) ?? location
        print("\(result.model):\(result.version) on \(shown) (\(result.rows) rows, \(String(format: "%.2f", result.seconds)) s)")
        var table = Table("METRIC", "VALUE")
        for (k, v) in result.metrics.sorted(by: { $0.key < $1.key }) { table.add(k, String(format: "%.6g", v)) }
        print(table.render())
        if let perType = result.perType {
            var t = Table("TYPE", "PRECISION", "RECALL", "F1", "SUPPORT")
            for (type, m) in perType.sorted(by: { $0.key < $1.key }) {
                t.add(type, Format.number(m["precision"] ?? 0), Format.number(m["recall"] ?? 0), Format.number(m["f1"] ?? 0),
                      m["support"].map { String(Int($0)) } ?? "-")
            }
            print(t.render())
        }
    }
}
