import Foundation
import Logging
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime

/// Data that used to abort the server (200 000 labels: a 256 GB allocation, retried into
/// every restarted server) or to train silently on garbage (a word in a numeric column, NaN):
/// through submit → queue → worker, each job now fails on its first attempt, not retried,
/// with a reason naming the limit or the line and column, and the process carries on.
@Suite("Data limits and bad values through the system", .serialized)
struct DataLimitsTests {
    let root: URL
    let services: TrainyardServices

    init() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-data-limits-\(UUID().uuidString)")
        var config = TrainyardConfiguration()
        config.dataDirectory = root.appendingPathComponent("data")
        config.limits.features = 20
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        services = try await TrainyardApp.build(config, trainers: .standard(limits: config.limits), logger: logger).services
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Submits a spec for `file` (beside it), runs a worker until the queue is idle and
    /// returns the finished job.
    func run(name: String, task: String, file: URL, target: String, retries: Int = 3) async throws -> Job {
        let spec = """
            name: \(name)
            task: \(task)
            retries: \(retries)
            data: { train: \(file.lastPathComponent), target: \(target) }
            model: { algorithm: gbdt, params: { trees: 5 } }
            """
        let job = try await services.submitter.submit(spec, options: .init(baseDirectory: file.deletingLastPathComponent()))
        try await WorkerPool(services: services, options: .init(workers: 1, exitWhenIdle: .milliseconds(300))).run()
        return try #require(try await services.store.job(job.id))
    }

    @Test func twoHundredThousandLabelsFailAtOnceWithoutRetryNamingTheLimit() async throws {
        var csv = "x,label\n"
        csv.reserveCapacity(200_000 * 16)
        for i in 0..<200_000 { csv += "\(i % 97),L\(i)\n" }
        let job = try await run(name: "labels", task: "tabular-classification", file: try write("labels/train.csv", csv), target: "label")
        #expect(job.state == .failed)
        #expect(job.attempt == 1, "a limit hit is not retried")
        #expect(job.failureReason == "data.train has 200000 distinct labels; limits.classes allows 10000")
        // The process is alive and the worker goes on: the next job trains.
        let good = try write("labels/good.csv", "x,label\n" + (0..<60).map { "\($0),\($0 % 2 == 0 ? "even" : "odd")" }.joined(separator: "\n") + "\n")
        #expect(try await run(name: "labels", task: "tabular-classification", file: good, target: "label").state == .succeeded)
    }

    @Test func tooManyColumnsAreRejectedAtSubmitNamingTheLimit() async throws {
        let header = (0..<25).map { "f\($0)" }.joined(separator: ",") + ",y"
        let row = (0..<26).map(String.init).joined(separator: ",")
        let file = try write("wide/train.csv", header + "\n" + row + "\n" + row + "\n")
        do {
            _ = try await services.submitter.submit("name: wide\ntask: tabular-regression\ndata: { train: train.csv, target: y }\n",
                                                    options: .init(baseDirectory: file.deletingLastPathComponent()))
            Issue.record("expected the feature limit at submit")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidSpec)
            #expect(error.message.contains("train.csv has 25 feature columns; limits.features allows 20"), "\(error.message)")
            #expect(error.details.first?.path == "data.train")
        }
        #expect(try await services.store.jobs(JobFilter()).isEmpty, "nothing is enqueued")
    }

    /// A header longer than the first 64 KiB read at submit (3000 long column names, the target
    /// last) is read to its end: the verdict is the column count, not "target not found".
    @Test func aHeaderLongerThanTheFirstReadIsCountedWhole() async throws {
        let names = (0..<3000).map { "a_rather_long_feature_name_\($0)" }
        #expect(names.joined(separator: ",").utf8.count > 1 << 16)
        let file = try write("wider/train.csv", (names + ["y"]).joined(separator: ",") + "\n" + (0...3000).map(String.init).joined(separator: ",") + "\n")
        do {
            _ = try await services.submitter.submit("name: wider\ntask: tabular-regression\ndata: { train: train.csv, target: y }\n",
                                                    options: .init(baseDirectory: file.deletingLastPathComponent()))
            Issue.record("expected the feature limit at submit")
        } catch let error as TrainyardError {
            #expect(error.message.contains("train.csv has 3000 feature columns; limits.features allows 20"), "\(error.message)")
        }
    }

    @Test func aWordInANumericColumnFailsTheJobWithLineAndColumn() async throws {
        var rows = (0..<300).map { "\(Double($0) / 100),\($0 % 5),\($0 * 10 + $0 % 7)" }
        rows[211] = "abc,1,2110"
        let file = try write("stray/train.csv", "carat,depth,price\n" + rows.joined(separator: "\n") + "\n")
        let job = try await run(name: "stray", task: "tabular-regression", file: file, target: "price")
        #expect(job.state == .failed && job.attempt == 1)
        #expect(job.failureReason?.hasPrefix("data.train: line 213, column carat: \"abc\" is not a number (the other 299 values are)") == true,
                "\(job.failureReason ?? "nil")")
    }

    @Test func infinityInTheTargetFailsTheJobWithLineAndColumn() async throws {
        var rows = (0..<100).map { "\($0),\($0 * 3 + $0 % 4)" }
        rows[41] = "41,1e999"
        let file = try write("inf/train.csv", "x,price\n" + rows.joined(separator: "\n") + "\n")
        let job = try await run(name: "inf", task: "tabular-regression", file: file, target: "price")
        #expect(job.state == .failed && job.attempt == 1)
        #expect(job.failureReason == "data.train: line 43, column price: \"1e999\" is not a finite number; leave the cell empty (or NA) for a missing value")
    }
}
