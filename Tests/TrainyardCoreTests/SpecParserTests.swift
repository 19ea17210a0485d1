import Foundation
import Testing
@testable import TrainyardCore

/// Parses `text`, expecting an `.invalidSpec` error; returns it.
func parseError(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> TrainyardError? {
    do {
        let parsed = try SpecParser().parse(text)
        Issue.record("expected an error, parsed \(parsed.spec)", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.code == .invalidSpec, sourceLocation: sourceLocation)
        return error
    }
}

extension TrainyardError {
    func detail(_ path: String) -> Detail? { details.first { $0.path == path } }
}

@Suite("SpecParser")
struct SpecParserTests {
    @Test func parsesAFullYAMLSpec() throws {
        let text = """
            name: diamonds-price
            task: tabular-regression
            data:
              train: data/diamonds.csv
              validation: 0.15
              target: price
              format: csv
            model:
              algorithm: gbdt
              params: { trees: 500, learning_rate: 0.05, loss: "l2", layers: [64, 32], early: true }
            warm_start: production
            promote: { alias: production, metric: rmse }
            retries: 2
            timeout: 30m
            priority: 5
            seed: 7
            tags: { team: pricing }
            """
        let parsed = try SpecParser().parse(text)
        let spec = parsed.spec
        #expect(spec.name.rawValue == "diamonds-price")
        #expect(spec.task == .tabularRegression)
        #expect(spec.data.train == "data/diamonds.csv")
        #expect(spec.data.validation == .fraction(0.15))
        #expect(spec.data.target == "price")
        #expect(spec.data.format == "csv")
        #expect(spec.model.algorithm == "gbdt")
        #expect(spec.model.params["trees"] == .int(500))
        #expect(spec.model.params["learning_rate"] == .double(0.05))
        #expect(spec.model.params["loss"] == .string("l2"))
        #expect(spec.model.params["layers"] == .array([.int(64), .int(32)]))
        #expect(spec.model.params["early"] == .bool(true))
        #expect(spec.warmStart == "production")
        #expect(spec.promote == Promotion(alias: .production, metric: "rmse"))
        #expect(spec.promote?.higherIsBetter == false)
        #expect(spec.retries == 2)
        #expect(spec.timeout == .seconds(1800))
        #expect(spec.priority == 5)
        #expect(spec.seed == 7)
        #expect(spec.tags == ["team": "pricing"])
        #expect(parsed.locations["data.target"] == TrainyardCore.SourceLocation(line: 6, column: 11))
        #expect(parsed.locations["model.params.trees"] != nil)
    }

    @Test func parsesJSONAndRoundTripsThroughTheQueueEncoding() throws {
        let text = """
            {"name": "sentiment", "task": "text-classification",
             "data": {"train": "/data/train.tsv", "validation": "/data/dev.tsv", "text_column": "sentence", "label_column": "label"},
             "model": {"params": {"epochs": 3, "lr": 0.5, "name": "x", "quoted": "3"}},
             "retries": 0, "timeout": "90s", "promote": {"alias": "staging", "metric": "accuracy"}}
            """
        let spec = try SpecParser().parse(text).spec
        #expect(spec.task == .textClassification)
        #expect(spec.data.validation == .location("/data/dev.tsv"))
        #expect(spec.data.textColumn == "sentence")
        #expect(spec.data.labelColumn == "label")
        #expect(spec.model.params["epochs"] == .int(3))
        #expect(spec.model.params["lr"] == .double(0.5))
        #expect(spec.model.params["quoted"] == .string("3"))
        #expect(spec.retries == 0)
        #expect(spec.timeout == .seconds(90))
        #expect(spec.promote?.higherIsBetter == true)
        let decoded = try JSON.decode(Spec.self, from: try JSON.encode(spec))
        #expect(decoded == spec)
    }

    @Test func defaults() throws {
        let spec = try SpecParser().parse("name: m\ntask: ner\ndata: { train: a.conll }\n").spec
        #expect(spec.retries == 1)
        #expect(spec.timeout == .seconds(3600))
        #expect(spec.priority == 0)
        #expect(spec.seed == 42)
        #expect(spec.warmStart == nil)
        #expect(spec.promote == nil)
    }

    @Test func commandTask() throws {
        let spec = try SpecParser().parse("""
            name: byom
            task: command
            command: ["python3", "train.py"]
            serve: [python3, serve.py]
            """).spec
        #expect(spec.command == ["python3", "train.py"])
        #expect(spec.serve == ["python3", "serve.py"])
        #expect(spec.data.train == nil)

        let error = try #require(parseError("name: byom\ntask: command\n"))
        #expect(error.detail("command") != nil)
        let empty = try #require(parseError("name: byom\ntask: command\ncommand: []\n"))
        #expect(empty.detail("command")?.message.contains("empty") == true)
        let notAllowed = try #require(parseError("name: m\ntask: ner\ndata: { train: a }\ncommand: [x]\n"))
        #expect(notAllowed.detail("command")?.line == 4)
    }

    @Test func yamlSyntaxErrorHasLineAndColumn() throws {
        let error = try #require(parseError("name: m\ntask: ner\ndata: { train: a\nretries: 2\n"))
        let detail = try #require(error.details.first)
        #expect(detail.line != nil)
        #expect(detail.column != nil)
        #expect(error.message.contains("line"))
    }

    @Test func emptyDocument() throws {
        let error = try #require(parseError(""))
        #expect(error.message.contains("empty"))
    }

    @Test func unknownTask() throws {
        let error = try #require(parseError("name: m\ntask: regression\n"))
        let detail = try #require(error.detail("task"))
        #expect(detail.line == 2)
        #expect(detail.column == 7)
        #expect(detail.message.contains("tabular-regression"))
    }

    @Test func missingTargetForTabular() throws {
        let error = try #require(parseError("name: m\ntask: tabular-classification\ndata:\n  train: x.csv\n"))
        let detail = try #require(error.detail("data.target"))
        #expect(detail.line == 4)
    }

    @Test func missingRequiredKeys() throws {
        let error = try #require(parseError("retries: 1\n"))
        #expect(error.detail("name") != nil)
        #expect(error.detail("task") != nil)
    }

    @Test func unknownKeyWithDidYouMean() throws {
        let error = try #require(parseError("name: m\ntask: ner\ndata: { train: a }\nretires: 2\n"))
        let detail = try #require(error.detail("retires"))
        #expect(detail.line == 4)
        #expect(detail.column == 1)
        #expect(detail.message.contains("did you mean \"retries\""))

        let nested = try #require(parseError("name: m\ntask: ner\ndata:\n  train: a\n  trian: b\n"))
        #expect(nested.detail("data.trian")?.message.contains("did you mean \"train\"") == true)
        #expect(nested.detail("data.trian")?.line == 5)
        #expect(nested.detail("data.trian")?.column == 3)
    }

    @Test func mistypedKey() throws {
        let error = try #require(parseError("name: m\ntask: ner\ndata: { train: a }\nretries: \"two\"\n"))
        let detail = try #require(error.detail("retries"))
        #expect(detail.line == 4)
        #expect(detail.column == 10)
        #expect(detail.message.contains("integer"))
        // A quoted number is a string, not an integer.
        #expect(parseError("name: m\ntask: ner\ndata: { train: a }\nretries: \"2\"\n")?.detail("retries") != nil)
        // A list where a string belongs.
        #expect(parseError("name: [a]\ntask: ner\ndata: { train: a }\n")?.detail("name") != nil)
        #expect(parseError("name: m\ntask: ner\ndata: [a]\n")?.detail("data") != nil)
    }

    @Test(arguments: [
        ("data: { train: a, validation: 1.5, target: y }", "data.validation"),
        ("data: { train: a, validation: 0, target: y }", "data.validation"),
        ("data: { train: a, target: y }\ntimeout: -3m", "timeout"),
        ("data: { train: a, target: y }\ntimeout: 0s", "timeout"),
        ("data: { train: a, target: y }\ntimeout: 8d", "timeout"),
        ("data: { train: a, target: y }\ntimeout: soon", "timeout"),
        ("data: { train: a, target: y }\nretries: 99", "retries"),
        ("data: { train: a, target: y }\nretries: -1", "retries"),
        ("data: { train: a, target: y }\npriority: 5000", "priority"),
        ("data: { train: a, target: y, format: xlsx }", "data.format"),
        ("data: { train: a, target: y }\nmodel: { algorithm: forest }", "model.algorithm"),
        ("data: { train: a, target: y }\nwarm_start: Production!", "warm_start"),
        ("data: { train: a, target: y }\npromote: { alias: production, metric: rmsee }", "promote.metric"),
        ("data: { train: a, target: y }\npromote: { alias: '42', metric: rmse }", "promote.alias"),
        ("data: { train: a, target: y }\npromote: { metric: rmse }", "promote.alias"),
        ("data: { train: '', target: y }", "data.train"),
    ])
    func impossibleValues(_ body: String, _ path: String) throws {
        let error = try #require(parseError("name: m\ntask: tabular-regression\n\(body)\n"))
        let detail = try #require(error.detail(path), "details: \(error.details)")
        #expect(detail.line != nil)
        #expect(detail.column != nil)
        #expect(error.message.contains(path))
    }

    @Test func badModelName() throws {
        let error = try #require(parseError("name: Diamonds_Price\ntask: ner\ndata: { train: a }\n"))
        let detail = try #require(error.detail("name"))
        #expect(detail.line == 1)
        #expect(detail.column == 7)
        #expect(detail.message.contains("[a-z0-9]"))
    }

    @Test func reportsEveryProblemTogether() throws {
        let error = try #require(parseError("""
            name: m
            task: tabular-regression
            data: { train: a.csv, validation: 1.5, target: y }
            retries: 99
            timeout: -3m
            colour: blue
            """))
        let paths = Set(error.details.compactMap(\.path))
        #expect(paths.isSuperset(of: ["data.validation", "retries", "timeout", "colour"]))
        #expect(error.message.contains("and 3 more"))
    }

    /// `promote.min` / `promote.max`: finite numbers, min not above max, each error at its key.
    @Test func promotionFloorAndCeiling() throws {
        let base = "name: m\ntask: tabular-regression\ndata: { train: a.csv, target: y }\n"
        let spec = try SpecParser().parse(base + "promote: { alias: production, metric: rmse, max: 550, min: 0 }").spec
        #expect(spec.promote == Promotion(alias: .production, metric: "rmse", min: 0, max: 550))
        #expect(parseError(base + "promote: { alias: production, metric: rmse, max: lots }")?.detail("promote.max") != nil)
        #expect(parseError(base + "promote: { alias: production, metric: rmse, min: .inf }")?.detail("promote.min") != nil)
        let inverted = parseError(base + "promote: { alias: production, metric: rmse, min: 600, max: 500 }")?.detail("promote.max")
        #expect(inverted?.message.contains("must be at least promote.min (600)") == true, "\(String(describing: inverted))")
        #expect(parseError(base + "promote: { alias: production, metric: rmse, floor: 1 }")?.detail("promote.floor") != nil)
    }

    @Test func promotionMetricsOfCommandModels() throws {
        // Bring-your-own programs report their own metric names (`loss`, `val_acc`, …).
        let spec = try SpecParser().parse("""
            name: byom
            task: command
            command: [python3, train.py]
            promote: { alias: production, metric: loss }
            """).spec
        #expect(spec.promote?.metric == "loss")
        #expect(spec.promote?.higherIsBetter == false)
    }

    @Test func errorAtUsesRecordedLocations() throws {
        let parsed = try SpecParser().parse("name: m\ntask: ner\ndata:\n  train: a\nmodel:\n  params:\n    epochs: 3\n")
        let error = parsed.error(at: "model.params.epochs", "too many")
        #expect(error.code == .invalidSpec)
        #expect(error.details.first?.line == 7)
        #expect(error.details.first?.column == 13)
    }

    @Test func higherIsBetter() {
        #expect(Promotion.higherIsBetter("accuracy"))
        #expect(Promotion.higherIsBetter("f1"))
        #expect(Promotion.higherIsBetter("r2"))
        #expect(!Promotion.higherIsBetter("rmse"))
        #expect(!Promotion.higherIsBetter("val_loss"))
        #expect(!Promotion.higherIsBetter("logloss"))
    }

    @Test func durationText() {
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("90s") == .seconds(90))
        #expect(DurationText.parse("30m") == .seconds(1800))
        #expect(DurationText.parse("2h") == .seconds(7200))
        #expect(DurationText.parse("1d") == .seconds(86_400))
        #expect(DurationText.parse("12") == .seconds(12))
        #expect(DurationText.parse("-3m") == nil)
        #expect(DurationText.parse("abc") == nil)
        #expect(DurationText.format(.seconds(2)) == "2.0s")
    }
}
