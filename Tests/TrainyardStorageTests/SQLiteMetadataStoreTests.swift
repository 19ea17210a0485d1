import Foundation
import Testing
import TrainyardCore
@testable import TrainyardStorage

func temporaryDirectory(_ label: String = "trainyard") throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// What only the SQLite store does (the shared behaviour is in `MetadataStoreContractTests`).
@Suite("SQLiteMetadataStore")
struct SQLiteMetadataStoreTests {
    @Test func namespacesShareAFileWithoutSeeingEachOther() async throws {
        let file = try temporaryDirectory("trainyard-ns").appendingPathComponent("trainyard.sqlite")
        let clock = ManualClock()
        let dev = try SQLiteMetadataStore(file: file, namespace: Namespace(), clock: clock)
        let prod = try SQLiteMetadataStore(file: file, namespace: try Namespace(project: "default", environment: "prod"), clock: clock)
        let job = try await dev.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec("iris")))
        #expect(try await prod.jobs(JobFilter()).isEmpty)
        #expect(try await prod.job(job.id) == nil)
        #expect(try await prod.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(30)) == nil)
        try await MetadataStoreContract.train(prod, clock, "wine")
        #expect(try await dev.models().isEmpty)
        #expect(try await dev.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(30))?.job.id == job.id)
        // Reopening finds both namespaces migrated and intact.
        let devAgain = try SQLiteMetadataStore(file: file, namespace: Namespace(), clock: clock)
        #expect(try await devAgain.job(job.id)?.state == .running)
        let prodAgain = try SQLiteMetadataStore(file: file, namespace: try Namespace(project: "default", environment: "prod"), clock: clock)
        #expect(try await prodAgain.models().map(\.name.rawValue) == ["wine"])
    }
}
