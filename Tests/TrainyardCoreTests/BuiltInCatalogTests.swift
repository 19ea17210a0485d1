import Foundation
import Testing
@testable import TrainyardCore

/// The algorithm and metric catalogs, and what the spec parser derives from them.
@Suite struct BuiltInCatalogTests {
    func parseError(_ text: String) -> TrainyardError? {
        do { _ = try SpecParser().parse(text); return nil } catch { return error }
    }

    @Test func everyNativeTaskHasADefaultAlgorithmAndCommandHasNone() {
        #expect(TaskKind.tabularRegression.defaultAlgorithm == "gbdt")
        #expect(TaskKind.tabularClassification.algorithms.map(\.name) == ["gbdt", "mlp", "linear"])
        #expect(TaskKind.textClassification.defaultAlgorithm == "logistic-regression")
        #expect(TaskKind.ner.defaultAlgorithm == "crf")
        #expect(TaskKind.command.algorithms.isEmpty)
        #expect(Set(BuiltInAlgorithm.names).count == BuiltInAlgorithm.all.count)
    }

    @Test func algorithmOfAnotherTaskIsRefusedNamingTheTasksOwn() throws {
        let error = try #require(parseError("name: m\ntask: ner\ndata: { train: a.conll }\nmodel: { algorithm: gbdt }\n"))
        let detail = try #require(error.details.first { $0.path == "model.algorithm" })
        #expect(detail.message == "unknown algorithm \"gbdt\" for ner; expected crf")
        #expect(detail.line == 4)
        let tabular = try #require(parseError("name: m\ntask: tabular-regression\ndata: { train: a, target: y }\nmodel: { algorithm: crf }\n"))
        #expect(tabular.details.first?.message == "unknown algorithm \"crf\" for tabular-regression; expected gbdt, mlp or linear")
        #expect(parseError("name: m\ntask: ner\ndata: { train: a.conll }\nmodel: { algorithm: crf }\n") == nil)
        #expect(parseError("name: m\ntask: command\ncommand: [x]\nmodel: { algorithm: my-own }\n") == nil)
    }

    @Test func metricDirectionsComeFromTheCatalog() {
        for metric in BuiltInMetric.all {
            #expect(MetricDirection(of: metric.name) == metric.direction, "\(metric.name)")
            #expect(MetricDirection.known[metric.name] == metric.direction, "\(metric.name)")
        }
        #expect(BuiltInMetric.names == ["rmse", "mae", "r2", "accuracy", "macro_f1", "logloss", "auc", "f1", "precision", "recall"])
    }

    @Test func promoteMetricIsCheckedAgainstTheCatalog() throws {
        let error = try #require(parseError("name: m\ntask: tabular-regression\ndata: { train: a, target: y }\npromote: { alias: production, metric: rsme }\n"))
        #expect(error.details.first?.message == "unknown metric \"rsme\"; built-in metrics: \(BuiltInMetric.names.joined(separator: ", "))")
    }

    @Test func specDefaultsAreTheSameEverywhere() throws {
        let parsed = try SpecParser().parse("name: m\ntask: tabular-regression\ndata: { train: a, target: y }\n").spec
        let built = Spec(name: try ModelName("m"), task: .tabularRegression)
        let decoded = try JSON.decode(Spec.self, from: Data(#"{"name":"m","task":"tabular-regression"}"#.utf8))
        for spec in [parsed, built, decoded] {
            #expect(spec.retries == Spec.Defaults.retries && spec.timeout == Spec.Defaults.timeout)
            #expect(spec.priority == Spec.Defaults.priority && spec.seed == Spec.Defaults.seed)
        }
    }
}
