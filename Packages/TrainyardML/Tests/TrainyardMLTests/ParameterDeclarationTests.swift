import Testing
import TrainyardML

/// `ParameterDeclaration` / `ParameterSet`: checks, defaults, aliases and unknown keys.
@Suite struct ParameterDeclarationTests {
    static let count = ParameterDeclaration.integer("count", default: 3, in: 1...10, doc: "How many.", aliases: ["n"])
    static let rate = ParameterDeclaration.number("rate", default: 0.5, in: 0...1, doc: "How fast.")
    static let mode = ParameterDeclaration.choice("mode", default: "a", from: ["a", "b"], doc: "Which way.")
    static let sizes = ParameterDeclaration.integerList("sizes", default: [4], each: 1...8, count: 1...2, doc: "Layer sizes.")
    static let only = ParameterDeclaration("only", kind: .boolean, default: .value(.bool(false)), doc: "One task's.", tasks: ["t1"])
    static let set = ParameterSet(algorithm: "demo", [count, rate, mode, sizes, only, .seed(in: 0...100)])

    @Test func defaultsFillWhatIsNotGiven() throws {
        let v = try Self.set.resolve([:], task: "t1", seed: 7)
        #expect(v.values == ["count": .int(3), "rate": .double(0.5), "mode": .string("a"), "sizes": .list([.int(4)]),
                             "only": .bool(false), "seed": .int(7)])
        #expect(v.given.isEmpty)
        #expect(try Self.set.resolve([:], task: "t2", seed: 7).values["only"] == nil)
    }

    @Test func valuesAreCheckedAgainstTheirDeclaration() throws {
        #expect(throws: ParameterError(key: "count", message: "must be an integer in [1, 10]; got 11")) {
            try Self.set.resolve(["count": .int(11)], task: nil, seed: 0)
        }
        #expect(throws: ParameterError(key: "rate", message: "must be a number in [0.0, 1.0]; got 2.0")) {
            try Self.set.resolve(["rate": .double(2)], task: nil, seed: 0)
        }
        #expect(throws: ParameterError(key: "mode", message: "must be one of a, b; got \"c\"")) {
            try Self.set.resolve(["mode": .string("c")], task: nil, seed: 0)
        }
        #expect(throws: ParameterError(key: "sizes", message: "must be a list of 1 to 2 integers, each in [1, 8]; got [1, 2, 3]")) {
            try Self.set.resolve(["sizes": .list([.int(1), .int(2), .int(3)])], task: nil, seed: 0)
        }
        #expect(throws: ParameterError(key: "rate", message: "must be a number in [0.0, 1.0]; got nan")) {
            try Self.set.resolve(["rate": .double(.nan)], task: nil, seed: 0)
        }
        // An integer is a number.
        #expect(try Self.set.resolve(["rate": .int(1)], task: nil, seed: 0).values["rate"] == .double(1))
    }

    @Test func aliasesAreReadAndTheNameWins() throws {
        #expect(try Self.set.resolve(["n": .int(5)], task: nil, seed: 0).values["count"] == .int(5))
        #expect(try Self.set.resolve(["n": .int(5), "count": .int(6)], task: nil, seed: 0).values["count"] == .int(6))
        #expect(throws: ParameterError(key: "n", message: "must be an integer in [1, 10]; got 0")) {
            try Self.set.resolve(["n": .int(0), "count": .int(6)], task: nil, seed: 0)
        }
    }

    @Test func unknownKeysNameTheKnownOnes() {
        #expect(throws: ParameterError(key: "cuont", message: "unknown parameter of demo; known: count, mode, only, rate, seed, sizes")) {
            try Self.set.resolve(["cuont": .int(1)], task: "t1", seed: 0)
        }
        #expect(throws: ParameterError(key: "only", message: "applies only to t1 with demo")) {
            try Self.set.resolve(["only": .bool(true)], task: "t2", seed: 0)
        }
    }

    @Test func constraintsInWords() {
        #expect(Self.count.constraint == "an integer in [1, 10]")
        #expect(Self.sizes.constraint == "a list of 1 to 2 integers, each in [1, 8]")
        #expect(Self.mode.typeName == "string" && Self.sizes.typeName == "list of integers")
    }
}
