import ArgumentParser
import Foundation
import TrainyardApp
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime

struct Evaluate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Metrics of a model version on labelled data (rmse/mae/r2, accuracy/macro_f1/logloss/auc, precision/recall/f1 + per_type)."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Model reference: NAME, NAME@ALIAS or NAME:VERSION.")
    var reference: String

    @Option(help: "Labelled data in the training data's format (CSV/TSV, JSONL, fastText, CoNLL).")
    var data: String

    func run() async throws {
        let ref = try ModelReference(parsing: reference)
        let file = URL(fileURLWithPath: data)
        guard let bytes = FileManager.default.contents(atPath: file.path) else {
            throw TrainyardError(.invalidArgument, "--data \(data): file does not exist or is not readable")
        }
        let configuration = try await global.loadConfiguration()
        guard configuration.serverURL == nil else {
            throw TrainyardError(.invalidArgument, "evaluate reads the model from the local store; run it without --server/TRAINYARD_URL on a machine that shares the store")
        }
        let services = try await makeApp(configuration).services
        let version = try await services.store.resolve(ref)
        let model = try await NativeModel.load(version, reader: ArtifactReader(artifacts: services.artifacts))
        let spec = try await services.store.job(version.jobID ?? -1)?.spec
        let started = ContinuousClock.now
        let report = try await runBlocking {
            try model.evaluate(data: [UInt8](bytes), format: spec?.data.format, textColumn: spec?.data.textColumn, labelColumn: spec?.data.labelColumn)
        }
        let seconds = (ContinuousClock.now - started).seconds
        struct Output: Encodable {
            var model: String
            var version: Int
            var data: String
            var rows: Int
            var seconds: Double
            var metrics: [String: Double]
            var perType: [String: [String: Double]]?
            enum CodingKeys: String, CodingKey { case model, version, data, rows, seconds, metrics, perType = "per_type" }
        }
        let output = Output(model: version.model.rawValue, version: version.version, data: file.path, rows: report.rows,
                            seconds: seconds, metrics: report.metrics, perType: report.perType)
        if global.json { return try printJSON(output) }
        print("\(version.model):\(version.version) on \(file.lastPathComponent) (\(report.rows) rows, \(String(format: "%.2f", seconds)) s)")
        var table = Table("METRIC", "VALUE")
        for (k, v) in report.metrics.sorted(by: { $0.key < $1.key }) { table.add(k, String(format: "%.6g", v)) }
        print(table.render())
        if let perType = report.perType {
            var t = Table("TYPE", "PRECISION", "RECALL", "F1", "SUPPORT")
            for (type, m) in perType.sorted(by: { $0.key < $1.key }) {
                t.add(type, Format.number(m["precision"] ?? 0), Format.number(m["recall"] ?? 0), Format.number(m["f1"] ?? 0),
                      m["support"].map { String(Int($0)) } ?? "-")
            }
            print(t.render())
        }
    }
}
