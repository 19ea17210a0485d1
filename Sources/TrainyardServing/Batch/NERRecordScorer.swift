import TrainyardCore
import TrainyardLearners
import TrainyardText

/// Batch transform for an entity recognizer: each record's text (`TextRecordReader`, as for a
/// text classifier) recognised in one batch per block, off the cooperative pool.
///
/// Output: JSONL `{"entities": [{"text", "tag", "score", "start", "end"}]}` (the entity JSON
/// of `/ner`, `NativeModel.json(Entity)`; offsets in characters of the text), after the
/// pass-through members (`--join-input` keeps `text`); CSV/TSV an `entities` column holding that
/// array as JSON text, after the pass-through columns.
struct NERRecordScorer: RecordBlockScorer {
    let recognizer: EntityRecognizer
    let reader: TextRecordReader
    let outputHeader: [UInt8]?

    var inputHasHeader: Bool { reader.inputHasHeader }

    static func open(recognizer: EntityRecognizer, layout: TransformLayout, textColumn: String?) throws(TrainyardError) -> NERRecordScorer {
        let reader = try TextRecordReader.open(layout, textColumn: textColumn)
        return NERRecordScorer(recognizer: recognizer, reader: reader, outputHeader: reader.output.header(modelColumns: ["entities"]))
    }

    func score(_ block: RecordBlock) async throws -> ScoredBlock {
        let records = InputRecords.split(block, format: reader.format)
        var (texts, errors) = reader.read(records)
        let recognizer = self.recognizer
        let inputs = texts.map(\.text)
        let results = try await runBlocking { inputs.isEmpty ? [] : recognizer.recognize(batch: inputs) }
        var output: [UInt8] = []
        var written = 0
        for (text, result) in zip(texts, results) {
            switch result {
            case .failure(let error):
                errors.append(text.record.error(error.message))
            case .success(let found):
                let entities = JSONValue.array(found.map(NativeModel.json))
                reader.write(text, values: [entities], members: [("entities", entities)], into: &output)
                written += 1
            }
        }
        errors.sort { $0.line < $1.line }
        return ScoredBlock(output: output, rowsIn: records.count, rowsOut: written, errors: errors)
    }

    func close() async {}
}
