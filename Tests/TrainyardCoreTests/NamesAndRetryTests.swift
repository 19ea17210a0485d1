import Foundation
import Testing
@testable import TrainyardCore

@Suite("Names and references")
struct NameTests {
    @Test(arguments: ["iris", "a", "0model", "diamonds-price", "x.y_z-1", String(repeating: "a", count: 64)])
    func validModelNames(_ name: String) throws {
        #expect(try ModelName(name).rawValue == name)
    }

    @Test(arguments: ["", "Iris", "-iris", ".x", "_x", "a b", "a/b", "é", String(repeating: "a", count: 65), "a@b", "a:1"])
    func invalidModelNames(_ name: String) {
        #expect(throws: TrainyardError.self) { try ModelName(name) }
        #expect(!ModelName.isValid(name))
    }

    @Test func aliasNames() throws {
        #expect(try AliasName("production").rawValue == "production")
        #expect(try AliasName("v2").rawValue == "v2")
        #expect(throws: TrainyardError.self) { try AliasName("3") }
        #expect(throws: TrainyardError.self) { try AliasName("Prod") }
        #expect(throws: TrainyardError.self) { try AliasName("") }
    }

    @Test func modelNameCodable() throws {
        let name = try ModelName("iris")
        #expect(try JSON.encodeString(name) == "\"iris\"")
        #expect(try JSON.decode(ModelName.self, from: "\"iris\"") == name)
        #expect(throws: (any Error).self) { try JSON.decode(ModelName.self, from: "\"Bad Name\"") }
    }

    @Test func references() throws {
        let plain = try ModelReference(parsing: "iris")
        #expect(plain.name.rawValue == "iris")
        #expect(plain.selector == .default)
        #expect(plain.description == "iris")

        let alias = try ModelReference(parsing: "iris@staging")
        #expect(alias.selector == .alias(try AliasName("staging")))
        #expect(alias.description == "iris@staging")

        let version = try ModelReference(parsing: "iris:3")
        #expect(version.selector == .version(3))
        #expect(version.description == "iris:3")
    }

    @Test(arguments: ["", "iris:", "iris:0", "iris:-1", "iris:x", "iris@", "iris@3", "Iris", "iris@Prod", "@prod", ":3"])
    func invalidReferences(_ text: String) {
        #expect(throws: TrainyardError.self) { try ModelReference(parsing: text) }
    }
}

@Suite("RetryPolicy")
struct RetryPolicyTests {
    let policy = RetryPolicy(baseDelay: .seconds(2), maxDelay: .seconds(60), jitter: 0)

    @Test func exponentialGrowth() {
        #expect(policy.decide(attempt: 1, maxAttempts: 10, retryable: true, unitRandom: 0) == .retry(after: .seconds(2)))
        #expect(policy.decide(attempt: 2, maxAttempts: 10, retryable: true, unitRandom: 0) == .retry(after: .seconds(4)))
        #expect(policy.decide(attempt: 3, maxAttempts: 10, retryable: true, unitRandom: 0) == .retry(after: .seconds(8)))
        #expect(policy.decide(attempt: 5, maxAttempts: 10, retryable: true, unitRandom: 0) == .retry(after: .seconds(32)))
    }

    @Test func cappedAtMaxDelay() {
        #expect(policy.decide(attempt: 6, maxAttempts: 100, retryable: true, unitRandom: 0) == .retry(after: .seconds(60)))
        #expect(policy.decide(attempt: 99, maxAttempts: 100, retryable: true, unitRandom: 0.9) == .retry(after: .seconds(60)))
    }

    @Test func jitterStaysWithinBounds() {
        let jittered = RetryPolicy(baseDelay: .seconds(10), maxDelay: .seconds(300), jitter: 0.5)
        for r in stride(from: 0.0, to: 1.0, by: 0.05) {
            guard case .retry(let d) = jittered.decide(attempt: 1, maxAttempts: 3, retryable: true, unitRandom: r) else {
                Issue.record("expected a retry"); return
            }
            #expect(d >= .seconds(5))
            #expect(d < .seconds(10))
        }
        #expect(jittered.decide(attempt: 1, maxAttempts: 3, retryable: true, unitRandom: 0) == .retry(after: .seconds(5)))
    }

    @Test func noRetryWhenNotRetryableOrOutOfAttempts() {
        #expect(policy.decide(attempt: 1, maxAttempts: 3, retryable: false, unitRandom: 0) == .fail)
        #expect(policy.decide(attempt: 3, maxAttempts: 3, retryable: true, unitRandom: 0) == .fail)
        #expect(policy.decide(attempt: 1, maxAttempts: 1, retryable: true, unitRandom: 0) == .fail)
        #expect(policy.decide(attempt: 2, maxAttempts: 3, retryable: true, unitRandom: 0) != .fail)
    }

    @Test func errorCodes() {
        #expect(TrainyardError.Code(rawValue: "lease_lost") == .leaseLost)
        #expect(TrainyardError.Code(rawValue: "nope") == nil)
        #expect(TrainyardError.Code.invalidSpec.isClientError)
        #expect(!TrainyardError.Code.internal.isClientError)
        let e = TrainyardError(.invalidSpec, "bad", details: [.init(path: "a.b", line: 3, column: 4, message: "no")])
        #expect(e.description.contains("a.b (line 3, column 4): no"))
    }
}
