import Testing
@testable import TrainyardTabular

@Suite struct LearnerTests {
    static let fastParams: [String: [String: ParamValue]] = [
        "gbdt": ["trees": .int(150), "learning_rate": .double(0.1), "min_data_in_leaf": .int(5)],
        "mlp": ["hidden_layers": .list([.int(32), .int(32)]), "epochs": .int(60), "batch_size": .int(32), "learning_rate": .double(0.005)],
        "linear": [:],
    ]

    func train(_ algorithm: String, task: TabularTask, csv: [UInt8], target: String, params: [String: ParamValue]? = nil,
               seed: UInt64 = 42, observer: any TrainingObserver = SilentObserver()) throws -> TabularTrainingResult {
        try TabularLearning.train(TabularTrainingRequest(task: task, algorithm: algorithm, params: params ?? Self.fastParams[algorithm]!,
                                                         target: target, train: csv, validation: .fraction(0.2), seed: seed), observer: observer)
    }

    @Test(arguments: ["gbdt", "mlp", "linear"])
    func learnsASyntheticRegression(algorithm: String) throws {
        let result = try train(algorithm, task: .regression, csv: TestData.regressionCSV(rows: 1200, seed: 1), target: "y")
        // y spans about ±12 with sd ≈ 4.5; every learner should explain most of it.
        #expect(result.metrics["r2"]! > 0.95, "\(algorithm): \(result.metrics)")
        #expect(result.metrics.keys.sorted() == ["mae", "r2", "rmse"])
        #expect(!result.history.isEmpty)
        #expect(result.history.last!.metrics["train_loss"] != nil && result.history.last!.metrics["validation_loss"] != nil)
        let test = try TabularPredictor(model: result.model).evaluate(csv: TestData.regressionCSV(rows: 300, seed: 2))
        #expect(test.metrics["r2"]! > 0.95, "\(algorithm) test: \(test.metrics)")
    }

    @Test(arguments: ["gbdt", "mlp", "linear"])
    func learnsASyntheticClassification(algorithm: String) throws {
        let result = try train(algorithm, task: .classification, csv: TestData.classificationCSV(rows: 1200, seed: 3), target: "label")
        #expect(result.metrics["accuracy"]! > 0.9, "\(algorithm): \(result.metrics)")
        #expect(Set(result.metrics.keys) == ["accuracy", "macro_f1", "logloss"])
        let predictor = try TabularPredictor(model: result.model)
        let p = try predictor.predict(records: [["x1": .number(1.5), "x2": .number(1.0), "shape": .string("round")]])
        #expect(p[0].label == "a")
        #expect(abs(p[0].probabilities!.values.reduce(0, +) - 1) < 1e-9)
    }

    @Test func binaryClassificationReportsAUC() throws {
        let result = try train("gbdt", task: .classification, csv: TestData.classificationCSV(rows: 800, seed: 4, classes: 2), target: "label")
        #expect(result.metrics["auc"]! > 0.95)
        #expect(result.schema.classes == ["no", "yes"])
    }

    @Test(arguments: ["gbdt", "mlp", "linear"])
    func saveLoadPredictIsIdenticalAndDeterministic(algorithm: String) throws {
        let csv = TestData.regressionCSV(rows: 600, seed: 5)
        let a = try train(algorithm, task: .regression, csv: csv, target: "y", seed: 7)
        let b = try train(algorithm, task: .regression, csv: csv, target: "y", seed: 7)
        #expect(a.model == b.model, "same seed, same bytes")
        let test = TestData.regressionCSV(rows: 100, seed: 6)
        let p1 = try TabularPredictor(model: a.model).predict(csv: test)
        let p2 = try TabularPredictor(model: a.checkpoint).predict(csv: test)  // a checkpoint loads too
        #expect(p1 == p2)
        // The in-memory model (before serialisation) predicts the same values.
        let reloaded = try TabularModel(bytes: a.model)
        #expect(reloaded.serialized() == a.model)
        #expect(p1.count == 100 && p1.allSatisfy { $0.value != nil && $0.label == nil })
    }

    @Test func predictionHandlesMissingAndUnknownAndRejectsWrongTypes() throws {
        let result = try train("gbdt", task: .regression, csv: TestData.regressionCSV(rows: 400, seed: 8), target: "y")
        let predictor = try TabularPredictor(model: result.model)
        // Missing column, explicit missing, unknown category: all predicted.
        let ok = try predictor.predict(records: [["x1": .number(1)], ["x1": .missing, "x2": .string("NA"), "color": .string("purple")], ["x1": .string("0.5"), "color": .number(3)]])
        #expect(ok.count == 3 && ok.allSatisfy { $0.value!.isFinite })
        do {
            _ = try predictor.predict(records: [["x1": .number(1)], ["x1": .string("abc")]])
            Issue.record("expected an error")
        } catch let e as TabularDataError {
            #expect(e.code == .wrongType)
            #expect(e.record == 1 && e.column == "x1")
            #expect(e.description.contains("record 1") && e.description.contains("x1"))
        }
        do {
            _ = try predictor.predict(records: [["x3": .number(1)]])
            Issue.record("expected an error")
        } catch let e as TabularDataError {
            #expect(e.code == .unknownColumn && e.column == "x3")
        }
        do {
            _ = try predictor.predict(csv: TestData.bytes("x1,x2,color\n1,2,red\n1,zz,red\n"))
            Issue.record("expected an error")
        } catch let e as TabularDataError {
            #expect(e.code == .wrongType && e.line == 3 && e.column == "x2")
        }
        // The target column is ignored when scoring, required when evaluating.
        #expect(try predictor.predict(csv: TestData.bytes("x1,x2,color,y\n1,2,red,7\n")).count == 1)
        #expect(throws: TabularDataError.self) { try predictor.evaluate(csv: TestData.bytes("x1,x2,color\n1,2,red\n")) }
    }

    @Test func parameterValidation() {
        func key(_ algorithm: String, _ params: [String: ParamValue], task: TabularTask = .regression) -> String? {
            do { try TabularLearning.validate(task: task, algorithm: algorithm, params: params); return nil } catch { return error.key }
        }
        #expect(key("gbdt", ["trees": .int(10), "learning_rate": .double(0.1)]) == nil)
        #expect(key("gbdt", ["tress": .int(10)]) == "tress")
        #expect(key("gbdt", ["trees": .string("ten")]) == "trees")
        #expect(key("gbdt", ["learning_rate": .double(2)]) == "learning_rate")
        #expect(key("gbdt", ["max_bins": .int(1000)]) == "max_bins")
        #expect(key("mlp", ["hidden_layers": .list([.int(8), .int(0)])]) == "hidden_layers[1]")
        #expect(key("linear", ["epochs": .int(5)], task: .regression) == "epochs")
        #expect(key("linear", ["epochs": .int(5)], task: .classification) == nil)
        #expect(key("forest", [:]) == "algorithm")
        let resolved = try? TabularLearning.resolvedParams(task: .regression, algorithm: "gbdt", params: [:])
        #expect(resolved?["trees"] != nil && resolved?["max_leaves"] != nil && resolved?["seed"] == .int(42))
    }

    @Test(arguments: ["gbdt", "mlp", "linear"])
    func observerCanCancel(algorithm: String) throws {
        let observer = RecordingObserver(stopAfter: 2)
        #expect(throws: TrainingStopped.self) {
            try train(algorithm, task: .classification, csv: TestData.classificationCSV(rows: 300, seed: 9), target: "label", observer: observer)
        }
        #expect(observer.reports.count == 2)
        #expect(observer.reports[0].metrics["accuracy"] != nil)
    }

    @Test func warmStartWithADifferentSchemaFails() throws {
        let v1 = try train("gbdt", task: .regression, csv: TestData.regressionCSV(rows: 300, seed: 10), target: "y")
        let other = TestData.bytes("x1,y\n1,2\n2,3\n3,5\n4,4\n")
        do {
            _ = try TabularLearning.train(TabularTrainingRequest(task: .regression, algorithm: "gbdt", target: "y", train: other, warmStart: v1.checkpoint),
                                          observer: SilentObserver())
            Issue.record("expected an error")
        } catch let e as TabularDataError {
            #expect(e.code == .incompatibleSchema)
            #expect(e.description.contains("x2"))
        }
        // Another algorithm's checkpoint is refused too.
        #expect(throws: TabularDataError.self) {
            try TabularLearning.train(TabularTrainingRequest(task: .regression, algorithm: "mlp", target: "y",
                                                             train: TestData.regressionCSV(rows: 100, seed: 11), warmStart: v1.checkpoint), observer: SilentObserver())
        }
    }

    @Test(arguments: ["gbdt", "mlp", "linear"])
    func warmStartContinuesTraining(algorithm: String) throws {
        let v1 = try train(algorithm, task: .regression, csv: TestData.regressionCSV(rows: 300, seed: 12), target: "y")
        let v2 = try TabularLearning.train(TabularTrainingRequest(task: .regression, algorithm: algorithm, params: Self.fastParams[algorithm]!, target: "y",
                                                                  train: TestData.regressionCSV(rows: 300, seed: 13), warmStart: v1.checkpoint),
                                           observer: SilentObserver())
        #expect(v2.schema == v1.schema)
        #expect(v2.checkpoint.count > v2.model.count || algorithm == "gbdt")
        let test = TestData.regressionCSV(rows: 300, seed: 14)
        let r1 = try TabularPredictor(model: v1.model).evaluate(csv: test).metrics["rmse"]!
        let r2 = try TabularPredictor(model: v2.model).evaluate(csv: test).metrics["rmse"]!
        #expect(r2 <= r1 * 1.05, "\(algorithm): v1 \(r1) v2 \(r2)")
        if algorithm == "mlp" {
            // Adam resumes: the step count carries over.
            let state = try TabularCheckpoint(bytes: v2.checkpoint).state
            var reader = try BinaryReader(state, magic: "TYAD", maxVersion: 1)
            let adam = try AdamState.read(from: &reader)
            #expect(adam.step > 60 * 8)
        }
    }
}

@Suite struct DiamondsTests {
    /// Continuous training on the two halves of diamonds: v2 (warm start from v1 on part 2)
    /// beats v1 on held-out rows. Subsampled to stay fast in debug builds.
    @Test func warmStartOnDiamondsPartsLowersRMSE() throws {
        guard let part1 = TestData.example("diamonds-price/train-part1.csv"), let part2 = TestData.example("diamonds-price/train-part2.csv") else {
            Issue.record("diamonds data not found under \(TestData.examples.path)")
            return
        }
        let params: [String: ParamValue] = ["trees": .int(60), "learning_rate": .double(0.1)]
        let a = TestData.slice(part1, skip: 0, rows: 2500)
        let b = TestData.slice(part2, skip: 0, rows: 2500)
        let heldOut = TestData.slice(part2, skip: 15_000, rows: 2000)
        let v1 = try TabularLearning.train(TabularTrainingRequest(task: .regression, params: params, target: "price", train: a), observer: SilentObserver())
        let v2 = try TabularLearning.train(TabularTrainingRequest(task: .regression, params: params, target: "price", train: b, warmStart: v1.checkpoint),
                                           observer: SilentObserver())
        let r1 = try TabularPredictor(model: v1.model).evaluate(csv: heldOut).metrics["rmse"]!
        let r2 = try TabularPredictor(model: v2.model).evaluate(csv: heldOut).metrics["rmse"]!
        #expect(r2 < r1, "v1 \(r1) v2 \(r2)")
        #expect(r1 < 1500)
    }

    @Test func irisIsLearnedByEveryAlgorithm() throws {
        guard let iris = TestData.example("iris-species/iris.csv") else { Issue.record("iris not found under \(TestData.examples.path)"); return }
        for algorithm in ["gbdt", "linear"] {
            let r = try TabularLearning.train(TabularTrainingRequest(task: .classification, algorithm: algorithm,
                                                                     params: algorithm == "gbdt" ? ["min_data_in_leaf": .int(3), "trees": .int(100)] : [:],
                                                                     target: "species", train: iris, validation: .fraction(0.3)), observer: SilentObserver())
            #expect(r.metrics["accuracy"]! >= 0.9, "\(algorithm) \(r.metrics)")
            #expect(r.schema.classes == ["setosa", "versicolor", "virginica"])
        }
    }
}
