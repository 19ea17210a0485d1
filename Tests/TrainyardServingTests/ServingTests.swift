import Foundation
import Synchronization
import Testing
import TrainyardCore
import TrainyardRuntime
import TrainyardStorage
import TrainyardTestSupport
@testable import TrainyardServing

@Suite struct PayloadTests {
    @Test func fastJSONRoundTrip() throws {
        let text = #"{"a":[1,2.5,-3e2,true,false,null],"b":"x\"y\n\u00e9","c":{}}"#
        let value = try FastJSON.parse(Array(text.utf8))
        #expect(value["a"] == .array([.int(1), .double(2.5), .double(-300), .bool(true), .bool(false), .null]))
        #expect(value["b"] == .string("x\"y\n\u{e9}"))
        #expect(try FastJSON.parse(FastJSON.serialize(value)) == value)
        #expect(throws: TrainyardError.self) { try FastJSON.parse(Array("{\"a\": 1".utf8)) }
        #expect(throws: TrainyardError.self) { try FastJSON.parse(Array("[1,]".utf8)) }
    }

    @Test func mlflowShapes() throws {
        let split = try FastJSON.parse(Array(#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}}"#.utf8))
        #expect(try Payloads.mlflowRows(split) == [.object(["a": .int(1), "b": .string("x")]), .object(["a": .int(2), "b": .string("y")])])
        let records = try FastJSON.parse(Array(#"{"dataframe_records": [{"a": 1}]}"#.utf8))
        #expect(try Payloads.mlflowRows(records) == [.object(["a": .int(1)])])
        let columnar = try FastJSON.parse(Array(#"{"inputs": {"a": [1, 2], "b": ["x", "y"]}}"#.utf8))
        #expect(try Payloads.mlflowRows(columnar).count == 2)
        let ragged = try FastJSON.parse(Array(#"{"inputs": {"a": [1, 2], "b": ["x"]}}"#.utf8))
        #expect(throws: TrainyardError.self) { try Payloads.mlflowRows(ragged) }
        let badSplit = try FastJSON.parse(Array(#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}"#.utf8))
        #expect(throws: TrainyardError.self) { try Payloads.mlflowRows(badSplit) }
        #expect(try Payloads.csvRows(Array("a,b\n1,\"x,y\"\n2.5,\n".utf8)) == [.object(["a": .int(1), "b": .string("x,y")]), .object(["a": .double(2.5), "b": .null])])
    }

    @Test func tfServingShapes() throws {
        let rows = try Payloads.tfServingRows(try FastJSON.parse(Array(#"{"instances": [{"a": 1}, {"a": 2}]}"#.utf8)))
        #expect(rows.rows.count == 2 && !rows.columnar)
        let columns = try Payloads.tfServingRows(try FastJSON.parse(Array(#"{"inputs": {"a": [1, 2]}}"#.utf8)))
        #expect(columns.rows == [.object(["a": .int(1)]), .object(["a": .int(2)])] && columns.columnar)
    }

    @Test func v2Tensors() throws {
        let schema = InputSchema.tabular(columns: [.init(name: "a", kind: "numeric"), .init(name: "c", kind: "categorical")], target: "y")
        let named = try FastJSON.parse(Array(#"{"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "data": [1, 2]}, {"name": "c", "shape": [2, 1], "datatype": "BYTES", "data": [["u"], ["v"]]}]}"#.utf8))
        #expect(try Payloads.v2Rows(named, schema: schema) == [.object(["a": .int(1), "c": .string("u")]), .object(["a": .int(2), "c": .string("v")])])
        let matrix = try FastJSON.parse(Array(#"{"inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [1.5, 2]}]}"#.utf8))
        #expect(try Payloads.v2Rows(matrix, schema: schema) == [.array([.double(1.5), .int(2)])])
        let badShape = try FastJSON.parse(Array(#"{"inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "data": [1, 2]}]}"#.utf8))
        #expect(throws: TrainyardError.self) { try Payloads.v2Rows(badShape, schema: schema) }
        let badType = try FastJSON.parse(Array(#"{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": ["x"]}]}"#.utf8))
        #expect(throws: TrainyardError.self) { try Payloads.v2Rows(badType, schema: schema) }
    }

    @Test func schemaValidationListsEveryProblem() throws {
        let schema = InputSchema.tabular(columns: [.init(name: "a", kind: "numeric"), .init(name: "b", kind: "numeric"), .init(name: "c", kind: "categorical")], target: "y")
        do {
            _ = try schema.records([.object(["a": .string("big"), "c": .int(3), "zzz": .int(1), "y": .int(0)])])
            Issue.record("expected a 400")
        } catch {
            #expect(error.code == .invalidInput)
            let paths = Set(error.details.compactMap(\.path))
            #expect(paths == ["inputs[0].a", "inputs[0].b", "inputs[0].zzz"])
        }
        #expect(try schema.records([.array([.int(1), .null, .string("u")])]).count == 1)
    }
}

@Suite struct MicroBatcherTests {
    @Test func concurrentRequestsShareCalls() async throws {
        let sizes = Shared<[Int]>([])
        let submitted = Shared(0)
        let batcher = MicroBatcher<Int, Int>(maxBatchRows: 16, onBatch: { n in sizes.withLock { $0.append(n) } }) { xs in
            // The first call holds the model until every request has been submitted (bounded
            // wait), so the others must queue behind it, whatever the machine's load.
            let deadline = Date().addingTimeInterval(30)
            while submitted.withLock({ $0 }) < 64 && Date() < deadline { Thread.sleep(forTimeInterval: 0.001) }
            Thread.sleep(forTimeInterval: 0.002)
            return xs.map { $0 * 10 }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<64 {
                group.addTask {
                    submitted.withLock { $0 += 1 }
                    let out = try await batcher.submit([i, i + 1000])
                    #expect(out == [i * 10, (i + 1000) * 10])
                }
            }
            try await group.waitForAll()
        }
        let recorded = sizes.withLock { $0 }
        #expect(recorded.reduce(0, +) == 128)
        #expect(recorded.contains { $0 > 2 }, "concurrent requests should have been batched: \(recorded)")
    }

    @Test func failuresStayWithTheirRequest() async throws {
        let batcher = MicroBatcher<Int, Int>(maxBatchRows: 8) { xs in
            Thread.sleep(forTimeInterval: 0.001)
            if xs.contains(-1) { throw TrainyardError(.invalidInput, "negative") }
            return xs
        }
        let failures = Shared(0)
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask {
                    do { _ = try await batcher.submit([i % 5 == 0 ? -1 : i]) } catch { failures.withLock { $0 += 1 } }
                }
            }
        }
        #expect(failures.withLock { $0 } == 4)
    }
}

@Suite(.serialized) struct ModelServerTests {
    @Test func loadsPredictsAndRejectsBadInput() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        try await fixture.registerTabular("lin")
        let server = ModelServer(services: fixture.services)
        let model = try await server.model(for: try ModelReference(parsing: "lin"))
        let out = try await model.predict([.object(["a": .int(4), "b": .int(1), "c": .string("u")])])
        let value = try #require(out.first?["prediction"]?.doubleValue)
        #expect(value > 0 && value < 60)
        await #expect(throws: TrainyardError.self) { try await model.predict([.object(["a": .string("x")])]) }
        await #expect(throws: TrainyardError.self) { try await server.model(for: try ModelReference(parsing: "lin:7")) }
        await #expect(throws: TrainyardError.self) { try await server.model(for: try ModelReference(parsing: "missing")) }
        #expect(server.metrics.render().contains("trainyard_models_loaded 1"))
    }

    /// A server downloads what it needs into its cache; restarted on the same cache it loads
    /// even when the artifact store no longer has the file (and the checksum still holds).
    @Test func loadsThroughTheArtifactCache() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        try await fixture.registerTabular("lin")
        let options = ServingOptions(cacheDirectory: fixture.directory.appendingPathComponent("serving-cache"))
        let row: JSONValue = .object(["a": .int(4), "b": .int(1), "c": .string("u")])
        let first = fixture.app.modelServer(options: options)
        let expected = try await first.model(for: try ModelReference(parsing: "lin")).predict([row])
        await first.shutdown()
        let cached = try #require(first.services.artifacts as? CachingArtifactStore)
        #expect(try await cached.cachedKeys() == ["models/lin/1/model.bin"])

        try await fixture.services.artifacts.delete("models/lin/1/model.bin")
        let restarted = fixture.app.modelServer(options: options)
        #expect(try await restarted.model(for: try ModelReference(parsing: "lin")).predict([row]) == expected)
        await restarted.shutdown()
        // Without the cache the same load fails: the file really is gone from the store.
        let uncached = ModelServer(services: fixture.services)
        await #expect(throws: TrainyardError.self) { try await uncached.model(for: try ModelReference(parsing: "lin")) }
    }

    /// The issue's swap test: the alias moves 20 times while a client keeps predicting; no
    /// request fails and both versions answer.
    @Test func aliasMovesWithoutFailedRequests() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        let v1 = try await fixture.registerTabular("swap", offset: 0)
        let v2 = try await fixture.registerTabular("swap", offset: 1000)
        let name = try ModelName("swap"), production = try AliasName("production")
        try await fixture.services.store.setAlias(production, of: name, to: v1, actor: "test", reason: nil)
        let server = ModelServer(services: fixture.services, options: ServingOptions(aliasPollInterval: .milliseconds(20)))
        let reference = try ModelReference(parsing: "swap@production")
        _ = try await server.model(for: reference)
        let watcher = Task { try await server.run() }
        let failures = Shared(0), seen = Shared<Set<Int>>([])
        let stop = Shared(false)
        let clients = (0..<4).map { _ in
            Task {
                while !stop.withLock({ $0 }) {
                    do {
                        let model = try await server.model(for: reference)
                        let out = try await model.predict([.object(["a": .int(1), "b": .int(1), "c": .string("v")])])
                        let v = out[0]["prediction"]?.doubleValue ?? 0
                        // The answer must come from the version that says it answered.
                        if (model.number == v2) != (v > 500) { failures.withLock { $0 += 1 } }
                        seen.withLock { _ = $0.insert(model.number) }
                    } catch {
                        failures.withLock { $0 += 1 }
                    }
                }
            }
        }
        for i in 0..<20 {
            let target = i % 2 == 0 ? v2 : v1
            try await fixture.services.store.setAlias(production, of: name, to: target, actor: "test", reason: nil)
            try await Task.sleep(for: .milliseconds(60))
            // Until a client has been answered by the version moved to (an event, bounded
            // generously): on a loaded machine 60 ms can pass with no request answered at all.
            let seenBy = ContinuousClock.now + .seconds(60)
            while !seen.withLock({ $0.contains(target) }) && ContinuousClock.now < seenBy {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        // The last move (to v1) becomes visible once the watcher polls again. Wait for it as an
        // event (bounded generously) rather than for a fixed time a loaded machine can miss.
        var current = try await server.model(for: reference).number
        let deadline = ContinuousClock.now + .seconds(60)
        while current != v1 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            current = try await server.model(for: reference).number
        }
        #expect(current == v1)
        stop.withLock { $0 = true }
        for c in clients { await c.value }
        watcher.cancel()
        await server.shutdown()
        #expect(failures.withLock { $0 } == 0)
        #expect(seen.withLock { $0 } == [v1, v2])
    }

    /// Bring your own model: served through its process, killed mid-traffic, restarted.
    @Test func commandModelIsSupervised() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        try await fixture.registerCommand("byom", constant: 100)
        let server = ModelServer(services: fixture.services)
        let model = try await server.model(for: try ModelReference(parsing: "byom"))
        #expect(try await model.predict([.object(["a": .int(1)])]).map(\.doubleValue) == [101])
        guard case .command(let process) = model.backend, let pid = process.processID else { Issue.record("not a command model"); return }
        kill(pid, SIGKILL)
        var answered = 0
        for _ in 0..<20 {
            if (try? await model.predict([.object(["a": .int(2)])]))?.map(\.doubleValue) == [102] { answered += 1 }
        }
        #expect(answered == 20, "requests during the restart wait for the process to come back")
        #expect(process.restartCount == 1)
        #expect(process.processID != pid)
        await server.shutdown()
    }
}
