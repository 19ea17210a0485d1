import Foundation
import Testing
@testable import TrainyardTabular

/// Hostile or broken training data: too many labels or columns, a stray word in a numeric
/// column, NaN and infinities, a run that would not fit in memory. Each fails at once with a
/// message naming where (line, column) or which limit, and nothing is allocated first.
@Suite struct DataValidationTests {
    /// Trains and returns the error it throws (nil when training succeeds).
    private func failure(_ csv: String, task: TabularTask = .regression, target: String = "y", algorithm: String = "gbdt",
                         params: [String: ParamValue] = ["trees": .int(3)], validation: ValidationSource = .fraction(0),
                         limits: TrainingLimits = TrainingLimits()) -> (any Error)? {
        failure(TestData.bytes(csv), task: task, target: target, algorithm: algorithm, params: params, validation: validation, limits: limits)
    }

    private func failure(_ bytes: [UInt8], task: TabularTask = .regression, target: String = "y", algorithm: String = "gbdt",
                         params: [String: ParamValue] = ["trees": .int(3)], validation: ValidationSource = .fraction(0),
                         limits: TrainingLimits = TrainingLimits()) -> (any Error)? {
        do {
            _ = try TabularLearning.train(TabularTrainingRequest(task: task, algorithm: algorithm, params: params, target: target, train: bytes,
                                                                 validation: validation, limits: limits,
                                                                 trainSource: "data.train", validationSource: "data.validation"),
                                          observer: SilentObserver())
            return nil
        } catch {
            return error
        }
    }

    // MARK: Limits

    @Test func twoHundredThousandLabelsHitTheClassLimit() throws {
        var csv = "x,label\n"
        for i in 0..<200_000 { csv += "\(i % 97),L\(i)\n" }
        let error = try #require(failure(csv, task: .classification, target: "label") as? TrainingLimitError)
        #expect(error.key == "limits.classes")
        #expect(error.description == "data.train has 200000 distinct labels; limits.classes allows 10000")
    }

    @Test func classLimitIsConfigurable() throws {
        let csv = "x,label\n" + (0..<60).map { "\($0),c\($0 % 6)" }.joined(separator: "\n") + "\n"
        let error = try #require(failure(csv, task: .classification, target: "label", limits: TrainingLimits(classes: 5)) as? TrainingLimitError)
        #expect(error.description == "data.train has 6 distinct labels; limits.classes allows 5")
        #expect(failure(csv, task: .classification, target: "label", limits: TrainingLimits(classes: 6)) == nil)
    }

    @Test func tooManyColumnsHitTheFeatureLimit() throws {
        let columns = 10_001
        let header = (0..<columns).map { "f\($0)" }.joined(separator: ",") + ",y"
        let row = { (k: Int) in (0..<columns).map { _ in "\(k)" }.joined(separator: ",") + ",\(k)" }
        let csv = [header, row(1), row(2), row(3)].joined(separator: "\n") + "\n"
        let error = try #require(failure(csv) as? TrainingLimitError)
        #expect(error.key == "limits.features")
        #expect(error.description == "data.train has 10001 feature columns; limits.features allows 10000")
    }

    /// At submit time the header alone is checked, even when the first bytes read end inside
    /// it: a partial header already over the limit fails, one under it gives no verdict on
    /// the target (which may come later in the line).
    @Test func headerCheckCountsColumnsOfAPartialHeader() throws {
        let header = (0..<20).map { "feature_\($0)" }.joined(separator: ",") + ",y\n1,2\n"
        let partial = Array(TestData.bytes(header).prefix(60))  // a few columns, no target yet
        #expect(throws: TrainingLimitError.self) {
            try TabularLearning.validateHeader(partial, target: "y", limits: TrainingLimits(features: 3), source: "train.csv", endOfFile: false)
        }
        #expect(try TabularLearning.validateHeader(partial, target: "y", limits: TrainingLimits(features: 30), endOfFile: false).count < 20)
        do {
            try TabularLearning.validateHeader(TestData.bytes(header), target: "y", limits: TrainingLimits(features: 19), source: "train.csv")
            Issue.record("expected the feature limit")
        } catch let e as TrainingLimitError {
            #expect(e.description == "train.csv has 20 feature columns; limits.features allows 19")
        }
    }

    /// Before the fix these runs allocated first (leaves × bins histograms, width × hidden
    /// weights, width² normal equations) and crashed or thrashed; now the plan is checked.
    @Test func runsThatWouldNotFitInMemoryFailBeforeAllocating() throws {
        // 1000 categories: a one-hot width of 1001 inputs for mlp and linear.
        let csv = "x,code,y\n" + (0..<1200).map { "\($0 % 13),k\($0 % 1000),\($0 % 13 * 2 + $0 % 3)" }.joined(separator: "\n") + "\n"
        let limits = TrainingLimits(memoryBytes: 4 << 20)
        let runs: [(String, [String: ParamValue])] = [
            ("gbdt", ["trees": .int(3), "max_leaves": .int(4096)]),  // 4096 leaves × 2 features × 256 bins histograms
            ("mlp", ["hidden_layers": .list([.int(4096), .int(4096)])]),  // 21 M weights, Adam and copies
            ("linear", [:]),  // 1002² normal equations
        ]
        for (algorithm, params) in runs {
            let error = try #require(failure(csv, algorithm: algorithm, params: params, limits: limits) as? TrainingLimitError, "\(algorithm)")
            #expect(error.key == "limits.train_memory_bytes")
            #expect(error.description.hasPrefix("\(algorithm) would need about") && error.description.contains("limits.train_memory_bytes allows 4.0 MiB"),
                    "\(error.description)")
        }
        #expect(failure(csv, algorithm: "gbdt", params: ["trees": .int(3)], limits: TrainingLimits(memoryBytes: 256 << 20)) == nil)
    }

    @Test func memoryPlanArithmeticNeverOverflows() throws {
        var plan = MemoryPlan("test")
        plan.add("huge", Int.max / 2, 3)
        plan.add("small", 10, 8)
        #expect(MemoryPlan.product([Int.max / 2, 3]) == nil)
        #expect(MemoryPlan.sum([Int.max, 1]) == nil)
        #expect(plan.totalBytes == nil)
        do {
            try plan.check(TrainingLimits(), advice: "try less")
            Issue.record("an overflowing plan must not pass")
        } catch {
            #expect(error.description.contains("more memory than can be addressed") && error.description.contains("huge"))
        }
        var fits = MemoryPlan("test")
        fits.add("rows", 1000, 8)
        try fits.check(TrainingLimits(memoryBytes: 8000), advice: "")
    }

    // MARK: Stray values in numeric columns

    @Test func oneWordInANumericColumnIsAnErrorWithLineColumnAndValue() throws {
        var rows = (0..<200).map { "\(Double($0) * 0.01),\($0 % 7),\(2 * $0)" }
        rows[150] = "abc,\(150 % 7),300"  // file line 152 (header is line 1)
        let error = try #require(failure("carat,depth,y\n" + rows.joined(separator: "\n") + "\n") as? TabularDataError)
        #expect(error.code == .wrongType)
        #expect(error.line == 152 && error.column == "carat")
        #expect(error.description.hasPrefix("data.train: line 152, column carat: \"abc\" is not a number (the other 199 values are)"),
                "\(error.description)")
    }

    @Test func aFewStraysAreListedByCount() throws {
        var rows = (0..<400).map { "\($0),\($0 % 5)" }
        rows[10] = "n/a?,0"
        rows[300] = "unknown,0"
        let error = try #require(failure("x,y\n" + rows.joined(separator: "\n") + "\n") as? TabularDataError)
        #expect(error.line == 12 && error.column == "x")
        #expect(error.description.contains("398 of its 400 non-empty values are; 2 are not"), "\(error.description)")
    }

    @Test func genuinelyCategoricalColumnsStayCategorical() throws {
        // Sizes: numbers and letters mixed (a third are words), and a column of words.
        let rows = (0..<90).map { i in "\(["1", "2", "XL"][i % 3]),\(["red", "green"][i % 2]),\(i % 9 + (i % 3 == 2 ? 5 : 0))" }
        let table = try CSVTable.parse(TestData.bytes("size,color,y\n" + rows.joined(separator: "\n") + "\n"))
        let schema = try TabularSchema.infer(from: table, target: "y", task: .regression)
        #expect(schema.features.map(\.kind) == [.categorical, .categorical])
        #expect(schema.features[0].categories == ["1", "2", "XL"])
        #expect(schema.features[0].acceptsUnknown == nil)
        // Fewer than ten numbers: a small column with one word is categorical, not an error.
        let tiny = try TabularSchema.infer(from: CSVTable.parse(TestData.bytes("a,y\n1,1\n2,2\nx,3\n")), target: "y", task: .regression)
        #expect(tiny.features[0].kind == .categorical)
    }

    @Test func aCategoricalColumnCutToTheMostFrequentCategoriesAcceptsUnknownOnes() throws {
        let rows = (0..<(TabularSchema.maxCategories + 50)).map { "id\($0),\($0 % 10)" }
        let schema = try TabularSchema.infer(from: CSVTable.parse(TestData.bytes("code,y\n" + rows.joined(separator: "\n") + "\n")),
                                             target: "y", task: .regression)
        #expect(schema.features[0].categories?.count == TabularSchema.maxCategories)
        #expect(schema.features[0].acceptsUnknown == true)
        let json = String(decoding: try JSONEncoder().encode(schema), as: UTF8.self)
        #expect(json.contains("\"accepts_unknown\":true"))
    }

    // MARK: NaN and infinities

    @Test(arguments: ["NaN", "nan", "inf", "-inf", "+Infinity", "1e999", "-1e400"])
    func nonFiniteFeatureValuesAreRejected(_ spelling: String) throws {
        var rows = (0..<50).map { "\($0),\($0 % 3 == 0 ? "" : "\($0 % 4)"),\($0 * 2)" }  // empty cells are missing values
        rows[20] = "20,\(spelling),40"
        let error = try #require(failure("a,b,y\n" + rows.joined(separator: "\n") + "\n") as? TabularDataError)
        #expect(error.code == .nonFiniteValue)
        #expect(error.line == 22 && error.column == "b")
        #expect(error.description == "data.train: line 22, column b: \"\(spelling)\" is not a finite number; leave the cell empty (or NA) for a missing value")
    }

    @Test(arguments: ["NaN", "inf", "1e999"])
    func nonFiniteRegressionTargetsAreRejected(_ spelling: String) throws {
        var rows = (0..<30).map { "\($0),\($0 * 3)" }
        rows[4] = "4,\(spelling)"
        let error = try #require(failure("x,price\n" + rows.joined(separator: "\n") + "\n", target: "price") as? TabularDataError)
        #expect(error.code == .nonFiniteValue)
        #expect(error.line == 6 && error.column == "price")
    }

    @Test func nonFiniteValuesInTheValidationFileAreRejected() throws {
        let train = "x,y\n" + (0..<40).map { "\($0),\($0 * 2 + $0 % 3)" }.joined(separator: "\n") + "\n"
        let feature = try #require(failure(train, validation: .data(TestData.bytes("x,y\n1,2\ninf,4\n"))) as? TabularDataError)
        #expect(feature.code == .nonFiniteValue && feature.line == 3 && feature.column == "x")
        #expect(feature.description.hasPrefix("data.validation: line 3, column x:"))
        let target = try #require(failure(train, validation: .data(TestData.bytes("x,y\n1,2\n2,-inf\n"))) as? TabularDataError)
        #expect(target.code == .nonFiniteValue && target.line == 3 && target.column == "y")
        let word = try #require(failure(train, validation: .data(TestData.bytes("x,y\n1,2\nabc,4\n"))) as? TabularDataError)
        #expect(word.code == .wrongType && word.line == 3 && word.column == "x")
    }

    @Test func missingValuesAndCategoricalNaNStayMissing() throws {
        // Empty, NA, N/A and null are missing in a numeric column; a categorical column reads
        // NaN as missing and "inf" as a category, as before.
        let rows = (0..<40).map { i in
            "\([" ", "NA", "N/A", "null", "\(i)"][i % 5]),\(["red", "NaN", "inf", "blue"][i % 4]),\(i * 2 + i % 3)"
        }
        let csv = "x,c,y\n" + rows.joined(separator: "\n") + "\n"
        #expect(failure(csv) == nil)
        let schema = try TabularSchema.infer(from: CSVTable.parse(TestData.bytes(csv)), target: "y", task: .regression)
        #expect(schema.features[0].kind == .numeric)
        #expect(schema.features[1].categories == ["blue", "inf", "red"])
    }

    /// Data to predict keeps reading NaN as missing (a served or batch file is not training data).
    @Test func predictionStillReadsNaNAsMissing() throws {
        let result = try TabularLearning.train(TabularTrainingRequest(task: .regression, params: ["trees": .int(5)], target: "y",
                                                                      train: TestData.regressionCSV(rows: 200, seed: 5)), observer: SilentObserver())
        let predictor = try TabularPredictor(model: result.model)
        #expect(try predictor.predict(csv: TestData.bytes("x1,x2,color\n0.5,NaN,red\n")).count == 1)
    }
}
