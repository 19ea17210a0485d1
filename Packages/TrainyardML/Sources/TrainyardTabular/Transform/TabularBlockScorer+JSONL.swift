/// The JSONL path: each line is one JSON object, read in place (`JSONObjectLine`); the model's
/// fields are encoded with the serving rules, good rows are scored `rowsPerBatch` at a time,
/// and each output object copies the kept (or all) input members verbatim before the
/// predictions.
extension TabularBlockScorer {
    func scoreJSONL(_ buf: UnsafeBufferPointer<UInt8>, firstLine: Int) -> TabularScoredBlock {
        let encoder = predictor.encoder
        let features = predictor.schema.features
        let f = features.count
        // The good rows of the current batch: their encoded values, and their members back to
        // back (row g's are members[memberStarts[g]..<memberStarts[g + 1]]) for the output.
        var batch = JSONLBatch(featureCount: f)
        var out: [UInt8] = []
        out.reserveCapacity(Self.outputEstimate(inputBytes: buf.count, copying: joinInput || !keep.isEmpty))
        var errors: [TabularRowError] = []
        var rowsIn = 0, rowsOut = 0
        var values = [Double](repeating: .nan, count: f)
        var present = [Bool](repeating: false, count: f)
        var line = firstLine
        var i = firstLine == 1 ? CSVTokenizer.bomLength(buf) : 0
        while i < buf.count {
            var lineEnd = i
            while lineEnd < buf.count && buf[lineEnd] != CSVTokenizer.lf { lineEnd += 1 }
            let contentEnd = lineEnd > i && buf[lineEnd - 1] == CSVTokenizer.cr ? lineEnd - 1 : lineEnd
            let recordLine = line, content = i..<contentEnd
            i = lineEnd + 1
            line += 1
            if buf[content].allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == CSVTokenizer.cr }) { continue }
            rowsIn += 1
            let mark = batch.members.count
            if let problem = JSONObjectLine.read(buf, content, into: &batch.members) {
                batch.members.removeSubrange(mark...)
                errors.append(TabularRowError(line: recordLine, reason: "invalid JSON: \(problem)", row: UnsafeBufferPointer(rebasing: buf[content])))
                continue
            }
            for k in 0..<f { values[k] = .nan; present[k] = false }
            var reasons: [String] = []
            for m in batch.members[mark...] {
                guard let feature = feature(named: m, in: buf, encoder: encoder) else { continue }
                present[feature] = true
                switch value(buf, m, feature: feature, encoder: encoder) {
                case .value(let v): values[feature] = v
                case .problem(let reason): reasons.append(reason)
                }
            }
            for k in 0..<f where !present[k] {
                reasons.append("missing field \"\(features[k].name)\" (\(features[k].kind.rawValue))")
            }
            guard reasons.isEmpty else {
                batch.members.removeSubrange(mark...)
                errors.append(TabularRowError(line: recordLine, reason: reasons.joined(separator: "; "), row: UnsafeBufferPointer(rebasing: buf[content])))
                continue
            }
            for k in 0..<f { batch.columns[k].append(values[k]) }
            batch.memberStarts.append(batch.members.count)
            if batch.count == rowsPerBatch {
                rowsOut += writeBatch(batch, buf: buf, into: &out)
                batch.removeAll()
            }
        }
        rowsOut += writeBatch(batch, buf: buf, into: &out)
        return TabularScoredBlock(output: out, rowsIn: rowsIn, rowsOut: rowsOut, errors: errors)
    }

    /// Good JSONL rows waiting to be scored together.
    struct JSONLBatch {
        var columns: [[Double]]
        var members: [JSONObjectLine.Member] = []
        var memberStarts: [Int] = [0]

        init(featureCount: Int) { columns = Array(repeating: [], count: featureCount) }

        var count: Int { memberStarts.count - 1 }

        mutating func removeAll() {
            for k in columns.indices { columns[k].removeAll(keepingCapacity: true) }
            members.removeAll(keepingCapacity: true)
            memberStarts.removeAll(keepingCapacity: true)
            memberStarts.append(0)
        }
    }

    /// Scores a batch and writes its output objects.
    /// - Returns: the rows written.
    private func writeBatch(_ batch: JSONLBatch, buf: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Int {
        let n = batch.count
        guard n > 0 else { return 0 }
        let table = EncodedTable(columns: batch.columns, target: [], count: n, categoryCounts: predictor.encoder.categoryCounts)
        let predictions = predictor.model.predict(table, parallel: false)
        let keepKeys = keep.map { Array($0.utf8) }
        let keepJSON: [[UInt8]] = keep.map { name in
            var json: [UInt8] = []
            json.appendJSONString(name)
            json.append(UInt8(ascii: ":"))
            return json
        }
        let outputKeyBytes = outputKeys.map { Array($0.utf8) }
        predictions.withUnsafeBufferPointer { raw in
            for g in 0..<n {
                let row = batch.members[batch.memberStarts[g]..<batch.memberStarts[g + 1]]
                out.append(UInt8(ascii: "{"))
                if joinInput {
                    for m in row where !outputKeyBytes.contains(where: { Self.keyMatches(buf, m, $0) }) {
                        // The key with its quotes, then the value as it was.
                        out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[(m.key.lowerBound - 1)...m.key.upperBound]))
                        out.append(UInt8(ascii: ":"))
                        out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[m.value]))
                        out.append(UInt8(ascii: ","))
                    }
                } else {
                    for (k, name) in keepKeys.enumerated() {
                        out.append(contentsOf: keepJSON[k])
                        // The last member of a name is the one JSON readers keep.
                        if let m = row.last(where: { Self.keyMatches(buf, $0, name) }) {
                            out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[m.value]))
                        } else {
                            out.append(contentsOf: "null".utf8)
                        }
                        out.append(UInt8(ascii: ","))
                    }
                }
                appendJSONPrediction(raw, row: g, to: &out)
                out.append(contentsOf: "}\n".utf8)
            }
        }
        return n
    }

    /// A member's value for feature `feature`: numbers and null as serving reads them; strings
    /// for categorical columns only.
    private func value(_ buf: UnsafeBufferPointer<UInt8>, _ m: JSONObjectLine.Member, feature: Int, encoder: FeatureEncoder) -> FeatureEncoder.ScoringValue {
        let column = encoder.schema.features[feature]
        switch m.kind {
        case .null:
            return .value(.nan)
        case .number:
            let text = UnsafeBufferPointer(rebasing: buf[m.value])
            guard let x = FieldParsing.parseDouble(text) else { return .problem(FeatureEncoder.nonFinite(column.name, text)) }
            return encoder.numberValue(x, feature: feature)
        case .string(let escaped):
            let inside = (m.value.lowerBound + 1)..<(m.value.upperBound - 1)
            guard column.kind == .categorical else {
                let text = escaped ? JSONObjectLine.decodedString(buf, inside) : String(decoding: UnsafeBufferPointer(rebasing: buf[inside]), as: UTF8.self)
                return .problem("field \"\(column.name)\" must be a number (or null); got the string \"\(FeatureEncoder.echo(text))\"")
            }
            if escaped {
                var text = JSONObjectLine.decodedString(buf, inside)
                return text.withUTF8 { encoder.textValue($0, feature: feature) }
            }
            return encoder.textValue(UnsafeBufferPointer(rebasing: buf[inside]), feature: feature)
        case .bool, .array, .object:
            let what = m.kind == .bool ? "a boolean" : m.kind == .array ? "an array" : "an object"
            return .problem("field \"\(column.name)\" must be a \(column.kind == .numeric ? "number" : "string") (or null); got \(what)")
        }
    }

    /// The feature member `m` holds, if any: by the key's bytes, else (an escaped or non-ASCII
    /// key, which may equal a name as a String without equal bytes) by the String.
    @inline(__always)
    private func feature(named m: JSONObjectLine.Member, in buf: UnsafeBufferPointer<UInt8>, encoder: FeatureEncoder) -> Int? {
        let bytes = UnsafeBufferPointer(rebasing: buf[m.key])
        if !m.keyEscaped {
            if let k = featureLookup.index(of: bytes) { return k }
            if featureNamesAreASCII && bytes.allSatisfy({ $0 < 0x80 }) { return nil }
        }
        let key = m.keyEscaped ? JSONObjectLine.decodedString(buf, m.key) : String(decoding: bytes, as: UTF8.self)
        return encoder.featureIndex[key]
    }

    /// Whether member `m`'s key is `name` (decoding escapes only when the key has some).
    private static func keyMatches(_ buf: UnsafeBufferPointer<UInt8>, _ m: JSONObjectLine.Member, _ name: [UInt8]) -> Bool {
        if m.keyEscaped { return Array(JSONObjectLine.decodedString(buf, m.key).utf8) == name }
        return m.key.count == name.count && buf[m.key].elementsEqual(name)
    }
}
