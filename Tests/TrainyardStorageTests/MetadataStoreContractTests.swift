import Foundation
import Testing
import TrainyardCore
import TrainyardTestServices
@testable import TrainyardStorage

/// The metadata-store backends the contract runs against.
enum MetadataBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case memory
    case postgres

    /// PostgreSQL only when a server was announced or services are required (a missing one
    /// then fails its cases); otherwise its cases are left out, and PostgresMetadataStoreTests
    /// shows why it was skipped.
    static var allCases: [MetadataBackend] { [.sqlite, .memory] + (TestService.postgres.shouldRun ? [.postgres] : []) }

    var contract: MetadataStoreContract {
        switch self {
        case .sqlite:
            MetadataStoreContract { clock, retryPolicy, onChange in
                let dir = try temporaryDirectory("trainyard-sqlite")
                return try SQLiteMetadataStore(file: dir.appendingPathComponent("trainyard.sqlite"), clock: clock, retryPolicy: retryPolicy,
                                               onChange: onChange)
            }
        case .memory:
            MetadataStoreContract { clock, retryPolicy, onChange in
                InMemoryMetadataStore(clock: clock, retryPolicy: retryPolicy, onChange: onChange)
            }
        case .postgres:
            // A schema of its own per store, dropped when the test ends (.postgresSchemasDropped).
            MetadataStoreContract { clock, retryPolicy, onChange in
                try await PostgresTestStores.open(clock: clock, retryPolicy: retryPolicy, onChange: onChange)
            }
        }
    }

    var testDescription: String { rawValue }
}

/// Every check of `MetadataStoreContract`, once per backend: one body, every store.
@Suite("MetadataStore contract", .serialized, .postgresSchemasDropped)
struct MetadataStoreContractTests {
    static let backends = MetadataBackend.allCases

    // MARK: Queue

    @Test(arguments: backends) func dequeueOrder(_ backend: MetadataBackend) async throws { try await backend.contract.dequeueOrder() }
    @Test(arguments: backends) func leaseExclusivity(_ backend: MetadataBackend) async throws { try await backend.contract.leaseExclusivity() }
    @Test(arguments: backends) func completionLeasesTheNextJob(_ backend: MetadataBackend) async throws {
        try await backend.contract.completionLeasesTheNextJob()
    }
    @Test(arguments: backends) func heartbeatExtendsAndExpiredLeasesAreReclaimed(_ backend: MetadataBackend) async throws {
        try await backend.contract.heartbeatExtendsAndExpiredLeasesAreReclaimed()
    }
    @Test(arguments: backends) func leaseHeldUntilItsExpiryInstant(_ backend: MetadataBackend) async throws {
        try await backend.contract.leaseHeldUntilItsExpiryInstant()
    }
    @Test(arguments: backends) func failRetriesWithBackoffThenFails(_ backend: MetadataBackend) async throws {
        try await backend.contract.failRetriesWithBackoffThenFails()
    }
    @Test(arguments: backends) func completeClearsFailureReason(_ backend: MetadataBackend) async throws {
        try await backend.contract.completeClearsFailureReason()
    }
    @Test(arguments: backends) func reclaimTellsTheJobLog(_ backend: MetadataBackend) async throws { try await backend.contract.reclaimTellsTheJobLog() }
    @Test(arguments: backends) func nonRetryableFailsAtOnce(_ backend: MetadataBackend) async throws { try await backend.contract.nonRetryableFailsAtOnce() }
    @Test(arguments: backends) func cancellation(_ backend: MetadataBackend) async throws { try await backend.contract.cancellation() }
    @Test(arguments: backends) func cancelRequestedJobWhoseWorkerVanishedEndsCancelled(_ backend: MetadataBackend) async throws {
        try await backend.contract.cancelRequestedJobWhoseWorkerVanishedEndsCancelled()
    }
    @Test(arguments: backends) func runningCap(_ backend: MetadataBackend) async throws { try await backend.contract.runningCap() }
    @Test(arguments: backends) func releaseDoesNotConsumeAnAttempt(_ backend: MetadataBackend) async throws {
        try await backend.contract.releaseDoesNotConsumeAnAttempt()
    }
    @Test(arguments: backends) func staleAndForgedTokensAreFenced(_ backend: MetadataBackend) async throws {
        try await backend.contract.staleAndForgedTokensAreFenced()
    }
    @Test(arguments: backends) func nextWakeup(_ backend: MetadataBackend) async throws { try await backend.contract.nextWakeup() }
    @Test(arguments: backends) func onChangeSignalsWork(_ backend: MetadataBackend) async throws { try await backend.contract.onChangeSignalsWork() }

    // MARK: Registry

    @Test(arguments: backends) func versionReservationAndCompletion(_ backend: MetadataBackend) async throws {
        try await backend.contract.versionReservationAndCompletion()
    }
    @Test(arguments: backends) func retriedJobRegistersExactlyOneVersion(_ backend: MetadataBackend) async throws {
        try await backend.contract.retriedJobRegistersExactlyOneVersion()
    }
    @Test(arguments: backends) func reservedVersionIsStableAcrossAttempts(_ backend: MetadataBackend) async throws {
        try await backend.contract.reservedVersionIsStableAcrossAttempts()
    }
    @Test(arguments: backends) func refusedCompletionChangesNothing(_ backend: MetadataBackend) async throws {
        try await backend.contract.refusedCompletionChangesNothing()
    }
    @Test(arguments: backends) func versionNumbersAreNeverReused(_ backend: MetadataBackend) async throws {
        try await backend.contract.versionNumbersAreNeverReused()
    }
    @Test(arguments: backends) func promotionOnlyWhenBetter(_ backend: MetadataBackend) async throws {
        try await backend.contract.promotionOnlyWhenBetter()
    }
    @Test(arguments: backends) func promotionComparesOnTheSameData(_ backend: MetadataBackend) async throws {
        try await backend.contract.promotionComparesOnTheSameData()
    }
    @Test(arguments: backends) func aliasesAuditArchiveAndResolve(_ backend: MetadataBackend) async throws {
        try await backend.contract.aliasesAuditArchiveAndResolve()
    }

    // MARK: Logs, listing, idempotency

    @Test(arguments: backends) func logs(_ backend: MetadataBackend) async throws { try await backend.contract.logs() }
    @Test(arguments: backends) func listingFilters(_ backend: MetadataBackend) async throws { try await backend.contract.listingFilters() }
    @Test(arguments: backends) func idempotentEnqueue(_ backend: MetadataBackend) async throws { try await backend.contract.idempotentEnqueue() }
    @Test(arguments: backends) func idempotencyKeyFindsTheFirstJobInAnyState(_ backend: MetadataBackend) async throws {
        try await backend.contract.idempotencyKeyFindsTheFirstJobInAnyState()
    }

    // MARK: Operations

    @Test(arguments: backends) func queueCountsPerKindAndStateWithLeaseExpiries(_ backend: MetadataBackend) async throws {
        try await backend.contract.queueCountsPerKindAndStateWithLeaseExpiries()
    }
    @Test(arguments: backends) func pingAnswersAndChangesNothing(_ backend: MetadataBackend) async throws {
        try await backend.contract.pingAnswersAndChangesNothing()
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
