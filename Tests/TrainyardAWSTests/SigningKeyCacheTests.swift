import Foundation
import Testing
@testable import TrainyardAWS

@Suite("SigV4 signing-key cache")
struct SigningKeyCacheTests {
    @Test("one key per day, region, service and credentials; reused within a day")
    func keyedByScope() throws {
        let cache = SigV4SigningKeyCache()
        let credentials = try AWSCredentials(accessKeyID: SigV4TestSuite.accessKeyID, secretAccessKey: SigV4TestSuite.secretAccessKey)
        let signer = try SigV4Signer(credentials: credentials, region: "us-east-1", service: "service", keyCache: cache)
        let request = try SuiteRequestFile(SigV4TestSuite.vectors[0].request).request
        let morning = try instant(SigV4TestSuite.signingInstant)

        let first = try signer.sign(request, payloadHash: .emptyBody, date: morning)
        let again = try signer.sign(request, payloadHash: .emptyBody, date: morning)
        #expect(first.authorization == SigV4TestSuite.vectors[0].authorization)
        #expect(again.authorization == first.authorization)
        #expect(cache.count == 1)

        _ = try signer.sign(request, payloadHash: .emptyBody, date: morning.addingTimeInterval(3600))
        #expect(cache.count == 1, "same day: the cached key is reused")

        _ = try signer.sign(request, payloadHash: .emptyBody, date: morning.addingTimeInterval(86_400))
        #expect(cache.count == 2, "the next day has a key of its own")

        let otherRegion = try SigV4Signer(credentials: credentials, region: "eu-west-1", service: "service", keyCache: cache)
        _ = try otherRegion.sign(request, payloadHash: .emptyBody, date: morning)
        #expect(cache.count == 3)
    }

    @Test("rotated credentials under the same key id do not reuse the old key")
    func rotatedSecret() throws {
        let cache = SigV4SigningKeyCache()
        let date = try instant(SigV4TestSuite.signingInstant)
        let request = try SuiteRequestFile(SigV4TestSuite.vectors[0].request).request
        let original = try SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: SigV4TestSuite.secretAccessKey),
                                       region: "us-east-1", service: "service", keyCache: cache)
        let rotated = try SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "another secret"),
                                      region: "us-east-1", service: "service", keyCache: cache)

        let before = try original.sign(request, payloadHash: .emptyBody, date: date)
        let after = try rotated.sign(request, payloadHash: .emptyBody, date: date)
        #expect(before.authorization == SigV4TestSuite.vectors[0].authorization)
        #expect(after.signature != before.signature)
        #expect(cache.count == 2)
    }

    @Test("the cache stays within its capacity, and a key it forgot is derived again identically")
    func bounded() throws {
        let cache = SigV4SigningKeyCache(capacity: 2)
        let credentials = try AWSCredentials(accessKeyID: SigV4TestSuite.accessKeyID, secretAccessKey: SigV4TestSuite.secretAccessKey)
        let signer = try SigV4Signer(credentials: credentials, region: "us-east-1", service: "service", keyCache: cache)
        let request = try SuiteRequestFile(SigV4TestSuite.vectors[0].request).request
        let start = try instant(SigV4TestSuite.signingInstant)

        for day in 0..<5 {
            _ = try signer.sign(request, payloadHash: .emptyBody, date: start.addingTimeInterval(Double(day) * 86_400))
            #expect(cache.count <= 2)
        }
        let signed = try signer.sign(request, payloadHash: .emptyBody, date: start)
        #expect(signed.authorization == SigV4TestSuite.vectors[0].authorization)
    }

    @Test("concurrent signing from many tasks gives the published signature every time")
    func concurrentUse() async throws {
        let cache = SigV4SigningKeyCache()
        let signer = try SigV4TestSuiteTests.signer()
        let shared = try SigV4Signer(credentials: signer.credentials, region: signer.region, service: signer.service,
                                     options: signer.options, keyCache: cache)
        let request = try SuiteRequestFile(SigV4TestSuite.vectors[0].request).request
        let date = try instant(SigV4TestSuite.signingInstant)

        let authorizations = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<32 {
                group.addTask { try shared.sign(request, payloadHash: .emptyBody, date: date).authorization }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(authorizations == [SigV4TestSuite.vectors[0].authorization])
        #expect(cache.count == 1)
    }
}
