/// Scores a large CSV, TSV or JSONL file block by block with a tabular model: batch
/// transform's in-process fast path.
///
/// The caller reads the file in blocks of whole records and scores several blocks at once (one
/// per core), writing the outputs in input order; so one scorer is shared, immutable and
/// thread-safe, and `score` works on the calling thread only (the model's own parallel loops
/// are switched off). Work and memory per block are proportional to the block.
///
/// ```swift
/// let scorer = try TabularBlockScorer(predictor: predictor,
///     layout: TabularBlockLayout(format: .csv, firstRecord: ["id", "carat", …], keep: ["id"]))
/// output += scorer.outputHeader ?? []                     // "id,prediction\n"
/// let scored = scorer.score(blockBytes, firstLine: 2)     // after the header line
/// ```
///
/// Output records: the kept input columns (or every input column with `joinInput`) copied as
/// they were (re-quoted when needed), then `prediction` (regression) or `label` (+ one
/// `probability_<class>` per class with `probabilities`). JSONL records: the kept (or all)
/// input fields verbatim, then `"prediction"` or `"label"` (+ `"probabilities"`: an object by
/// class); a kept field a record lacks is `null`, an input field named like an output field is
/// not repeated with `joinInput`. Numbers are written in their shortest round-trip form.
///
/// A record that cannot be scored does not fail its block: it is left out of the output and
/// reported with its input line (exact, also after quoted line breaks), the reason and its raw
/// text. Reasons: a wrong number of fields, an unclosed quote, text or `±inf` in a numeric
/// column, a category the model refuses (see `FeatureEncoder.encodeForScoring`), and for JSONL
/// invalid JSON, a line that is not an object, a missing model field or a value of the wrong
/// JSON type (serving's rules: a numeric field takes a number or null). Blank lines are not
/// records.
public struct TabularBlockScorer: Sendable {
    /// Whether the input's first record is a header (CSV/TSV); blocks start after it.
    public let inputHasHeader: Bool
    /// The output's first line (CSV/TSV, ending in a newline); nil for JSONL.
    public let outputHeader: [UInt8]?

    let predictor: TabularPredictor
    let format: TabularRecordFormat
    /// CSV/TSV only.
    let csvPlan: CSVInputPlan?
    let keep: [String]
    let joinInput: Bool
    let probabilities: Bool
    /// Classification: each class label as a CSV field and as a JSON string, ready to copy.
    let labelFields: [[UInt8]]
    let labelJSON: [[UInt8]]
    /// The output's own field names (`prediction`, or `label` and `probabilities`).
    let outputKeys: [String]
    /// JSONL: the model's features by the bytes of their names; whether every name is ASCII
    /// (then a key that is ASCII too and not found by its bytes names no feature).
    let featureLookup: CategoryLookup
    let featureNamesAreASCII: Bool
    /// Records parsed, encoded and scored together: enough to amortise the model's per-call
    /// work, few enough for the batch's buffers to stay in cache (tests set it low to cross
    /// batch boundaries).
    var rowsPerBatch = 8192

    /// Decides how the input meets the model (see `CSVInputPlan`: header or not, which column
    /// holds which feature) and checks the options, before any row is read.
    /// - Throws: `TabularDataError`: `missingColumn` (the header lacks model columns, naming
    ///   them; or the first line is neither a header nor a record of the model's columns),
    ///   `raggedRow` (a header-less file without the model's column count), `duplicateColumn`,
    ///   `unknownColumn` (a `keep` column that does not exist, or that names an output field),
    ///   `unsupportedOption` (`probabilities` for a regression model).
    public init(predictor: TabularPredictor, layout: TabularBlockLayout) throws(TabularDataError) {
        self.predictor = predictor
        format = layout.format
        keep = layout.keep
        joinInput = layout.joinInput
        let schema = predictor.schema
        let classes = schema.classes ?? []
        if layout.probabilities && predictor.task == .regression {
            throw TabularDataError(.unsupportedOption, "probabilities: '\(predictor.schema.target)' is predicted by a regression model, which has no classes")
        }
        probabilities = layout.probabilities
        outputKeys = predictor.task == .regression ? ["prediction"] : (layout.probabilities ? ["label", "probabilities"] : ["label"])
        for name in layout.keep where outputKeys.contains(name) {
            throw TabularDataError(.unknownColumn, "keep: '\(name)' is the name of the predictions' field in the output; it cannot be kept too", column: name)
        }
        featureLookup = CategoryLookup(schema.features.map(\.name))
        featureNamesAreASCII = schema.features.allSatisfy { $0.name.utf8.allSatisfy { $0 < 0x80 } }
        if let delimiter = layout.format.delimiter {
            let plan = try CSVInputPlan(schema: schema, layout: layout)
            csvPlan = plan
            inputHasHeader = plan.hasHeader
            var names = plan.copiedNames
            if predictor.task == .regression {
                names.append("prediction")
            } else {
                names.append("label")
                if layout.probabilities { names += classes.map { "probability_\($0)" } }
            }
            var header: [UInt8] = []
            for (k, name) in names.enumerated() {
                if k > 0 { header.append(delimiter) }
                header.appendField(name, delimiter: delimiter)
            }
            header.append(CSVTokenizer.lf)
            outputHeader = header
            labelFields = classes.map { label in
                var field: [UInt8] = []
                field.appendField(label, delimiter: delimiter)
                return field
            }
        } else {
            csvPlan = nil
            inputHasHeader = false
            outputHeader = nil
            labelFields = []
        }
        labelJSON = classes.map { label in
            var json: [UInt8] = []
            json.appendJSONString(label)
            return json
        }
    }

    /// Scores the complete records in `block`, whose first record starts on input line
    /// `firstLine` (1-based, a header line counts).
    public func score(_ block: [UInt8], firstLine: Int) -> TabularScoredBlock {
        block.withUnsafeBufferPointer { buf in
            if let csvPlan, let delimiter = format.delimiter {
                return scoreCSV(buf, firstLine: firstLine, plan: csvPlan, delimiter: delimiter)
            }
            return scoreJSONL(buf, firstLine: firstLine)
        }
    }

    // MARK: Predictions in the output

    /// Predictions per row in `raw`: 1 (regression) or one probability per class.
    var predictionWidth: Int { predictor.task == .regression ? 1 : labelJSON.count }

    /// The class with the highest probability (the first of equals, as `TabularPredictor`).
    @inline(__always)
    func bestClass(_ raw: UnsafeBufferPointer<Double>, row: Int) -> Int {
        let k = labelJSON.count, base = row &* k
        var best = 0
        for c in 1..<max(k, 1) where raw[base &+ c] > raw[base &+ best] { best = c }
        return best
    }

    /// Row `row`'s prediction fields, CSV/TSV (no delimiter before, none after).
    @inline(__always)
    func appendCSVPrediction(_ raw: UnsafeBufferPointer<Double>, row: Int, delimiter: UInt8, to out: inout [UInt8]) {
        guard predictor.task == .classification else {
            out.appendNumber(raw[row], missing: "")
            return
        }
        out.append(contentsOf: labelFields[bestClass(raw, row: row)])
        guard probabilities else { return }
        let k = labelJSON.count
        for c in 0..<k {
            out.append(delimiter)
            out.appendNumber(raw[row &* k &+ c], missing: "")
        }
    }

    /// Row `row`'s prediction members, JSON (no comma before, none after).
    func appendJSONPrediction(_ raw: UnsafeBufferPointer<Double>, row: Int, to out: inout [UInt8]) {
        guard predictor.task == .classification else {
            out.append(contentsOf: #""prediction":"#.utf8)
            out.appendNumber(raw[row], missing: "null")
            return
        }
        out.append(contentsOf: #""label":"#.utf8)
        out.append(contentsOf: labelJSON[bestClass(raw, row: row)])
        guard probabilities else { return }
        out.append(contentsOf: #","probabilities":{"#.utf8)
        let k = labelJSON.count
        for c in 0..<k {
            if c > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: labelJSON[c])
            out.append(UInt8(ascii: ":"))
            out.appendNumber(raw[row &* k &+ c], missing: "null")
        }
        out.append(UInt8(ascii: "}"))
    }
}
