import Testing
@testable import TrainyardTabular

/// The tabular hyper-parameters as declared: defaults, ranges and the values training uses.
@Suite struct TabularParameterDeclarationTests {
    static let tasks: [TabularTask] = [.regression, .classification]

    @Test(arguments: TabularAlgorithm.allCases)
    func everyDeclaredDefaultPassesItsOwnCheck(_ algorithm: TabularAlgorithm) throws {
        for task in Self.tasks {
            for d in algorithm.parameters.declarations(for: task.rawValue) {
                let value = d.defaultValue(task: task.rawValue, seed: 42)
                #expect(try d.check(value) == value, "\(algorithm) \(d.name)")
            }
        }
    }

    @Test(arguments: TabularAlgorithm.allCases)
    func resolvedParamsAreExactlyTheDeclaredOnes(_ algorithm: TabularAlgorithm) throws {
        for task in Self.tasks {
            let resolved = try TabularLearning.resolvedParams(task: task, algorithm: algorithm.rawValue, params: [:])
            var declared = Set(algorithm.parameters.declarations(for: task.rawValue).map(\.name))
            if algorithm == .linear { declared.remove("seed") }  // accepted, never used by the fit
            #expect(Set(resolved.keys) == declared, "\(algorithm) \(task)")
        }
    }

    @Test func outOfRangeValueNamesKeyAndRange() {
        #expect(throws: ParameterError(key: "max_leaves", message: "must be an integer in [2, 4096]; got 1")) {
            try TabularLearning.validate(task: .regression, algorithm: "gbdt", params: ["max_leaves": .int(1)])
        }
        #expect(throws: ParameterError(key: "learning_rate", message: "must be a number in [1e-06, 1.0]; got \"fast\"")) {
            try TabularLearning.validate(task: .regression, algorithm: "gbdt", params: ["learning_rate": .string("fast")])
        }
        #expect(throws: ParameterError(key: "hidden_layers[1]", message: "must be an integer in [1, 4096]; got 0")) {
            try TabularLearning.validate(task: .regression, algorithm: "mlp", params: ["hidden_layers": .list([.int(8), .int(0)])])
        }
    }

    @Test func taskOnlyParameterIsRefusedElsewhereWithTheReason() throws {
        try TabularLearning.validate(task: .classification, algorithm: "linear", params: ["epochs": .int(50)])
        #expect(throws: ParameterError(key: "epochs", message: "applies only to tabular-classification with linear")) {
            try TabularLearning.validate(task: .regression, algorithm: "linear", params: ["epochs": .int(50)])
        }
    }

    @Test func taskDependentDefaults() throws {
        #expect(try GBDTConfig(params: [:], seed: 1, task: .regression).linearTree)
        #expect(try !GBDTConfig(params: [:], seed: 1, task: .classification).linearTree)
        #expect(try GBDTConfig(params: [:], seed: 7).seed == 7)
        #expect(try GBDTConfig(params: ["seed": .int(9)], seed: 7).seed == 9)
    }

    /// The tree learner used to carry defaults of its own (31 leaves) that disagreed with
    /// the spec's (32): it now takes every value from the declared gbdt parameters.
    @Test func treeLearnerTakesTheDeclaredGBDTDefaults() throws {
        let config = HistogramTreeLearner.Configuration(try GBDTConfig(params: [:], seed: 42), rows: 1000)
        #expect(config.maxLeaves == 32)
        #expect(GBDTConfig.maxLeaves.defaultValue == .value(.int(32)))
        #expect(config.minDataInLeaf == 20)  // automatic: 1000 rows / 20, at most 20
        #expect(config.maxCatThreshold == 32 && config.maxCatToOnehot == 4 && config.minDataPerGroup == 20)
        #expect(config.catSmooth == 10 && config.catL2 == 10 && config.lambdaL2 == 0 && config.maxDepth == 0)
        #expect(config.nodeFeatureFraction == 1)
    }

    @Test func unknownAlgorithmListsTheKnownOnes() {
        #expect(throws: ParameterError(key: "algorithm", message: "must be one of gbdt, mlp, linear; got \"forest\"")) {
            try TabularLearning.validate(task: .regression, algorithm: "forest", params: [:])
        }
    }
}
