import Foundation
import Testing
import TrainyardApp
import TrainyardCore
@testable import TrainyardRuntime
import TrainyardTestSupport

/// The offline loop end to end: files dropped into a watched folder are scored by workers with
/// a real model, each exactly once, also when the trigger service restarts after the outputs
/// were written.
@Suite("Watched folder → transform outputs", .serialized)
struct WatchedTransformTests {
    @Test func aHundredFilesDroppedAtOnceGiveAHundredOutputsEachOnceAlsoAfterARestart() async throws {
        let clock = ManualClock()
        let harness = try await Harness(clock: clock)
        let services = harness.services
        try await RegisteredVersions.registerTabular("prices", services: services)
        let inbox = harness.root.appendingPathComponent("inbox"), out = harness.root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let definition = try TriggerDefinition(name: TriggerName("inbox"), source: .watch(WatchSource(path: inbox.path, glob: "*.csv", settleSeconds: 1)),
                                               action: .transform(["model": .string("prices"), "output": .string(out.path)]))
        _ = try await TriggerCatalog(services: services).create(definition, createdBy: "test", access: .unrestricted)
        for i in 0..<100 {
            // Each file scores its own rows: row k of file i has a = i, b = k.
            let text = "a,b,c\n" + (0..<5).map { "\(i % 17),\($0),u" }.joined(separator: "\n") + "\n"
            try text.write(to: inbox.appendingPathComponent(String(format: "batch-%03d.csv", i)), atomically: true, encoding: .utf8)
        }
        let service = TriggerService(services: services)
        _ = await service.pass()
        clock.advance(by: .seconds(2))
        #expect(await service.pass().fired.count == 100)
        try await harness.runUntilIdle(workers: 2)

        func outputs() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() }
        let names = (0..<100).map { String(format: "batch-%03d.csv", $0) }
        #expect(try outputs() == (names.map { "\($0).out" } + names.map { "_SUCCESS.\($0).json" }).sorted())
        let jobs = try await services.store.jobs(JobFilter(kind: .transform, limit: 1000))
        #expect(jobs.count == 100 && jobs.allSatisfy { $0.state == .succeeded })
        for name in names {
            let lines = try String(contentsOf: out.appendingPathComponent(name + ".out"), encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 6 && lines[0] == "prediction")
        }
        let before = try names.map { try Data(contentsOf: out.appendingPathComponent($0 + ".out")) }

        // A restarted service (a reopened store) and more passes: nothing fires, nothing is rewritten.
        let restarted = TriggerService(services: try await TrainyardApp.build(services.configuration, trainers: services.trainers, clock: clock,
                                                                                retryPolicy: Harness.retryPolicy, logger: services.logger).services)
        for _ in 0..<3 {
            #expect(await restarted.pass().fired.isEmpty)
            clock.advance(by: .seconds(2))
        }
        try await harness.runUntilIdle()
        #expect(try await services.store.jobs(JobFilter(kind: .transform, limit: 1000)).count == 100)
        #expect(try names.map { try Data(contentsOf: out.appendingPathComponent($0 + ".out")) } == before)
        #expect(try outputs().count == 200)
    }
}
