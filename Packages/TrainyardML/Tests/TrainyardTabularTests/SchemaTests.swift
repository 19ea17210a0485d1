import Foundation
import Testing
@testable import TrainyardTabular

@Suite struct SchemaTests {
    @Test func infersNumericCategoricalAndClasses() throws {
        let csv = TestData.bytes("size,color,n,label\n1.5,red,NA,10\n2,blue,3,2\n,red,4,10\n")
        let s = try TabularSchema.infer(from: CSVTable.parse(csv), target: "label", task: .classification)
        #expect(s.features.map(\.name) == ["size", "color", "n"])
        #expect(s.features.map(\.kind) == [.numeric, .categorical, .numeric])
        #expect(s.features[1].categories == ["blue", "red"])
        #expect(s.classes == ["2", "10"])  // numeric labels sort numerically
        // Codable round trip (the manifest stores it as JSON).
        let decoded = try JSONDecoder().decode(TabularSchema.self, from: JSONEncoder().encode(s))
        #expect(decoded == s)
    }

    private func code(_ csv: String, target: String = "y", task: TabularTask = .regression) -> TabularDataError.Code? {
        do {
            _ = try TabularLearning.train(TabularTrainingRequest(task: task, algorithm: "linear", target: target, train: TestData.bytes(csv),
                                                                 validation: .fraction(0)), observer: SilentObserver())
            return nil
        } catch let e as TabularDataError {
            #expect(!e.description.isEmpty)
            return e.code
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func badInputsGiveClearErrors() {
        #expect(code("") == .emptyFile)
        #expect(code("a,y\n") == .headerOnly)
        #expect(code("a,y\n1,2\n3\n") == .raggedRow)
        #expect(code("a,b\n1,2\n3,4\n", target: "y") == .targetMissing)
        #expect(code("a,y\n1,5\n2,5\n") == .constantTarget)
        #expect(code("a,y\n1,x\n2,y\n", task: .classification) == nil)
        #expect(code("a,y\n1,cheap\n2,dear\n") == .nonNumericTarget)
        #expect(code("a,b,y\n1,,1\n2,NA,2\n") == .allMissingFeature)
    }

    @Test func errorsNameLineAndColumn() {
        do {
            _ = try TabularLearning.train(TabularTrainingRequest(task: .regression, algorithm: "linear", target: "y",
                                                                 train: TestData.bytes("a,y\n1,2\n2,3\n3,oops\n"), validation: .fraction(0)),
                                          observer: SilentObserver())
            Issue.record("expected an error")
        } catch let e as TabularDataError {
            #expect(e.line == 4)
            #expect(e.column == "y")
            #expect(e.description.contains("line 4"))
        } catch { Issue.record("\(error)") }
    }

    @Test func validateHeaderChecksTheTargetOnAPrefix() throws {
        let prefix = TestData.bytes("carat,cut,price\n0.3,Ideal,50")  // cut mid-row
        #expect(try TabularLearning.validateHeader(prefix, target: "price") == ["carat", "cut", "price"])
        do {
            try TabularLearning.validateHeader(prefix, target: "cost")
            Issue.record("expected an error")
        } catch let e as TabularDataError {
            #expect(e.code == .targetMissing)
            #expect(e.description.contains("cost"))
        }
        #expect(throws: TabularDataError.self) { try TabularLearning.validateHeader([], target: "price") }
    }
}
