import Foundation
import Testing
import TrainyardCore
import TrainyardTestSupport
@testable import TrainyardServing

/// A category the model never saw (`"cut": "Superb"` for diamonds) used to be answered with a
/// 200 as if the field were missing; now it is a 400 naming the column, the value and known
/// categories — unless the model learned what "unknown" means (`accepts_unknown`).
@Suite(.serialized) struct UnknownCategoryTests {
    static func schema(acceptsUnknown: Bool? = nil, categories: [String] = ["Fair", "Good", "Ideal", "Premium", "Very Good"]) -> InputSchema {
        var feature: [String: JSONValue] = ["name": .string("cut"), "kind": .string("categorical"),
                                            "categories": .array(categories.map { .string($0) })]
        if let acceptsUnknown { feature["accepts_unknown"] = .bool(acceptsUnknown) }
        let manifestSchema: JSONValue = .object(["target": .string("price"), "features": .array([
            .object(["name": .string("carat"), "kind": .string("numeric")]), .object(feature),
        ])])
        guard case .array(let features)? = manifestSchema["features"] else { return .any }
        return .tabular(columns: features.compactMap(InputSchema.Column.init(manifestFeature:)), target: "price")
    }

    @Test func unknownCategoryIsA400NamingColumnValueAndKnownCategories() throws {
        do {
            _ = try Self.schema().records([.object(["carat": .double(0.5), "cut": .string("Superb")])])
            Issue.record("expected a 400")
        } catch {
            #expect(error.code == .invalidInput && error.code.httpStatus == 400)
            let detail = try #require(error.details.first)
            #expect(detail.path == "inputs[0].cut")
            #expect(detail.message == #"field "cut": unknown category "Superb"; the model knows "Fair", "Good", "Ideal", "Premium", "Very Good""#)
        }
        // Known categories (spaces trimmed as the model trims them), null and the missing spellings pass.
        let ok = try Self.schema().records([.object(["carat": .double(0.5), "cut": .string("Ideal")]),
                                            .object(["carat": .double(0.7), "cut": .string(" Very Good ")]),
                                            .object(["carat": .double(0.7), "cut": .null]),
                                            .object(["carat": .double(0.7), "cut": .string("NA")])])
        #expect(ok.count == 4)
    }

    @Test func aLongListOfCategoriesIsShortenedInTheMessage() throws {
        let many = (0..<40).map { "grade-\($0)" }
        do {
            _ = try Self.schema(categories: many).records([.array([.int(1), .int(7)])])
            Issue.record("expected a 400")
        } catch {
            let message = try #require(error.details.first?.message)
            #expect(message.hasPrefix(#"field "cut": unknown category "7"; the model knows "grade-0", "grade-1""#))
            #expect(message.hasSuffix("… (40 in all)"))
        }
    }

    @Test func aModelTrainedToAcceptUnknownCategoriesAcceptsThem() throws {
        #expect(try Self.schema(acceptsUnknown: true).records([.object(["carat": .double(0.5), "cut": .string("Superb")])]).count == 1)
        // Models trained before the flag existed: a full list of kept categories means the
        // rarest were unknown to the model already.
        let full = (0..<1000).map { "c\($0)" }
        #expect(try Self.schema(categories: full).records([.object(["carat": .double(0.5), "cut": .string("Superb")])]).count == 1)
    }

    /// Through a loaded model: the registered tabular version knows c ∈ {u, v}.
    @Test func aServedModelRejectsAnUnknownCategory() async throws {
        let fixture = try await ServingFixture.make()
        defer { fixture.remove() }
        try await fixture.registerTabular("lin")
        let model = try await ModelServer(services: fixture.services).model(for: try ModelReference(parsing: "lin"))
        _ = try await model.predict([.object(["a": .int(4), "b": .int(1), "c": .string("u")])])
        do {
            _ = try await model.predict([.object(["a": .int(4), "b": .int(1), "c": .string("w")])])
            Issue.record("expected a 400")
        } catch let error as TrainyardError {
            #expect(error.code == .invalidInput)
            #expect(error.details.map(\.path) == ["inputs[0].c"])
            #expect(error.details.first?.message == #"field "c": unknown category "w"; the model knows "u", "v""#)
        }
    }
}
