import Foundation
import Testing
import TrainyardCore
@testable import TrainyardStorage

func temporaryDirectory(_ label: String = "trainyard") throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("SQLiteMetadataStore contract")
struct SQLiteMetadataStoreTests {
    let contract = MetadataStoreContract { clock, retryPolicy in
        let dir = try temporaryDirectory("trainyard-sqlite")
        return try SQLiteMetadataStore(file: dir.appendingPathComponent("trainyard.sqlite"), clock: clock, retryPolicy: retryPolicy)
    }

    @Test func dequeueOrder() async throws { try await contract.dequeueOrder() }
    @Test func leaseExclusivity() async throws { try await contract.leaseExclusivity() }
    @Test func heartbeatExtendsAndExpiredLeasesAreReclaimed() async throws { try await contract.heartbeatExtendsAndExpiredLeasesAreReclaimed() }
    @Test func failRetriesWithBackoffThenFails() async throws { try await contract.failRetriesWithBackoffThenFails() }
    @Test func completeClearsFailureReason() async throws { try await contract.completeClearsFailureReason() }
    @Test func reclaimTellsTheJobLog() async throws { try await contract.reclaimTellsTheJobLog() }
    @Test func nonRetryableFailsAtOnce() async throws { try await contract.nonRetryableFailsAtOnce() }
    @Test func cancellation() async throws { try await contract.cancellation() }
    @Test func runningCap() async throws { try await contract.runningCap() }
    @Test func releaseDoesNotConsumeAnAttempt() async throws { try await contract.releaseDoesNotConsumeAnAttempt() }
    @Test func versionReservationAndCompletion() async throws { try await contract.versionReservationAndCompletion() }
    @Test func retriedJobRegistersExactlyOneVersion() async throws { try await contract.retriedJobRegistersExactlyOneVersion() }
    @Test func promotionOnlyWhenBetter() async throws { try await contract.promotionOnlyWhenBetter() }
    @Test func promotionComparesOnTheSameData() async throws { try await contract.promotionComparesOnTheSameData() }
    @Test func aliasesAuditArchiveAndResolve() async throws { try await contract.aliasesAuditArchiveAndResolve() }
    @Test func logs() async throws { try await contract.logs() }
    @Test func listingFilters() async throws { try await contract.listingFilters() }
    @Test func idempotentEnqueue() async throws { try await contract.idempotentEnqueue() }

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

    @Test func onChangeIsCalledOnEnqueue() async throws {
        let counter = Counter()
        let store = try SQLiteMetadataStore(file: try temporaryDirectory().appendingPathComponent("db.sqlite"),
                                            onChange: { counter.increment() })
        _ = try await store.enqueue(EnqueueRequest(spec: MetadataStoreContract.spec()))
        #expect(counter.value >= 1)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
