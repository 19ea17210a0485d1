import Foundation
import Testing
@testable import TrainyardCore

/// Spec text from outside is hostile: alias bombs, deep nesting, huge values and huge keys must
/// each be refused quickly with a bounded message, never expanded.
@Suite("Spec parser against hostile input")
struct SpecHostileInputTests {
    /// A "billion laughs" document under model.params: nine levels of nine aliases each
    /// would be 9^9 (387 million) scalars once expanded.
    static let aliasBomb: String = {
        var lines = ["name: bomb", "task: tabular-regression", "data: { train: a.csv, target: y }", "model:", "  params:",
                     "    a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]"]
        for level in 1...8 {
            let refs = Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ")
            lines.append("    a\(level): &a\(level) [\(refs)]")
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test func aliasBombIsRefusedBeforeExpansion() throws {
        let error = try #require(parseError(Self.aliasBomb))
        #expect(error.message.contains("anchors"))
        let detail = try #require(error.details.first)
        #expect(detail.line == 6)
    }

    @Test func aliasKeysAreRefusedToo() throws {
        // Yams hashes mapping keys while composing; an aliased key must never reach it.
        let text = "base: &k [1, 2]\nother: { *k : 1 }\n"
        let error = try #require(parseError(text))
        #expect(error.message.contains("anchors") || error.message.contains("aliases"))
    }

    @Test func singleAliasIsNamedWithItsPosition() throws {
        let text = """
            name: m
            task: tabular-regression
            data: { train: a.csv, target: y }
            model: { params: { trees: 10 } }
            tags: *undefined
            """
        let error = try #require(parseError(text))
        #expect(error.details.first?.line == 5)
    }

    /// Beyond libyaml's own limit (1000 levels) its scanner refuses; below it, the preflight does.
    @Test(arguments: [100, 5_000]) func deepNestingIsRefused(depth: Int) throws {
        let text = "name: m\ntask: tabular-regression\nmodel:\n  params:\n    x: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
        let error = try #require(parseError(text))
        #expect(error.message.contains("nested deeper") || error.message.contains("nesting level"))
        #expect(error.details.first?.line == 5)
    }

    @Test func tooManyValuesAreRefused() throws {
        let items = Array(repeating: "1", count: YAMLPreflight.maxNodes + 10).joined(separator: ",")
        let text = "name: m\ntask: tabular-regression\nmodel: { params: { x: [\(items)] } }\n"
        let error = try #require(parseError(text))
        #expect(error.message.contains("more than"))
    }

    @Test func specLargerThanTheLimitIsRefused() throws {
        let text = "name: m\n# " + String(repeating: "x", count: 2_000) + "\n"
        do {
            _ = try SpecParser(maxBytes: 1_000).parse(text)
            Issue.record("expected limits.spec_bytes to refuse the spec")
        } catch {
            #expect(error.code == .invalidSpec)
            #expect(error.message.contains("limits.spec_bytes"))
        }
    }

    @Test func hugeValuesAndKeysAreNotEchoedWhole() throws {
        let huge = String(repeating: "q", count: 70_000)
        for text in ["name: m\ntask: \(huge)\n", "name: m\n\(huge): 1\n", "name: m\ntask: tabular-regression\ntimeout: \"\(huge)\"\n"] {
            let error = try #require(parseError(text))
            let rendered = error.message + error.details.map { "\($0.path ?? "") \($0.message)" }.joined()
            #expect(rendered.utf8.count < 2_000, "error of \(rendered.utf8.count) bytes")
        }
    }

    @Test func ordinarySpecsStillParse() throws {
        let parsed = try SpecParser().parse("""
            name: m
            task: tabular-regression
            data: { train: a.csv, target: y }
            model: { params: { trees: 10, layers: [64, 32] } }
            """)
        #expect(parsed.spec.name.rawValue == "m")
        // JSON is YAML too.
        let json = try SpecParser().parse(#"{"name": "j", "task": "tabular-regression", "data": {"train": "a.csv", "target": "y"}}"#)
        #expect(json.spec.name.rawValue == "j")
    }
}
