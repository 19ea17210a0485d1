import Testing
@testable import TrainyardText

/// The text learners' hyper-parameters as declared.
@Suite struct TextParameterDeclarationTests {
    static let sets = [TextClassificationConfig.parameters, NERConfig.parameters]

    @Test func everyDeclaredDefaultPassesItsOwnCheck() throws {
        for set in Self.sets {
            for d in set.declarations {
                let value = d.defaultValue(task: nil, seed: 42)
                #expect(try d.check(value) == value, "\(set.algorithm) \(d.name)")
            }
        }
    }

    @Test func resolvedParamsAreExactlyTheDeclaredOnes() throws {
        #expect(Set(TextClassificationConfig().resolved(seed: 1).keys) == Set(TextClassificationConfig.parameters.declarations.map(\.name)))
        #expect(Set(NERConfig().resolved(seed: 1).keys) == Set(NERConfig.parameters.declarations.map(\.name)))
        #expect(NERConfig().iterations == 120 && TextClassificationConfig().buckets == 1 << 20)
    }

    @Test func nerAliasesStillWork() throws {
        #expect(try NERConfig(["epochs": .int(7)]).iterations == 7)
        #expect(try NERConfig(["c2": .double(0.5)]).l2 == 0.5)
        #expect(try NERConfig(["epochs": .int(7), "iterations": .int(9)]).iterations == 9)
    }

    @Test func outOfRangeNamesKeyAndRange() {
        #expect(throws: ParameterError(key: "epochs", message: "must be an integer in [1, 1000]; got 0")) {
            try TextClassification.validate(params: ["epochs": .int(0)])
        }
        #expect(throws: ParameterError(key: "char_ngrams", message: "must be [min, max] with 1 ≤ min ≤ max ≤ 10, or [0, 0] for none; got [5, 2]")) {
            try TextClassification.validate(params: ["char_ngrams": .list([.int(5), .int(2)])])
        }
    }
}
