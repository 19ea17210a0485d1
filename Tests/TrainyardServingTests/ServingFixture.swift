import Foundation
import Logging
import Testing
import TrainyardApp
import TrainyardCore
import TrainyardRuntime
import TrainyardServing
import TrainyardTabular
import TrainyardTestSupport

/// A trainer that trains nothing: versions are registered through the store directly.
struct NoTrainer: Trainer {
    func validate(_ spec: ParsedSpec) throws(TrainyardError) {}
    func train(_ run: TrainingRun) async throws -> TrainingOutput { TrainingOutput(algorithm: "none", artifacts: [:], metrics: [:]) }
}

/// The system (built by `TrainyardApp`) on a temporary folder, with helpers that register real (small) models.
struct ServingFixture {
    let app: TrainyardApp
    var services: TrainyardServices { app.services }
    let directory: URL

    static func make() async throws -> ServingFixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-serving-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configuration = TrainyardConfiguration(dataDirectory: directory, serverPort: 0)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = try await TrainyardApp.build(configuration, trainers: TrainerRegistry([.command: NoTrainer()]), logger: logger)
        return ServingFixture(app: app, directory: directory)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// A tabular regression version of `name` (y = 3a + 2b + offset); see `RegisteredVersions`.
    @discardableResult
    func registerTabular(_ name: String, offset: Double = 0) async throws -> Int {
        try await RegisteredVersions.registerTabular(name, offset: offset, services: services)
    }

    /// A bring-your-own version answering `constant + a` per row; see `RegisteredVersions`.
    @discardableResult
    func registerCommand(_ name: String, constant: Double, startDelay: Double = 0) async throws -> Int {
        try await RegisteredVersions.registerCommand(name, constant: constant, startDelay: startDelay, services: services)
    }
}
