import Foundation
import Logging
import Testing
import TrainyardApp
import TrainyardCore
@testable import TrainyardRuntime

/// Continuous training that can be trusted (issue 11 item 7): each new batch warm-starts from
/// `production`, the production version is scored on exactly the rows the new version was
/// validated on (its held-out fraction, or the validation file), and the alias moves only if
/// the new version is better there and within `promote.max`; every decision and its reason is
/// kept with the version and written to the job's log.
///
/// The chains run the bundled example `examples/continuous-diamonds/` (its spec, with
/// `${trigger.file}` replaced by each batch the way a watch trigger does, and its batches), on
/// the native trainers and the embedded store.
@Suite("Continuous training", .serialized)
struct ContinuousTrainingTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples")
    static let example = examples.appendingPathComponent("continuous-diamonds")
    static let model = try! ModelName("diamonds-price-ct")

    let root: URL
    let services: TrainyardServices

    init() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-ct-\(UUID().uuidString)")
        var config = TrainyardConfiguration()
        config.dataDirectory = root.appendingPathComponent("data")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // No trainers given: the ones this build ships (native learners included).
        services = try await TrainyardApp.build(config, logger: logger).services
    }

    /// The example's spec for `batch`, as a watch trigger would submit it when the file arrives.
    func submitExample(_ batch: URL) async throws -> Job {
        let template = try String(contentsOf: Self.example.appendingPathComponent("trigger-spec.yaml"), encoding: .utf8)
        #expect(template.contains("${trigger.file}"))
        let spec = template.replacingOccurrences(of: "${trigger.file}", with: batch.path)
        return try await services.submitter.submit(spec, options: .init(baseDirectory: Self.example))
    }

    func runUntilIdle() async throws {
        try await WorkerPool(services: services, options: .init(workers: 1, exitWhenIdle: .milliseconds(300))).run()
    }

    func log(_ job: Job) async throws -> String {
        try await services.store.logs(job.id, after: 0, limit: 10_000).map(\.text).joined(separator: "\n")
    }

    func succeeded(_ job: Job) async throws -> Job {
        let done = try #require(try await services.store.job(job.id))
        let text = try await log(job)
        #expect(done.state == .succeeded, "job \(job.id): \(done.failureReason ?? "") \(text)")
        return done
    }

    func production() async throws -> Int? {
        try await services.store.aliases(of: Self.model).first { $0.alias == .production }?.version
    }

    static func batch(_ name: String) -> URL { example.appendingPathComponent("batches/\(name)") }

    /// Rows with a price in `file` (every row of the bundled batches has one).
    static func rowCount(_ file: URL) throws -> Int {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true).count - 1
    }

    /// Batch 1 trains from scratch and takes `production`; batch 2 (more good rows) continues
    /// from it and is compared with it on the same 15 % of batch 2 it held out: better, so
    /// promoted; batch 3 (a broken export with shuffled prices) is not promoted, the alias stays,
    /// and the reason is kept with the version and in the job's log.
    @Test func theBetterVersionIsPromotedOnTheSameHeldOutRowsAndABrokenBatchIsNot() async throws {
        let first = try await submitExample(Self.batch("batch-1.csv"))
        try await runUntilIdle()
        _ = try await succeeded(first)
        let v1 = try #require(try await services.store.version(Self.model, 1))
        #expect(v1.promotion == PromotionRecord(alias: .production, metric: "rmse", promoted: true,
                                                reason: "promoted to production: production was unset", value: v1.metrics["rmse"]))
        #expect(try await log(first).contains("warm start: diamonds-price-ct@production not found; training from scratch"))
        #expect(try await production() == 1)

        let second = try await submitExample(Self.batch("batch-2.csv"))
        try await runUntilIdle()
        _ = try await succeeded(second)
        let v2 = try #require(try await services.store.version(Self.model, 2))
        #expect(v2.manifest.lineage.parentVersion == 1)
        let decision = try #require(v2.promotion)
        // The incumbent was scored on as many rows as the new version held out for validation.
        let heldOut = Int((Double(try Self.rowCount(Self.batch("batch-2.csv"))) * 0.15).rounded())
        #expect(decision.comparedOn == .heldOutRows && decision.rows == heldOut, "\(decision)")
        #expect(decision.incumbentVersion == 1 && decision.value == v2.metrics["rmse"])
        let incumbentValue = try #require(decision.incumbentValue)
        #expect(incumbentValue != v1.metrics["rmse"], "version 1 was scored on batch 2's rows, not compared by its stored metric")
        #expect(decision.promoted == (v2.metrics["rmse"]! < incumbentValue))
        #expect(decision.promoted, "more good rows make a better model: \(decision.reason)")
        #expect(decision.reason == "promoted to production: rmse \(PromotionPolicy.format(v2.metrics["rmse"]!)) is better than production (v1) "
                + "\(PromotionPolicy.format(incumbentValue)) on the same \(PromotionPolicy.groupedThousands(heldOut)) held-out rows")
        let secondLog = try await log(second)
        #expect(secondLog.contains("warm start from diamonds-price-ct:1"))
        #expect(secondLog.contains("diamonds-price-ct:1 (production) scores rmse=\(PromotionPolicy.format(incumbentValue)) "
                                   + "on this job's \(PromotionPolicy.groupedThousands(heldOut)) held-out rows"), "\(secondLog)")
        #expect(secondLog.contains(decision.reason))
        #expect(try await production() == 2)

        // Independently: the rows batch 2's learner holds out (the same seed chooses them, warm
        // start or not) score version 1 at exactly the value promotion compared.
        let spec = try #require(try await services.store.job(second.id)).spec
        let trainer = try services.trainers.trainer(for: .tabularRegression)
        let rerun = try await trainer.train(TrainingRun(jobID: second.id, attempt: 1, spec: spec, inputs: ["train": Self.batch("batch-2.csv")],
                                                        codeDirectory: nil, workDirectory: root.appendingPathComponent("rerun"),
                                                        warmStart: nil, progress: SilentProgress()))
        let rows = try #require(rerun.heldOut)
        #expect(rows.rows == heldOut)
        let rescored = try #require(try await trainer.score(v1, data: rows.file, spec: spec, artifacts: services.artifacts))
        #expect(rescored.rows == heldOut && rescored.metrics["rmse"] == incumbentValue)

        // A broken export: prices shuffled among the rows. On its own shuffled rows the new
        // version even looks better than production (it learned to predict the mean), so the
        // example's `promote.max` ceiling is what stops it.
        let third = try await submitExample(Self.batch("batch-3-shuffled-prices.csv"))
        try await runUntilIdle()
        _ = try await succeeded(third)
        let v3 = try #require(try await services.store.version(Self.model, 3))
        let rmse3 = try #require(v3.metrics["rmse"])
        #expect(rmse3 > 2000)
        #expect(v3.promotion == PromotionRecord(alias: .production, metric: "rmse", promoted: false,
                                                reason: "not promoted: rmse \(PromotionPolicy.format(rmse3)) is above promote.max 2000", value: rmse3))
        #expect(try await log(third).contains("not promoted: rmse \(PromotionPolicy.format(rmse3)) is above promote.max 2000"))
        #expect(try await production() == 2, "the alias stays on version 2")
        #expect(try await services.store.aliasEvents(of: Self.model).map(\.toVersion) == [1, 2])
        #expect(try await services.store.versions(of: Self.model).map { $0.promotion?.promoted } == [false, true, true])
    }

    /// Worse data compared on a fixed validation file: batches with noisy prices continue from
    /// production, are scored worse than it on the same clean rows, and are not promoted; the
    /// reason names both scores and the rows.
    @Test func aVersionTrainedOnNoisyPricesIsNotPromotedOverABetterProduction() async throws {
        let lines = try String(contentsOf: Self.examples.appendingPathComponent("diamonds-price/train-part2.csv"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: true)
        let header = lines[0]
        let price = try #require(header.split(separator: ",").firstIndex(of: "price"))
        let folder = root.appendingPathComponent("noisy")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func write(_ name: String, _ rows: ArraySlice<Substring>) throws {
            try ([header] + rows).joined(separator: "\n").appending("\n").write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try write("good.csv", lines[1...4000])
        try write("validation.csv", lines[15001...16500])
        // Each price moved by a deterministic, zero-mean amount of about ±8,000 (the price's own
        // spread is about 4,000): the relation to the features is drowned.
        var state: UInt64 = 0x5EED
        let noisy = lines[4001...8000].map { line -> Substring in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let unit = Double(state >> 11) / Double(1 << 53)
            fields[price] = String(Int(Double(fields[price])! + (unit - 0.5) * 16_000))
            return Substring(fields.joined(separator: ","))
        }
        try write("noisy.csv", noisy[...])
        func spec(_ train: String) -> String {
            """
            name: diamonds-price-ct
            task: tabular-regression
            data: { train: \(train), validation: validation.csv, target: price }
            model: { algorithm: gbdt, params: { trees: 100, learning_rate: 0.1 } }
            warm_start: production
            promote: { alias: production, metric: rmse }
            retries: 0
            """
        }
        let first = try await services.submitter.submit(spec("good.csv"), options: .init(baseDirectory: folder))
        try await runUntilIdle()
        _ = try await succeeded(first)
        let second = try await services.submitter.submit(spec("noisy.csv"), options: .init(baseDirectory: folder))
        try await runUntilIdle()
        _ = try await succeeded(second)

        let v1 = try #require(try await services.store.version(Self.model, 1))
        let v2 = try #require(try await services.store.version(Self.model, 2))
        let decision = try #require(v2.promotion)
        let rmse1 = try #require(v1.metrics["rmse"]), rmse2 = try #require(v2.metrics["rmse"])
        // Both scored on the clean validation file: version 1's score there is its stored one.
        #expect(decision.comparedOn == .validationFile && decision.rows == 1500, "\(decision)")
        let incumbentValue = try #require(decision.incumbentValue)
        #expect(abs(incumbentValue - rmse1) <= 1e-9 * rmse1, "\(incumbentValue) vs \(rmse1)")
        #expect(rmse2 > rmse1, "fitting noise makes the model worse on clean rows (\(rmse2) vs \(rmse1))")
        #expect(!decision.promoted)
        let reason = "not promoted: rmse \(PromotionPolicy.format(rmse2)) is not better than production (v1) \(PromotionPolicy.format(incumbentValue)) "
            + "on the same 1,500 rows of the validation file"
        #expect(decision.reason == reason)
        #expect(try await log(second).contains(reason))
        #expect(try await production() == 1)
    }

    /// Text classification with a held-out fraction of a TSV: the held-out texts are written as
    /// JSONL (`format` overridden for scoring only) and the production version is scored on
    /// exactly them.
    @Test func aTextClassifierIsComparedOnTheTextsTheNewVersionHeldOut() async throws {
        let lines = try String(contentsOf: Self.examples.appendingPathComponent("sentiment/reviews.tsv"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: true)
        let folder = root.appendingPathComponent("text")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, rows) in [("first.tsv", lines[1...1000]), ("second.tsv", lines[1001...2500])] {
            try ([lines[0]] + rows).joined(separator: "\n").appending("\n").write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        func spec(_ train: String) -> String {
            """
            name: reviews
            task: text-classification
            data: { train: \(train), validation: 0.2, format: tsv, text_column: text, label_column: label }
            promote: { alias: production, metric: accuracy }
            retries: 0
            """
        }
        let first = try await services.submitter.submit(spec("first.tsv"), options: .init(baseDirectory: folder))
        try await runUntilIdle()
        _ = try await succeeded(first)
        let second = try await services.submitter.submit(spec("second.tsv"), options: .init(baseDirectory: folder))
        try await runUntilIdle()
        _ = try await succeeded(second)

        let name = try ModelName("reviews")
        let v1 = try #require(try await services.store.version(name, 1))
        let v2 = try #require(try await services.store.version(name, 2))
        let decision = try #require(v2.promotion)
        #expect(decision.comparedOn == .heldOutRows && decision.rows == 300 && decision.incumbentVersion == 1, "\(decision)")
        let incumbentValue = try #require(decision.incumbentValue)
        #expect(decision.promoted == (v2.metrics["accuracy"]! > incumbentValue))
        #expect(try await log(second).contains("reviews:1 (production) scores accuracy=\(PromotionPolicy.format(incumbentValue)) on this job's 300 held-out rows"))

        // The same 300 texts, held out again by the trainer, score version 1 at that value.
        let job = try #require(try await services.store.job(second.id))
        let trainer = try services.trainers.trainer(for: .textClassification)
        let rerun = try await trainer.train(TrainingRun(jobID: second.id, attempt: 1, spec: job.spec, inputs: ["train": folder.appendingPathComponent("second.tsv")],
                                                        codeDirectory: nil, workDirectory: root.appendingPathComponent("text-rerun"),
                                                        warmStart: nil, progress: SilentProgress()))
        let heldOut = try #require(rerun.heldOut)
        #expect(heldOut.rows == 300 && heldOut.format == "jsonl")
        var scoring = job.spec
        scoring.data.format = heldOut.format
        let rescored = try #require(try await trainer.score(v1, data: heldOut.file, spec: scoring, artifacts: services.artifacts))
        #expect(rescored.rows == 300 && rescored.metrics["accuracy"] == incumbentValue)
    }
}

/// Progress nobody follows (a trainer run by the test itself).
struct SilentProgress: ProgressReporter {
    func report(_ progress: JobProgress) {}
    func log(_ line: String) {}
    var isCancelled: Bool { false }
}
