import Foundation
import Testing
@testable import TrainyardML

@Test func regressionMetricsMatchHandComputedValues() {
    let m = RegressionMetrics(truth: [1, 2, 3, 4], predicted: [1, 2, 4, 2])
    #expect(abs(m.rmse - (5.0 / 4).squareRoot()) < 1e-12)
    #expect(abs(m.mae - 0.75) < 1e-12)
    #expect(abs(m.r2 - (1 - 5.0 / 5.0)) < 1e-12)
}

@Test func classificationMetricsMatchHandComputedValues() {
    // truth 0,0,1,1 predicted 0,1,1,1: class0 tp1 fn1 → F1 2/3; class1 tp2 fp1 → F1 4/5.
    let probs: [Double] = [0.9, 0.1, 0.4, 0.6, 0.2, 0.8, 0.3, 0.7]
    let m = ClassificationMetrics(truth: [0, 0, 1, 1], predicted: [0, 1, 1, 1], classCount: 2, probabilities: probs)
    #expect(abs(m.accuracy - 0.75) < 1e-12)
    #expect(abs(m.macroF1 - (2.0 / 3 + 0.8) / 2) < 1e-12)
    // AUC: positives scores 0.8, 0.7; negatives 0.1, 0.6 → all 4 pairs ordered → 1.0
    #expect(m.auc == 1.0)
    let expected: Double = -(log(0.9) + log(0.4) + log(0.8) + log(0.7)) / 4
    #expect(abs(m.logloss! - expected) < 1e-12)
}

@Test func modelFileRoundTripsAndRejectsTruncation() throws {
    var w = BinaryWriter(magic: "TEST", version: 1)
    w.write(42)
    w.write("héllo")
    w.write([Float(1.5), -2])
    var r = try BinaryReader(w.bytes, magic: "TEST", maxVersion: 1)
    #expect(try r.readInt() == 42)
    #expect(try r.readString() == "héllo")
    #expect(try r.readFloats() == [1.5, -2])
    #expect(r.isAtEnd)
    #expect(throws: ModelFormatError.self) { _ = try BinaryReader(Array(w.bytes.prefix(10)), magic: "XXXX", maxVersion: 1) }
    var truncated = try BinaryReader(Array(w.bytes.prefix(14)), magic: "TEST", maxVersion: 1)
    #expect(throws: ModelFormatError.self) { _ = try truncated.readInt() }
}
