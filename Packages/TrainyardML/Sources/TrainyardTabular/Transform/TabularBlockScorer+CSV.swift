/// The CSV/TSV path: tokenize the block tolerantly, encode it column by column, score it in one
/// call, then write the good rows with their copied fields. Flat buffers throughout; no
/// allocation per row.
extension TabularBlockScorer {
    func scoreCSV(_ buf: UnsafeBufferPointer<UInt8>, firstLine: Int, plan: CSVInputPlan, delimiter: UInt8) -> TabularScoredBlock {
        var tokenizer = CSVTokenizer(delimiter: delimiter)
        tokenizer.expectedColumns = plan.fieldCount
        tokenizer.line = firstLine
        tokenizer.report = CSVRecordReport()
        // Sized once from the line count (an upper bound on records): no regrowth copies, and
        // memory stays a fixed multiple of the block.
        var lineEnds = 1
        for c in buf where c == CSVTokenizer.lf { lineEnds &+= 1 }
        var rows = CSVRows(columnCount: plan.fieldCount)
        rows.data.reserveCapacity(buf.count)
        rows.fieldEnds.reserveCapacity(lineEnds * plan.fieldCount)
        rows.lines.reserveCapacity(lineEnds)
        tokenizer.report!.spans.reserveCapacity(2 * lineEnds)
        // A header-less file's first block may start with a byte-order mark.
        let start = firstLine == 1 ? CSVTokenizer.bomLength(buf) : 0
        do {
            _ = try tokenizer.parse(buf, from: start, isFinal: true, into: &rows)
        } catch {
            // A tolerant tokenizer reports bad records instead of throwing; should that ever
            // change, the block is refused as one record rather than crashing the transform.
            let all = UnsafeBufferPointer(rebasing: buf[start...])
            return TabularScoredBlock(output: [], rowsIn: 1, rowsOut: 0,
                                      errors: [TabularRowError(line: firstLine, reason: "\(error)", row: all)])
        }
        let report = tokenizer.report ?? CSVRecordReport()
        let n = rows.count
        let (table, problems) = predictor.encoder.encodeForScoring(rows, featureColumns: plan.featureColumns)
        let predictions = n > 0 ? predictor.model.predict(table, parallel: false) : []

        var out: [UInt8] = []
        out.reserveCapacity(n * 20 * predictionWidth + (plan.copiedColumns.isEmpty ? 0 : buf.count))
        var refused: [TabularRowError] = []
        refused.reserveCapacity(problems.count)
        let stride = plan.fieldCount, copied = plan.copiedColumns
        rows.data.withUnsafeBufferPointer { data in
        rows.fieldEnds.withUnsafeBufferPointer { ends in
        report.spans.withUnsafeBufferPointer { spans in
        predictions.withUnsafeBufferPointer { raw in
            var p = 0
            for r in 0..<n {
                if p < problems.count && problems[p].row == r {
                    var reasons = problems[p].reason
                    p += 1
                    while p < problems.count && problems[p].row == r {
                        reasons += "; " + problems[p].reason
                        p += 1
                    }
                    let span = UnsafeBufferPointer(rebasing: buf[spans[2 &* r]..<spans[2 &* r &+ 1]])
                    refused.append(TabularRowError(line: rows.lines[r], reason: reasons, row: span))
                    continue
                }
                let base = r &* stride
                for c in copied {
                    if c >= 0 {
                        let k = base &+ c
                        let s = k == 0 ? 0 : ends[k &- 1]
                        out.appendField(UnsafeBufferPointer(rebasing: data[s..<ends[k]]), delimiter: delimiter)
                    }
                    out.append(delimiter)
                }
                appendCSVPrediction(raw, row: r, delimiter: delimiter, to: &out)
                out.append(CSVTokenizer.lf)
            }
        }}}}
        let errors = Self.merged(refused, report.rejected.map { rejected in
            TabularRowError(line: rejected.line, reason: rejected.reason, row: UnsafeBufferPointer(rebasing: buf[rejected.bytes]))
        })
        return TabularScoredBlock(output: out, rowsIn: n + report.rejected.count, rowsOut: n - refused.count, errors: errors)
    }

    /// Two lists of errors, each in line order, as one in line order.
    static func merged(_ a: [TabularRowError], _ b: [TabularRowError]) -> [TabularRowError] {
        if b.isEmpty { return a }
        if a.isEmpty { return b }
        var out: [TabularRowError] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i].line < b[j].line) {
                out.append(a[i]); i += 1
            } else {
                out.append(b[j]); j += 1
            }
        }
        return out
    }
}
