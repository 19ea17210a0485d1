import Foundation
import Testing
@testable import TrainyardTabular

/// Batch transform's block scorer: how it reads a file's layout, what it writes, which rows it
/// refuses (with their exact lines), and that its predictions are the predictor's.
@Suite struct BlockScorerTests {
    /// y ≈ 3·x1 − 2·x2 + effect(color): features x1, x2 (numeric), color (red/green/blue).
    static let regression: TabularPredictor = {
        let result = try! TabularLearning.train(TabularTrainingRequest(task: .regression, params: ["trees": .int(20)], target: "y",
                                                                       train: TestData.regressionCSV(rows: 400, seed: 11)), observer: SilentObserver())
        return try! TabularPredictor(model: result.model)
    }()

    /// Classes a / b / c from x1, x2; shape (round/square) as a categorical feature.
    static let classification: TabularPredictor = {
        let result = try! TabularLearning.train(TabularTrainingRequest(task: .classification, params: ["trees": .int(20)], target: "label",
                                                                       train: TestData.classificationCSV(rows: 400, seed: 12)), observer: SilentObserver())
        return try! TabularPredictor(model: result.model)
    }()

    static func scorer(_ predictor: TabularPredictor = regression, format: TabularRecordFormat = .csv, first: String? = nil, header: Bool? = nil,
                       keep: [String] = [], joinInput: Bool = false, probabilities: Bool = false) throws(TabularDataError) -> TabularBlockScorer {
        let delimiter = format == .tsv ? "\t" : ","
        let fields = first.map { $0.split(separator: Character(delimiter), omittingEmptySubsequences: false).map(String.init) }
        return try TabularBlockScorer(predictor: predictor, layout: TabularBlockLayout(format: format, firstRecord: fields, header: header, keep: keep,
                                                                                       joinInput: joinInput, probabilities: probabilities))
    }

    static func text(_ bytes: [UInt8]?) -> String { bytes.map { String(decoding: $0, as: UTF8.self) } ?? "nil" }

    static func lines(_ block: TabularScoredBlock) -> [String] {
        text(block.output).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// The predictor's own answer for one regression row.
    static func expected(_ x1: Double, _ x2: Double?, _ color: String?) throws -> Double {
        let record: [String: FeatureValue] = ["x1": .number(x1), "x2": x2.map { .number($0) } ?? .missing, "color": color.map { .string($0) } ?? .missing]
        return try #require(try regression.predict(records: [record])[0].value)
    }

    // MARK: Layouts

    @Test func headerWithTargetAndExtraColumnsKeepsTheIdAndPredictsLikeThePredictor() throws {
        let scorer = try Self.scorer(first: "id,x1,x2,color,y,note", keep: ["id"])
        #expect(scorer.inputHasHeader)
        #expect(Self.text(scorer.outputHeader) == "id,prediction\n")
        let scored = scorer.score(Array("a1,0.5,-1.25,red,3,x\na2,1.5,NA,blue,,y\n\"a,3\",-0.75,0.25,green,1,z\n".utf8), firstLine: 2)
        #expect(scored.rowsIn == 3 && scored.rowsOut == 3 && scored.errors.isEmpty)
        let lines = Self.lines(scored)
        #expect(lines.count == 3)
        #expect(lines[0] == "a1,\(try Self.expected(0.5, -1.25, "red"))")
        #expect(lines[1] == "a2,\(try Self.expected(1.5, nil, "blue"))")
        #expect(lines[2] == "\"a,3\",\(try Self.expected(-0.75, 0.25, "green"))")  // re-quoted
    }

    @Test func headerColumnsInAnyOrderWithSpacesAndAByteOrderMark() throws {
        let scorer = try Self.scorer(first: "\u{FEFF}color , x2,x1", joinInput: true)
        #expect(Self.text(scorer.outputHeader) == "color,x2,x1,prediction\n")
        let scored = scorer.score(Array(" red ,-1.25,0.5\n".utf8), firstLine: 2)
        #expect(Self.lines(scored) == [" red ,-1.25,0.5,\(try Self.expected(0.5, -1.25, "red"))"])
    }

    @Test func headerlessFileIsInTheModelsColumnOrder() throws {
        let scorer = try Self.scorer(first: "0.5,-1.25,red", keep: ["color"])
        #expect(!scorer.inputHasHeader)
        #expect(Self.text(scorer.outputHeader) == "color,prediction\n")
        // The first block of a header-less file starts at line 1, perhaps with a byte-order mark.
        let scored = scorer.score([0xEF, 0xBB, 0xBF] + Array("0.5,-1.25,red\n1.5,,blue".utf8), firstLine: 1)
        #expect(Self.lines(scored) == ["red,\(try Self.expected(0.5, -1.25, "red"))", "blue,\(try Self.expected(1.5, nil, "blue"))"])
        // Forced: a first record of the right width is data even when told so explicitly.
        #expect(try !Self.scorer(first: "0.5,-1.25,red", header: false).inputHasHeader)
    }

    @Test func headerlessKeepMayNameOnlyTheModelsColumns() throws {
        do throws(TabularDataError) {
            _ = try Self.scorer(first: "0.5,-1.25,red", keep: ["id"])
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unknownColumn && error.column == "id")
            #expect(error.description == "keep: the input has no column 'id'; without a header, its columns are the model's, in order: x1, x2, color")
        }
    }

    @Test func layoutsTheModelCannotReadFailBeforeAnyRow() throws {
        func failure(_ first: String?, header: Bool? = nil, keep: [String] = [], probabilities: Bool = false) -> TabularDataError? {
            do throws(TabularDataError) {
                _ = try Self.scorer(first: first, header: header, keep: keep, probabilities: probabilities)
                return nil
            } catch { return error }
        }
        let partial = failure("id,x1,color,y")
        #expect(partial?.code == .missingColumn)
        #expect(partial?.description == "the first line is a header without 'x2', which the model reads (it reads x1, x2, color)")
        let neither = failure("1,2,3,4,5")
        #expect(neither?.code == .missingColumn)
        #expect(neither?.description == "the first line is neither a header naming the model's columns (x1, x2, color) nor a record of those 3 columns in that order: it has 5 fields")
        let forcedHeader = failure("0.5,-1.25,red", header: true)
        #expect(forcedHeader?.description == "the header does not name 'x1', 'x2' and 'color', which the model reads (it reads x1, x2, color)")
        let forcedData = failure("x1,x2,color,y", header: false)
        #expect(forcedData?.code == .raggedRow)
        #expect(forcedData?.description == "without a header, records hold the model's 3 columns in its order (x1, x2, color); the first record has 4 fields")
        #expect(failure("x1,x2,color,x1")?.code == .duplicateColumn)
        #expect(failure("x1,x2,color", keep: ["id"])?.description == "keep: the input has no column 'id'; its columns are x1, x2, color")
        #expect(failure("x1,x2,color,prediction", keep: ["prediction"])?.code == .unknownColumn)
        #expect(failure("x1,x2,color", probabilities: true)?.code == .unsupportedOption)
    }

    @Test func tsvJoinsEveryInputColumnAndQuotesOnlyWhatNeedsIt() throws {
        let scorer = try Self.scorer(format: .tsv, first: "id\tx1\tx2\tcolor", joinInput: true)
        #expect(Self.text(scorer.outputHeader) == "id\tx1\tx2\tcolor\tprediction\n")
        let scored = scorer.score(Array("a,1\t0.5\t-1.25\tred\n\"b\tc\"\t1.5\t0\tblue\n".utf8), firstLine: 2)
        let p1 = try Self.expected(0.5, -1.25, "red"), p2 = try Self.expected(1.5, 0, "blue")
        #expect(Self.lines(scored) == ["a,1\t0.5\t-1.25\tred\t\(p1)", "\"b\tc\"\t1.5\t0\tblue\t\(p2)"])
    }

    @Test func classificationWritesTheLabelAndEachClassesProbability() throws {
        let predictor = Self.classification
        let scorer = try Self.scorer(predictor, first: "x1,x2,shape,label", probabilities: true)
        #expect(Self.text(scorer.outputHeader) == "label,probability_a,probability_b,probability_c\n")
        let rows: [(Double, Double, String)] = [(1.5, 1.0, "round"), (-1.5, -1.0, "square"), (1.5, -1.0, "round")]
        let block = rows.map { "\($0.0),\($0.1),\($0.2),x\n" }.joined()
        let scored = scorer.score(Array(block.utf8), firstLine: 2)
        let expected = try predictor.predict(records: rows.map { ["x1": .number($0.0), "x2": .number($0.1), "shape": .string($0.2)] })
        let lines = Self.lines(scored)
        #expect(lines.count == 3)
        for (line, p) in zip(lines, expected) {
            let fields = line.split(separator: ",").map(String.init)
            #expect(fields[0] == p.label)
            #expect(fields.dropFirst().map { Double($0)! } == ["a", "b", "c"].map { p.probabilities![$0]! })
        }
        // Without probabilities: the label alone.
        let labels = try Self.scorer(predictor, first: "x1,x2,shape,label").score(Array(block.utf8), firstLine: 2)
        #expect(Self.lines(labels) == expected.map { $0.label! })
    }

    // MARK: Refused rows

    @Test func badRowsAreReportedWithTheirExactLinesAndLeftOut() throws {
        let scorer = try Self.scorer(first: "id,x1,x2,color", keep: ["id"])
        let block = [
            "\"multi",           // line 10: a quoted id spanning lines 10–12
            "line",
            "id\",0.5,1,red",
            "",                  // 13: blank, not a record
            "r2,0.5,1",          // 14: ragged
            "r3,abc,1,red",      // 15: text in a numeric column
            "r4,inf,1e999,red",  // 16: non-finite numbers (both named)
            "r5,0.5,1,purple",   // 17: unknown category
            "r6,NaN,,NA\r",      // 18: missing spellings are fine (CRLF)
            "r7,0.5,\"2",        // 19: never closed: the rest of the block
            "more",
        ].joined(separator: "\n") + "\n"
        let scored = scorer.score(Array(block.utf8), firstLine: 10)
        #expect(scored.rowsIn == 7 && scored.rowsOut == 2)
        #expect(Self.text(scored.output) == "\"multi\nline\nid\",\(try Self.expected(0.5, 1, "red"))\nr6,\(try Self.expected(.nan, nil, nil))\n")
        #expect(scored.errors.map(\.line) == [14, 15, 16, 17, 19])
        #expect(scored.errors[0] == TabularRowError(line: 14, reason: "expected 4 fields, found 3", row: "r2,0.5,1"))
        #expect(scored.errors[1].reason == "column \"x1\" is numeric; got \"abc\"")
        #expect(scored.errors[2].reason == "column \"x1\": \"inf\" is not a finite number; leave the cell empty (or NA) for a missing value; "
                + "column \"x2\": \"1e999\" is not a finite number; leave the cell empty (or NA) for a missing value")
        #expect(scored.errors[2].row == "r4,inf,1e999,red")
        #expect(scored.errors[3].reason == "column \"color\": unknown category \"purple\"; the model knows \"blue\", \"green\", \"red\"")
        #expect(scored.errors[4] == TabularRowError(line: 19, reason: "quoted field is never closed", row: "r7,0.5,\"2\nmore"))
    }

    @Test func aBlockScoresLikeItsHalvesScoredApart() throws {
        let scorer = try Self.scorer(first: "x1,x2,color,y")
        let csv = String(decoding: TestData.regressionCSV(rows: 300, seed: 21), as: UTF8.self)
        var rows = csv.split(separator: "\n").dropFirst().map(String.init)
        rows[100] = "oops"
        let whole = scorer.score(Array((rows.joined(separator: "\n") + "\n").utf8), firstLine: 2)
        let a = scorer.score(Array((rows[..<150].joined(separator: "\n") + "\n").utf8), firstLine: 2)
        let b = scorer.score(Array((rows[150...].joined(separator: "\n") + "\n").utf8), firstLine: 152)
        #expect(whole.output == a.output + b.output)
        #expect(whole.errors == a.errors + b.errors)
        #expect(whole.errors.map(\.line) == [102])
        // And like the predictor on the same rows.
        let good = rows.enumerated().filter { $0.offset != 100 }.map(\.element)
        let expected = try Self.regression.predict(csv: Array((["x1,x2,color,y"] + good).joined(separator: "\n").utf8))
        #expect(Self.lines(whole).map { Double($0)! } == expected.map { $0.value! })
    }

    /// A block is read a batch of records at a time; where the batches end changes nothing.
    @Test(arguments: [TabularRecordFormat.csv, .jsonl])
    func batchesOfAnySizeScoreTheSame(format: TabularRecordFormat) throws {
        let csv = String(decoding: TestData.regressionCSV(rows: 40, seed: 22), as: UTF8.self)
        var rows = csv.split(separator: "\n").dropFirst().map(String.init)
        rows[3] = "1,2"
        rows[4] = "1,2,purple,3"
        rows.insert("", at: 10)
        rows[20] = "\"0.5\",1,red,\"1\n2\""  // a quoted line break in the kept column
        var lines = rows
        if format == .jsonl {
            lines = rows.map { row in
                let f = row.split(separator: ",", omittingEmptySubsequences: false)
                guard f.count == 4 else { return row.isEmpty ? "" : "{\"x1\": \(f[0])" }
                let y = f[3].hasPrefix("\"") ? f[3].replacingOccurrences(of: "\n", with: "\\n") : String(f[3])
                return "{\"x1\": \(f[0].filter { $0 != "\"" }), \"x2\": \(f[1] == "NA" ? "null" : String(f[1])), \"color\": \"\(f[2])\", \"y\": \(y)}"
            }
        }
        let block = Array((lines.joined(separator: "\n") + "\n").utf8)
        var scorer = try Self.scorer(format: format, first: "x1,x2,color,y", keep: ["y"])
        let whole = scorer.score(block, firstLine: 2)
        #expect(whole.rowsIn == 40 && whole.errors.count == 2)
        for size in [1, 2, 3, 7] {
            scorer.rowsPerBatch = size
            let batched = scorer.score(block, firstLine: 2)
            #expect(batched.output == whole.output && batched.errors == whole.errors && batched.rowsIn == whole.rowsIn && batched.rowsOut == whole.rowsOut,
                    "\(size) rows per batch")
        }
    }

    @Test func unknownCategoriesAreReadAsMissingWhereTheModelAcceptsThem() throws {
        let schema = TabularSchema(task: .regression, target: "y", features: [
            .init(name: "open", kind: .categorical, categories: ["a", "b"], acceptsUnknown: true),
            .init(name: "closed", kind: .categorical, categories: ["a", "b"]),
            .init(name: "legacy", kind: .categorical, categories: (0..<TabularSchema.maxCategories).map { "c\($0)" }),
        ])
        var tokenizer = CSVTokenizer(delimiter: CSVTokenizer.comma)
        var rows = CSVRows(columnCount: 3)
        _ = try Array("z,a,z\nb,z,c7\n".utf8).withUnsafeBufferPointer { try tokenizer.parse($0, from: 0, isFinal: true, into: &rows) }
        let (table, problems) = FeatureEncoder(schema: schema).encodeForScoring(rows, featureColumns: [0, 1, 2])
        #expect(table.columns[0][0].isNaN && table.columns[0][1] == 1)
        #expect(table.columns[2][0].isNaN && table.columns[2][1] == 7)
        #expect(problems == [RowProblem(row: 1, reason: "column \"closed\": unknown category \"z\"; the model knows \"a\", \"b\"")])
    }

    @Test func categoriesAreFoundByBytesAndStillMatchAsStringsDo() {
        let names = (0..<50).map { "grade-\($0)" } + ["caf\u{E9}"]
        let schema = TabularSchema(task: .regression, target: "y", features: [.init(name: "c", kind: .categorical, categories: names)])
        let encoder = FeatureEncoder(schema: schema)
        func index(_ value: String) -> Double? {
            var value = value
            guard case .value(let v) = value.withUTF8({ encoder.textValue($0, feature: 0) }) else { return nil }
            return v
        }
        for (k, name) in names.enumerated() { #expect(index(name) == Double(k)) }
        #expect(index(" grade-7 ") == 7)
        // A decomposed é is another byte sequence but the same String: the dictionary finds it.
        #expect(index("cafe\u{301}") == 50)
        #expect(index("grade-50") == nil)
    }

    // MARK: JSONL

    @Test func jsonlKeepsFieldsVerbatimAndPredictsLikeThePredictor() throws {
        let scorer = try Self.scorer(format: .jsonl, keep: ["id", "absent"])
        #expect(scorer.outputHeader == nil && !scorer.inputHasHeader)
        let block = """
        {"id": {"k": [1, 2]}, "x1": 0.5, "x2": -1.25, "color": "red", "y": 3}

        {"x\\u0031": 1.5, "x2": null, "color": "bl\\u0075e", "id": "b\\"2"}\r
        """
        let scored = scorer.score(Array(block.utf8), firstLine: 1)
        #expect(scored.rowsIn == 2 && scored.rowsOut == 2 && scored.errors.isEmpty)
        #expect(Self.lines(scored) == [
            "{\"id\":{\"k\": [1, 2]},\"absent\":null,\"prediction\":\(try Self.expected(0.5, -1.25, "red"))}",
            "{\"id\":\"b\\\"2\",\"absent\":null,\"prediction\":\(try Self.expected(1.5, nil, "blue"))}",
        ])
    }

    @Test func jsonlJoinsTheInputAndWritesProbabilities() throws {
        let predictor = Self.classification
        let scorer = try Self.scorer(predictor, format: .jsonl, joinInput: true, probabilities: true)
        let scored = scorer.score(Array(#"{"x1":1.5,"x2":1.0,"shape":"round","label":"old"}"#.utf8), firstLine: 5)
        let p = try predictor.predict(records: [["x1": .number(1.5), "x2": .number(1.0), "shape": .string("round")]])[0]
        let probabilities = ["a", "b", "c"].map { "\"\($0)\":\(p.probabilities![$0]!)" }.joined(separator: ",")
        // The input's own "label" is not repeated: the output's is the prediction.
        #expect(Self.lines(scored) == [#"{"x1":1.5,"x2":1.0,"shape":"round","label":""# + p.label! + #"","probabilities":{"# + probabilities + "}}"])
    }

    @Test func jsonlBadLinesAreReportedWithTheirLines() throws {
        let scorer = try Self.scorer(format: .jsonl)
        let block = [
            #"{"x1": 0.5, "x2": 1, "color": "red"}"#,      // 3: good
            #"{"x1": 0.5, "x2": 1, "color": "red""#,       // 4: unterminated
            #"[0.5, 1, "red"]"#,                           // 5: not an object
            #"{"x1": "0.5", "x2": true, "color": "red"}"#, // 6: wrong JSON types
            #"{"x1": 0.5, "color": "purple"}"#,            // 7: unknown category, missing field
            "   ",                                         // 8: blank
            #"{"x1": 1e999, "x2": 1, "color": 3}"#,        // 9: overflow; a number as a category
            #"{"x1": 0.5, "x2": 1, "color": "red"} x"#,    // 10: trailing text
        ].joined(separator: "\n")
        let scored = scorer.score(Array(block.utf8), firstLine: 3)
        #expect(scored.rowsIn == 7 && scored.rowsOut == 1)
        #expect(scored.errors.map(\.line) == [4, 5, 6, 7, 9, 10])
        #expect(scored.errors.map(\.reason) == [
            "invalid JSON: expected ',' or '}' at the end of the line",
            "invalid JSON: expected a JSON object, got an array",
            #"field "x1" must be a number (or null); got the string "0.5"; field "x2" must be a number (or null); got a boolean"#,
            #"column "color": unknown category "purple"; the model knows "blue", "green", "red"; missing field "x2" (numeric)"#,
            #"column "x1": "1e999" is not a finite number; leave the cell empty (or NA) for a missing value; column "color": unknown category "3"; the model knows "blue", "green", "red""#,
            "invalid JSON: unexpected text after the object at column 38",
        ])
        #expect(scored.errors[0].row == #"{"x1": 0.5, "x2": 1, "color": "red""#)
    }

    @Test func jsonSyntaxIsCheckedThroughout() {
        func problem(_ line: String) -> String? {
            var members: [JSONObjectLine.Member] = []
            let bytes = Array(line.utf8)
            return bytes.withUnsafeBufferPointer { JSONObjectLine.read($0, 0..<bytes.count, into: &members) }
        }
        #expect(problem(#" {"a": [1, -2.5e3, {"b": null}], "c": "\u00e9\n", "d": false} "#) == nil)
        #expect(problem(#"{"a": 01}"#) != nil)
        #expect(problem(#"{"a": 1.}"#) != nil)
        #expect(problem(#"{"a": "\x"}"#) != nil)
        #expect(problem(#"{"a": tru}"#) != nil)
        #expect(problem(#"{"a" 1}"#) != nil)
        #expect(problem(#"{"a": [1,]}"#) != nil)
        #expect(problem(String(repeating: "[", count: 100)) != nil)
        #expect(problem(#"{"a":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}") == "nested deeper than 64 levels at column 69")
        let bytes = Array(#""caf\u00e9 \ud83d\ude00 \"q\" \\""#.utf8)
        let decoded = bytes.withUnsafeBufferPointer { JSONObjectLine.decodedString($0, 1..<(bytes.count - 1)) }
        #expect(decoded == "café 😀 \"q\" \\")
    }
}

extension TabularRowError {
    init(line: Int, reason: String, row: String) {
        var row = row
        self = row.withUTF8 { TabularRowError(line: line, reason: reason, row: $0) }
    }
}
