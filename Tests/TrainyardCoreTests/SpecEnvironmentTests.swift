import Foundation
import Testing
@testable import TrainyardCore

/// `env:` on a `task: command` spec: variables of the user's own, never the contract's or the
/// dynamic loader's, each refused at submit with its key path.
@Suite("Spec env")
struct SpecEnvironmentTests {
    static func spec(_ env: String, task: String = "command") -> String {
        """
        name: byom
        task: \(task)
        command: ["python3", "train.py"]
        env: \(env)
        """
    }

    @Test func stringsAndNumbersAreKeptAsText() throws {
        let parsed = try SpecParser().parse(Self.spec(#"{ OMP_NUM_THREADS: 2, LEARNING_RATE: 0.5, MODE: fast, FLAG: "yes" }"#))
        #expect(parsed.spec.env == ["OMP_NUM_THREADS": "2", "LEARNING_RATE": "0.5", "MODE": "fast", "FLAG": "yes"])
        // It survives the queue's JSON encoding.
        let decoded = try JSON.decode(Spec.self, from: try JSON.encode(parsed.spec))
        #expect(decoded.env == parsed.spec.env)
    }

    @Test(arguments: ["TRAINYARD_AUTH_TOKENS", "TRAINYARD_MODEL_DIR", "LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "PORT", "BASH_ENV"])
    func reservedNamesAreRefusedWithTheirPath(_ name: String) throws {
        let error = try #require(parseError(Self.spec("{ \(name): x }")))
        let detail = try #require(error.detail("env.\(name)"))
        #expect(detail.line == 4)
        #expect(detail.message.contains("reserved") || detail.message.contains("cannot be overridden"))
    }

    @Test func badNamesAndValuesAreRefused() throws {
        let lower = try #require(parseError(Self.spec("{ path: /x }")))
        #expect(lower.detail("env.path")?.message.contains("[A-Z_][A-Z0-9_]*") == true)
        let digit = try #require(parseError(Self.spec("{ 1ABC: x }")))
        #expect(digit.detail("env.1ABC") != nil)
        let list = try #require(parseError(Self.spec("{ FEATURES: [a, b] }")))
        #expect(list.detail("env.FEATURES")?.message.contains("string or a number") == true)
        let boolean = try #require(parseError(Self.spec("{ VERBOSE: true }")))
        #expect(boolean.detail("env.VERBOSE")?.message.contains("quote it") == true)
        let notMapping = try #require(parseError(Self.spec("[A, B]")))
        #expect(notMapping.detail("env") != nil)
    }

    @Test func onlyCommandTasksTakeEnv() throws {
        let error = try #require(parseError("""
            name: prices
            task: tabular-regression
            data: { train: d.csv, target: price }
            env: { A: b }
            """))
        #expect(error.detail("env")?.message.contains("only allowed with task: command") == true)
    }
}
