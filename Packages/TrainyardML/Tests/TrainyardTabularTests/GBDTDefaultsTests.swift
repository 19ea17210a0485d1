import Testing
@testable import TrainyardTabular

/// The data-size-aware gbdt defaults: automatic `min_data_in_leaf`, `min_data_in_bin`, refit.
@Suite struct GBDTDefaultsTests {
    @Test func automaticMinDataInLeafScalesWithRows() throws {
        // n/20 clamped to 2…20.
        #expect(GBDTConfig.automaticMinDataInLeaf(rows: 10) == 2)
        #expect(GBDTConfig.automaticMinDataInLeaf(rows: 60) == 3)
        #expect(GBDTConfig.automaticMinDataInLeaf(rows: 120) == 6)
        #expect(GBDTConfig.automaticMinDataInLeaf(rows: 399) == 19)
        #expect(GBDTConfig.automaticMinDataInLeaf(rows: 400) == 20)
        #expect(GBDTConfig.automaticMinDataInLeaf(rows: 1_000_000) == 20)
        let auto = try GBDTConfig(params: [:], seed: 42)
        #expect(auto.minDataInLeaf == 0)
        #expect(auto.effectiveMinDataInLeaf(rows: 150) == 7)
        let explicit = try GBDTConfig(params: ["min_data_in_leaf": .int(9)], seed: 42)
        #expect(explicit.effectiveMinDataInLeaf(rows: 150) == 9)
        #expect(try TabularLearning.resolvedParams(task: .regression, algorithm: "gbdt", params: [:])["min_data_in_leaf"] == .string("auto"))
    }

    @Test func resolvedParamsReportTheEffectiveMinDataInLeaf() throws {
        // 300 rows, no validation: 300/20 = 15.
        let r = try TabularLearning.train(TabularTrainingRequest(task: .regression, params: ["trees": .int(20)], target: "y",
                                                                 train: TestData.regressionCSV(rows: 300, seed: 3), validation: .fraction(0)),
                                          observer: SilentObserver())
        #expect(r.resolvedParams["min_data_in_leaf"] == .int(15))
        #expect(r.resolvedParams["refit"] == .bool(true))
    }

    @Test func minDataInBinMergesRareValues() {
        // 10 distinct values, one row each: with min_data_in_bin 3 a bin closes every 3 values.
        let values = (0..<10).map(Double.init)
        #expect(BinMapper.numeric(values, maxBins: 256).binCount == 11)
        let merged = BinMapper.numeric(values, maxBins: 256, minDataInBin: 3)
        #expect(merged.binCount == 5)  // missing + {0,1,2} {3,4,5} {6,7,8} {9}
        #expect(merged.bin(0) == merged.bin(2) && merged.bin(2) != merged.bin(3) && merged.bin(9) == 4)
    }

    @Test func refitTrainsOnEveryRowForTheChosenRounds() throws {
        let csv = TestData.regressionCSV(rows: 1500, seed: 4)
        func fit(_ refit: Bool) throws -> TabularTrainingResult {
            try TabularLearning.train(TabularTrainingRequest(task: .regression, params: ["learning_rate": .double(0.2), "refit": .bool(refit)],
                                                             target: "y", train: csv, validation: .fraction(0.2)), observer: SilentObserver())
        }
        let once = try fit(false), refitted = try fit(true)
        // Same early-stopping pass, so the same history and held-out metrics.
        #expect(once.history == refitted.history)
        #expect(once.metrics == refitted.metrics)
        let a = try TabularPredictor(model: once.model), b = try TabularPredictor(model: refitted.model)
        #expect(a.schema == b.schema)
        #expect(once.model != refitted.model)
        // A separate validation file is never merged into the training rows.
        let separate = try TabularLearning.train(TabularTrainingRequest(task: .regression, target: "y", train: TestData.slice(csv, skip: 0, rows: 1000),
                                                                        validation: .data(TestData.slice(csv, skip: 1000, rows: 500))),
                                                 observer: SilentObserver())
        #expect(separate.history.count >= 1)
    }
}
