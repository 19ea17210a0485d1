import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardRuntime
import TrainyardServing
@testable import TrainyardServer

/// The bundled `examples/iris-byom` as a user meets it: its spec trains with the real command
/// trainer, and the registered version serves through `serve.py` (PORT, /ping, /invocations in
/// JSON and CSV) behind Trainyard's routes.
@Suite(.serialized) struct IrisBYOMExampleTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/iris-byom")

    @Test func theExampleTrainsAndServesJSONAndCSV() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-iris-byom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = TrainyardConfiguration(dataDirectory: directory, serverPort: 0)
        let logs = LogCapture()
        let app = try await TrainyardApp.build(configuration, trainers: TrainerRegistry([.command: CommandTrainer()]), logger: logs.logger)
        let services = app.services
        let spec = try String(contentsOf: Self.example.appendingPathComponent("spec.yaml"), encoding: .utf8)
        let job = try await services.submitter.submit(spec, options: .init(baseDirectory: Self.example))
        try await WorkerPool(services: services, options: .init(workers: 1, exitWhenIdle: .milliseconds(600), minPoll: .milliseconds(20),
                                                                maxPoll: .milliseconds(100), namePrefix: "test")).run()
        let finished = try await services.store.job(job.id)
        #expect(finished?.state == .succeeded, "\(finished?.failureReason ?? "")")
        let version = try #require(try await services.store.versions(of: try ModelName("iris-byom")).first)
        #expect(version.manifest.serve == ["python3", "serve.py"])
        #expect((version.manifest.metrics["accuracy"] ?? 0) > 0.8)

        let fixture = Fixture(app: app, directory: directory, logs: logs)
        try await fixture.withInference(options: ServingOptions(defaultModel: "iris-byom")) { client, _ in
            let json = try await client.execute(
                uri: "/invocations", method: .post, headers: [.contentType: "application/json"],
                body: body(#"{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}, [6.9, 3.1, 5.4, 2.1]]}"#))
            #expect(json.status == .ok, "\(json.text)")
            let predictions = try json.json()["predictions"]?.arrayValue ?? []
            #expect(predictions.map { $0["label"]?.stringValue } == ["setosa", "virginica"])

            let csv = try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "text/csv"],
                                               body: body("sepal_length,sepal_width,petal_length,petal_width\n5.9,3.0,4.2,1.5\n"))
            #expect(csv.status == .ok, "\(csv.text)")
            #expect(try csv.json()["predictions"]?.arrayValue?.first?["label"]?.stringValue == "versicolor")

            let bad = try await client.execute(uri: "/invocations", method: .post, headers: [.contentType: "application/json"],
                                               body: body(#"{"instances": [{"sepal_length": "wide"}]}"#))
            #expect(bad.status == .badRequest, "\(bad.text)")

            let ping = try await client.execute(uri: "/ping", method: .get)
            #expect(ping.status == .ok)
        }
    }
}
