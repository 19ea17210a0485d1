import Foundation
import Testing

/// `trainyard params [ALGORITHM]`: the declared hyper-parameters, as a table or JSON.
@Suite("trainyard params")
struct ParamsCommandTests {
    static let algorithms = ["gbdt", "mlp", "linear", "logistic-regression", "crf"]

    /// The JSON listing of `algorithm`, parsed.
    static func json(_ cli: CLIHarness, _ algorithm: String) async throws -> [String: Any] {
        let r = try await cli.run(["params", algorithm, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    @Test func gbdtTableListsEveryDeclaredParameter() async throws {
        let cli = try CLIHarness()
        let listing = try await Self.json(cli, "gbdt")
        let parameters = try #require(listing["parameters"] as? [[String: Any]])
        let names = parameters.compactMap { $0["name"] as? String }
        #expect(names.count == parameters.count && names.count >= 20)
        #expect(names.contains("trees") && names.contains("max_leaves") && names.contains("learning_rate"))

        let r = try await cli.run(["params", "gbdt"])
        #expect(r.status == 0)
        let rows = r.stdout.split(separator: "\n").map(String.init)
        for name in names {
            #expect(rows.contains { $0.hasPrefix(name + " ") }, "no row for \(name)")
        }
        // The default training uses (the spec's 32 leaves, not a second default of 31).
        let maxLeaves = try #require(rows.first { $0.hasPrefix("max_leaves ") })
        #expect(maxLeaves.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first == "32")
        #expect(r.stdout.contains("an integer in [2, 4096]"))
    }

    @Test func jsonParsesForEveryAlgorithm() async throws {
        let cli = try CLIHarness()
        for algorithm in Self.algorithms {
            let listing = try await Self.json(cli, algorithm)
            #expect(listing["algorithm"] as? String == algorithm)
            let parameters = try #require(listing["parameters"] as? [[String: Any]], "\(algorithm)")
            for p in parameters {
                #expect(p["name"] is String && p["type"] is String && p["allowed"] is String && p["doc"] is String)
                #expect(p["default"] != nil || p["default_by_task"] != nil || p["default_from"] != nil, "\(algorithm).\(p["name"] ?? "?")")
            }
        }
        let all = try await cli.run(["params", "--json"])
        let list = try #require(try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [[String: Any]])
        #expect(list.compactMap { $0["algorithm"] as? String } == Self.algorithms)
    }

    @Test func withoutAnAlgorithmListsThemAll() async throws {
        let r = try await CLIHarness().run(["params"])
        #expect(r.status == 0)
        for algorithm in Self.algorithms { #expect(r.stdout.contains("\n\(algorithm) ")) }
    }

    @Test func unknownAlgorithmExitsTwoNamingTheKnownOnes() async throws {
        let cli = try CLIHarness()
        let r = try await cli.run(["params", "nope"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown algorithm \"nope\""))
        #expect(r.stderr.contains("gbdt, mlp, linear, logistic-regression, crf"))
        let json = try await cli.run(["params", "nope", "--json"])
        #expect(json.status == 2)
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((envelope["error"] as? [String: Any])?["code"] as? String == "invalid_argument")
    }
}
