import Foundation
import Logging
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime

/// The native learners through the whole system: spec → queue → worker → registry, then
/// evaluation of the registered version, and continuous training with warm start + promotion.
@Suite("Native training through the system", .serialized)
struct NativeTrainingTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples")

    let root: URL
    let services: TrainyardServices

    init() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-learners-\(UUID().uuidString)")
        var config = TrainyardConfiguration()
        config.dataDirectory = root.appendingPathComponent("data")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        services = try await TrainyardApp.build(config, trainers: .standard, logger: logger).services
    }

    func runUntilIdle() async throws {
        try await WorkerPool(services: services, options: .init(workers: 1, exitWhenIdle: .milliseconds(300))).run()
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Diamonds rows (header + `count` rows from `offset`) of a bundled half.
    func diamonds(_ file: String, offset: Int, count: Int) throws -> String {
        let lines = try String(contentsOf: Self.examples.appendingPathComponent("diamonds-price/\(file)"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: true)
        return ([lines[0]] + lines[(1 + offset)..<(1 + offset + count)]).joined(separator: "\n") + "\n"
    }

    @Test func warmStartOnNewDataLowersRMSEAndIsPromoted() async throws {
        _ = try write("d/part1.csv", try diamonds("train-part1.csv", offset: 0, count: 4000))
        _ = try write("d/part2.csv", try diamonds("train-part2.csv", offset: 0, count: 4000))
        let test = try write("d/test.csv", try diamonds("train-part2.csv", offset: 15000, count: 2000))
        let common = """
            task: tabular-regression
            model: { algorithm: gbdt, params: { trees: 80, learning_rate: 0.1 } }
            promote: { alias: production, metric: rmse }
            """
        let first = try write("d/first.yaml", "name: diamonds\ndata: { train: part1.csv, target: price }\n" + common)
        let second = try write("d/second.yaml", "name: diamonds\nwarm_start: production\ndata: { train: part2.csv, target: price }\n" + common)
        let options = JobSubmitter.Options(baseDirectory: first.deletingLastPathComponent())
        _ = try await services.submitter.submit(try String(contentsOf: first, encoding: .utf8), options: options)
        try await runUntilIdle()
        _ = try await services.submitter.submit(try String(contentsOf: second, encoding: .utf8), options: options)
        try await runUntilIdle()

        let name = try ModelName("diamonds")
        let versions = try await services.store.versions(of: name)
        #expect(versions.count == 2)
        let v1 = try #require(versions.first { $0.version == 1 }), v2 = try #require(versions.first { $0.version == 2 })
        #expect(v2.manifest.lineage.parentVersion == 1)
        #expect(v1.manifest.artifacts.map(\.name).sorted() == ["checkpoint.bin", "model.bin"])
        #expect(v1.manifest.history.count > 1, "per-round metric history is stored")
        #expect(v1.manifest.inputSchema != nil)

        let reader = ArtifactReader(artifacts: services.artifacts)
        let data = [UInt8](try Data(contentsOf: test))
        let rmse1 = try #require(try await NativeModel.load(v1, reader: reader).evaluate(data: data).metrics["rmse"])
        let rmse2 = try #require(try await NativeModel.load(v2, reader: reader).evaluate(data: data).metrics["rmse"])
        #expect(rmse2 < rmse1, "warm start on new data should lower test RMSE (v1 \(rmse1), v2 \(rmse2))")
        let production = try await services.store.resolve(ModelReference(name: name, selector: .alias(.production)))
        #expect(production.version == (v2.metrics["rmse"]! < v1.metrics["rmse"]! ? 2 : 1))
    }

    /// With a validation file, promotion scores the alias's current version on that file and
    /// compares both versions on the same rows (not with the incumbent's own stored metric).
    @Test func promotionComparesBothVersionsOnTheNewValidationFile() async throws {
        _ = try write("p/a.csv", try diamonds("train-part1.csv", offset: 0, count: 3000))
        _ = try write("p/b.csv", try diamonds("train-part2.csv", offset: 0, count: 3000))
        let validation = try write("p/val.csv", try diamonds("train-part2.csv", offset: 12000, count: 1500))
        func spec(_ train: String) -> String {
            """
            name: gems
            task: tabular-regression
            data: { train: \(train), validation: val.csv, target: price }
            model: { algorithm: gbdt, params: { trees: 60, learning_rate: 0.1 } }
            promote: { alias: production, metric: rmse }
            """
        }
        let options = JobSubmitter.Options(baseDirectory: validation.deletingLastPathComponent())
        _ = try await services.submitter.submit(spec("a.csv"), options: options)
        try await runUntilIdle()
        let second = try await services.submitter.submit(spec("b.csv"), options: options)
        try await runUntilIdle()

        let name = try ModelName("gems")
        let versions = try await services.store.versions(of: name)
        let v1 = try #require(versions.first { $0.version == 1 }), v2 = try #require(versions.first { $0.version == 2 })
        let reader = ArtifactReader(artifacts: services.artifacts)
        let data = [UInt8](try Data(contentsOf: validation))
        let rmse1 = try #require(try await NativeModel.load(v1, reader: reader).evaluate(data: data).metrics["rmse"])
        #expect(abs(rmse1 - v1.metrics["rmse"]!) < 1e-6 * rmse1, "a version's stored metric is its score on its validation file")
        let log = try await services.store.logs(second.id, after: 0, limit: 10_000).map(\.text).joined(separator: "\n")
        #expect(log.contains("gems:1 (production) scores rmse=\(String(format: "%.6g", rmse1)) on this job's validation file (1,500 rows)"), "\(log)")
        #expect(log.contains("on the same 1,500 rows of the validation file"), "\(log)")
        let production = try await services.store.resolve(ModelReference(name: name, selector: .alias(.production)))
        #expect(production.version == (v2.metrics["rmse"]! < rmse1 ? 2 : 1))
    }

    @Test func textAndEntityModelsTrainEvaluateAndPredict() async throws {
        let sentiment = Self.examples.appendingPathComponent("sentiment/spec.yaml")
        _ = try await services.submitter.submit(try String(contentsOf: sentiment, encoding: .utf8),
                                                options: .init(baseDirectory: sentiment.deletingLastPathComponent()))
        // The bundled NER example, with fewer CRF iterations to keep the debug-build test quick.
        let ner = """
            name: ner-wikigold
            task: ner
            data: { train: wikigold.conll.txt, validation: 0.1, format: conll }
            model: { params: { iterations: 15 } }
            promote: { alias: production, metric: f1 }
            """
        _ = try await services.submitter.submit(ner, options: .init(baseDirectory: Self.examples.appendingPathComponent("ner-wikigold")))
        try await runUntilIdle()
        let reader = ArtifactReader(artifacts: services.artifacts)

        let s = try await services.store.resolve(ModelReference(parsing: "sentiment"))
        #expect((s.metrics["accuracy"] ?? 0) > 0.7)
        // Facts about the fit sit with the parameters, not among the compared metrics.
        #expect(s.metrics["best_epoch"] == nil && s.manifest.params["fit"]?["best_epoch"] != nil)
        // Predictions the way the server makes them (ServedModel): the loaded model's own
        // predictor, shaped by NativeModel.json.
        guard case .text(let classifier) = try await NativeModel.load(s, reader: reader) else {
            Issue.record("the sentiment model did not load as a text classifier")
            return
        }
        let p = try classifier.predict(["I loved it, wonderful and great", "terrible, awful, broken"]).map(NativeModel.json)
        let scores = p.compactMap { $0["score"]?.doubleValue }
        #expect(scores.count == 2 && scores[0] > scores[1])

        let n = try await services.store.resolve(ModelReference(parsing: "ner-wikigold@production"))
        #expect(n.metrics["attributes"] == nil && n.metrics["best_iteration"] == nil && n.metrics["f1"] != nil)
        #expect(n.manifest.params["fit"]?["attributes"] != nil)
        let nModel = try await NativeModel.load(n, reader: reader)
        guard case .entities(let recognizer) = nModel else {
            Issue.record("the NER model did not load as an entity recognizer")
            return
        }
        let text = "Barack Obama visited Paris with members of the United Nations ."
        let entities = try recognizer.recognize(text).map(NativeModel.json)
        #expect(!entities.isEmpty)
        for e in entities {
            let start = try #require(e["start"].flatMap { if case .int(let i) = $0 { i } else { nil } })
            let end = try #require(e["end"].flatMap { if case .int(let i) = $0 { i } else { nil } })
            let scalars = Array(text.unicodeScalars)
            #expect(e["text"]?.stringValue == String(String.UnicodeScalarView(scalars[start..<end])))
        }
        let conll = [UInt8](try Data(contentsOf: Self.examples.appendingPathComponent("ner-wikigold/wikigold.conll.txt")))
        let report = try nModel.evaluate(data: conll)
        #expect(report.metrics["f1"] != nil && report.perType?.isEmpty == false)
    }

    @Test func badParametersAndMissingTargetAreRejectedAtSubmit() async throws {
        let data = try write("bad/data.csv", "a,b,price\n1,2,3\n4,5,6\n")
        let base = data.deletingLastPathComponent()
        let badParam = "name: m\ntask: tabular-regression\ndata: { train: data.csv, target: price }\nmodel: { algorithm: gbdt, params: { trees: -5 } }\n"
        do {
            _ = try await services.submitter.submit(badParam, options: .init(baseDirectory: base))
            Issue.record("accepted trees: -5")
        } catch let e as TrainyardError {
            #expect(e.code == .invalidSpec)
            #expect(e.details.first?.path == "model.params.trees")
            #expect(e.details.first?.line == 4)
        }
        let missingTarget = "name: m\ntask: tabular-regression\ndata: { train: data.csv, target: cost }\n"
        do {
            _ = try await services.submitter.submit(missingTarget, options: .init(baseDirectory: base))
            Issue.record("accepted a target column that is not in the file")
        } catch let e as TrainyardError {
            #expect(e.code == .invalidSpec)
            #expect(e.message.contains("cost"))
        }
        #expect(try await services.store.jobs(JobFilter()).isEmpty)
    }
}
