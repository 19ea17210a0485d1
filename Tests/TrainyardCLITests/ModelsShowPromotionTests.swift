import Foundation
import Testing

/// `trainyard models show NAME` says why each version took the alias or not, in the table and
/// under `--json`.
@Suite("CLI: promotion decisions in models show")
struct ModelsShowPromotionTests {
    /// The same spec trained twice: the second version is compared with production on the same
    /// 30 held-out rows, ties, and keeps production where it is.
    @Test func showPrintsEachDecisionAndItsReason() async throws {
        let cli = try CLIHarness()
        let spec = try cli.writeIrisSpec(name: "iris-ct")
        let text = try String(contentsOf: spec, encoding: .utf8) + "\npromote: { alias: production, metric: accuracy }\n"
        try text.write(to: spec, atomically: true, encoding: .utf8)
        for _ in 0..<2 {
            let trained = try await cli.run(["train", spec.path, "--wait"])
            #expect(trained.status == 0, "\(trained.stdout) \(trained.stderr)")
        }

        let shown = try await cli.run(["models", "show", "iris-ct"])
        #expect(shown.status == 0, "\(shown.stderr)")
        let lines = shown.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains("PROMOTED") == true, "\(shown.stdout)")
        #expect(lines.contains { $0.hasPrefix("2 ") && $0.contains(" no ") }, "\(shown.stdout)")
        #expect(lines.contains { $0.hasPrefix("1 ") && $0.contains("production") && $0.contains(" yes ") }, "\(shown.stdout)")
        #expect(lines.contains("Promotion decisions:"), "\(shown.stdout)")
        #expect(lines.contains("  v1  promoted to production: production was unset"), "\(shown.stdout)")
        let second = try #require(lines.first { $0.hasPrefix("  v2  ") }, "\(shown.stdout)")
        #expect(second.hasPrefix("  v2  not promoted: accuracy "), "\(second)")
        #expect(second.contains(" is not better than production (v1) ") && second.hasSuffix(" on the same 30 held-out rows"), "\(second)")

        let json = try await cli.run(["models", "show", "iris-ct", "--json"])
        let versions = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]], "\(json.stdout)")
        let promotions = versions.compactMap { $0["promotion"] as? [String: Any] }
        #expect(promotions.compactMap { $0["promoted"] as? Bool } == [false, true])
        let latest = try #require(promotions.first)
        let reason = latest["reason"] as? String
        #expect(reason == String(second.dropFirst("  v2  ".count)))
        #expect(latest["compared_on"] as? String == "held_out_rows")
        #expect(latest["rows"] as? Int == 30)
    }
}
