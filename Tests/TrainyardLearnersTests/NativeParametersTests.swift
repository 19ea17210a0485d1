import Foundation
import Testing
import TrainyardCore
import TrainyardLearners
import TrainyardRuntime

/// The hyper-parameter declarations as specs meet them: the catalog and the learners agree,
/// every declared default is accepted, a bad value is refused naming its key path and range.
@Suite struct NativeParametersTests {
    static let tasks: [TaskKind] = [.tabularRegression, .tabularClassification, .textClassification, .ner]

    static func parse(_ task: TaskKind, algorithm: String, params: [String: JSONValue]) throws -> ParsedSpec {
        let data: String = switch task {
        case .tabularRegression, .tabularClassification: "{ train: d.csv, target: y }"
        default: "{ train: d.txt }"
        }
        let paramsText = try JSON.encodeString(JSONValue.object(params))
        return try SpecParser().parse("name: m\ntask: \(task.rawValue)\ndata: \(data)\nmodel:\n  algorithm: \(algorithm)\n  params: \(paramsText)\n")
    }

    static func trainer(_ task: TaskKind) throws -> any Trainer { try #require(TrainerRegistry.standard[task]) }

    @Test func everyCatalogAlgorithmHasDeclaredParametersAndEveryTaskADefault() throws {
        for algorithm in BuiltInAlgorithm.all {
            let set = try #require(NativeParameters.parameters(for: algorithm.name), "\(algorithm.name)")
            #expect(set.algorithm == algorithm.name)
        }
        for task in Self.tasks { #expect(task.defaultAlgorithm != nil, "\(task)") }
        #expect(NativeParameters.parameters(for: "forest") == nil)
    }

    /// Each algorithm's declared defaults, written out in a spec, pass the trainer's submit-time
    /// validation for every task the algorithm serves.
    @Test func everyDeclaredDefaultPassesSpecValidation() throws {
        for algorithm in BuiltInAlgorithm.all {
            let listing = try NativeParameters.listing(for: algorithm.name)
            for task in algorithm.tasks {
                var params: [String: JSONValue] = [:]
                for p in listing.parameters where p.tasks?.contains(task.rawValue) ?? true {
                    params[p.name] = p.defaultValue ?? p.defaultByTask?[task.rawValue] ?? (p.defaultFrom == "seed" ? .int(Spec.Defaults.seed) : nil)
                    #expect(params[p.name] != nil, "\(algorithm.name).\(p.name) has no default")
                }
                let spec = try Self.parse(task, algorithm: algorithm.name, params: params)
                #expect(throws: Never.self, "\(algorithm.name) for \(task)") { try Self.trainer(task).validate(spec) }
            }
        }
    }

    @Test func outOfRangeValueNamesKeyPathRangeAndLine() throws {
        let spec = try Self.parse(.tabularRegression, algorithm: "gbdt", params: ["max_leaves": .int(1)])
        let error = try #require(throws: TrainyardError.self) { try Self.trainer(.tabularRegression).validate(spec) }
        #expect(error.code == .invalidSpec)
        #expect(error.message == "invalid spec: model.params.max_leaves: must be an integer in [2, 4096]; got 1")
        #expect(error.details.first?.path == "model.params.max_leaves")
        #expect(error.details.first?.line == 6)

        let text = try Self.parse(.ner, algorithm: "crf", params: ["l2": .double(5000)])
        let nerError = try #require(throws: TrainyardError.self) { try Self.trainer(.ner).validate(text) }
        #expect(nerError.message == "invalid spec: model.params.l2: must be a number in [0.0, 1000.0]; got 5000.0")
    }

    @Test func unknownParameterListsTheDeclaredOnes() throws {
        let spec = try Self.parse(.tabularClassification, algorithm: "mlp", params: ["leaves": .int(3)])
        let error = try #require(throws: TrainyardError.self) { try Self.trainer(.tabularClassification).validate(spec) }
        let expected = NativeParameters.parameters(for: "mlp")!.declarations.map(\.name).sorted().joined(separator: ", ")
        #expect(error.message == "invalid spec: model.params.leaves: unknown parameter of mlp; known: \(expected)")
    }

    @Test func listingOfAnUnknownAlgorithmNamesTheKnownOnes() throws {
        let error = try #require(throws: TrainyardError.self) { try NativeParameters.listing(for: "nope") }
        #expect(error.code == .invalidArgument)
        #expect(error.message == "unknown algorithm \"nope\"; known algorithms: gbdt, mlp, linear, logistic-regression, crf")
        #expect(NativeParameters.listing().map(\.algorithm) == BuiltInAlgorithm.names)
        let gbdt = try NativeParameters.listing(for: "gbdt")
        #expect(gbdt.defaultFor == ["tabular-regression", "tabular-classification"])
        #expect(gbdt.parameters.first { $0.name == "max_leaves" }?.defaultValue == .int(32))
    }
}
