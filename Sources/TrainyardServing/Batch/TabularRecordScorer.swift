import TrainyardCore
import TrainyardTabular

/// Batch transform for a tabular model: the learning library's `TabularBlockScorer` (flat
/// buffers, no allocation per row) behind the `RecordBlockScorer` port.
///
/// How the input's columns meet the model, what the output holds and which rows are refused
/// are the library's rules (`TabularBlockScorer`, `CSVInputPlan`); this adapter maps the
/// layout in, a layout the model cannot read to `.invalidInput` (a 400 / exit 2 at submit
/// time, before any row is scored), and refused rows to `RowError`s.
struct TabularRecordScorer: RecordBlockScorer {
    let scorer: TabularBlockScorer

    var inputHasHeader: Bool { scorer.inputHasHeader }
    var outputHeader: [UInt8]? { scorer.outputHeader }

    /// - Throws: `.invalidInput` naming the columns: the header lacks some the model reads, the
    ///   first line is neither a header nor a record of the model's columns, a `keep` column
    ///   does not exist; or `probabilities` for a regression model.
    static func open(predictor: TabularPredictor, layout: TransformLayout) throws(TrainyardError) -> TabularRecordScorer {
        let format: TabularRecordFormat = switch layout.format {
        case .csv: .csv
        case .tsv: .tsv
        case .jsonl: .jsonl
        }
        let libraryLayout = TabularBlockLayout(format: format, firstRecord: layout.firstRecord, header: layout.header, keep: layout.keep,
                                               joinInput: layout.joinInput, probabilities: layout.probabilities)
        do {
            return TabularRecordScorer(scorer: try TabularBlockScorer(predictor: predictor, layout: libraryLayout))
        } catch {
            throw TrainyardError(.invalidInput, error.description)
        }
    }

    func score(_ block: RecordBlock) async throws -> ScoredBlock {
        let scorer = self.scorer
        // A block is a few hundred milliseconds of CPU: on a Dispatch thread, so the blocks in
        // flight never hold the cooperative pool (heartbeats, HTTP in `up`) for that long.
        let scored = try await runBlocking { scorer.score(block.bytes, firstLine: block.firstLine) }
        return ScoredBlock(output: scored.output, rowsIn: scored.rowsIn, rowsOut: scored.rowsOut,
                           errors: scored.errors.map { RowError(line: $0.line, reason: $0.reason, row: $0.row) })
    }

    func close() async {}
}
