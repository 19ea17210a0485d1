/// The CSV/TSV path: the block is read `rowsPerBatch` records at a time — tokenized tolerantly,
/// encoded column by column, scored in one call, the good rows written with their copied
/// fields — reusing the same buffers. So the memory a block needs beyond its input and output
/// is a few hundred kilobytes whatever the block's size, and a batch's parsed fields are still
/// in cache when they are encoded and copied. Flat buffers throughout; no allocation per row.
extension TabularBlockScorer {
    func scoreCSV(_ buf: UnsafeBufferPointer<UInt8>, firstLine: Int, plan: CSVInputPlan, delimiter: UInt8) -> TabularScoredBlock {
        var tokenizer = CSVTokenizer(delimiter: delimiter)
        tokenizer.expectedColumns = plan.fieldCount
        tokenizer.line = firstLine
        tokenizer.report = CSVRecordReport()
        var rows = CSVRows(columnCount: plan.fieldCount)
        var out: [UInt8] = []
        out.reserveCapacity(Self.outputEstimate(inputBytes: buf.count, copying: !plan.copiedColumns.isEmpty))
        var errors: [TabularRowError] = []
        var rowsIn = 0, rowsOut = 0
        // A header-less file's first block may start with a byte-order mark.
        var offset = firstLine == 1 ? CSVTokenizer.bomLength(buf) : 0
        while offset < buf.count {
            rows.data.removeAll(keepingCapacity: true)
            rows.fieldEnds.removeAll(keepingCapacity: true)
            rows.lines.removeAll(keepingCapacity: true)
            tokenizer.report!.spans.removeAll(keepingCapacity: true)
            tokenizer.report!.rejected.removeAll(keepingCapacity: true)
            let next: Int
            do {
                next = try tokenizer.parse(buf, from: offset, isFinal: true, maxRecords: rowsPerBatch, into: &rows)
            } catch {
                // A tolerant tokenizer reports bad records instead of throwing; should that ever
                // change, the rest of the block is refused as one record rather than crashing.
                errors.append(TabularRowError(line: tokenizer.line, reason: "\(error)", row: UnsafeBufferPointer(rebasing: buf[offset...])))
                rowsIn += 1
                break
            }
            let report = tokenizer.report!
            let written = scoreBatch(rows, report: report, buf: buf, plan: plan, delimiter: delimiter, into: &out, errors: &errors)
            rowsIn += rows.count + report.rejected.count
            rowsOut += written
            guard next > offset else { break }  // cannot happen with isFinal; never loop forever
            offset = next
        }
        return TabularScoredBlock(output: out, rowsIn: rowsIn, rowsOut: rowsOut, errors: errors)
    }

    /// Encodes, scores and writes one batch of parsed rows; appends its errors (the refused
    /// rows and the records the tokenizer rejected) in line order.
    /// - Returns: the rows written.
    private func scoreBatch(_ rows: CSVRows, report: CSVRecordReport, buf: UnsafeBufferPointer<UInt8>, plan: CSVInputPlan, delimiter: UInt8,
                            into out: inout [UInt8], errors: inout [TabularRowError]) -> Int {
        let n = rows.count
        let (table, problems) = predictor.encoder.encodeForScoring(rows, featureColumns: plan.featureColumns)
        let predictions = n > 0 ? predictor.model.predict(table, parallel: false) : []
        var refused: [TabularRowError] = []
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
        let rejected = report.rejected.map { record in
            TabularRowError(line: record.line, reason: record.reason, row: UnsafeBufferPointer(rebasing: buf[record.bytes]))
        }
        errors += Self.merged(refused, rejected)
        return n - refused.count
    }

    /// Output bytes to reserve for a block: a number per row (rows estimated at 40 bytes) or,
    /// copying input columns, about the input again.
    static func outputEstimate(inputBytes: Int, copying: Bool) -> Int {
        copying ? inputBytes + inputBytes / 2 : inputBytes / 2
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
