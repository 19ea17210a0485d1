import TrainyardCore
import TrainyardText

/// Batch transform for a text classifier: each record's text (`TextRecordReader`) scored in
/// one batch per block, off the cooperative pool.
///
/// Output: CSV/TSV `label,score` (`score` is P(positive) for a binary model, else the
/// probability of the label), with `probabilities` one `probability_<label>` column per class;
/// JSONL `{"label", "score"}` plus `"probabilities": {label: p}`. Pass-through columns first.
struct TextRecordScorer: RecordBlockScorer {
    let classifier: TextClassifier
    let reader: TextRecordReader
    let probabilities: Bool
    let outputHeader: [UInt8]?

    var inputHasHeader: Bool { reader.inputHasHeader }

    static func open(classifier: TextClassifier, layout: TransformLayout, textColumn: String?) throws(TrainyardError) -> TextRecordScorer {
        let reader = try TextRecordReader.open(layout, textColumn: textColumn)
        var columns = ["label", "score"]
        if layout.probabilities { columns += classifier.labels.map { "probability_\($0)" } }
        return TextRecordScorer(classifier: classifier, reader: reader, probabilities: layout.probabilities,
                                outputHeader: reader.output.header(modelColumns: columns))
    }

    func score(_ block: RecordBlock) async throws -> ScoredBlock {
        let records = InputRecords.split(block, format: reader.format)
        var (texts, errors) = reader.read(records)
        let classifier = self.classifier
        let inputs = texts.map(\.text)
        let predictions = try await runBlocking { Self.predict(inputs, with: classifier) }
        var output: [UInt8] = []
        output.reserveCapacity(texts.count * 32)
        var written = 0
        for (text, prediction) in zip(texts, predictions) {
            switch prediction {
            case .failure(let problem):
                errors.append(text.record.error(problem.reason))
            case .success(let p):
                let score = p.score ?? p.probabilities[p.label] ?? 0
                reader.write(text, values: csvValues(p, score: score), members: jsonMembers(p, score: score), into: &output)
                written += 1
            }
        }
        errors.sort { $0.line < $1.line }
        return ScoredBlock(output: output, rowsIn: records.count, rowsOut: written, errors: errors)
    }

    func close() async {}

    private func csvValues(_ p: TextPrediction, score: Double) -> [JSONValue] {
        var values: [JSONValue] = [.string(p.label), .double(score)]
        if probabilities { values += classifier.labels.map { .double(p.probabilities[$0] ?? 0) } }
        return values
    }

    private func jsonMembers(_ p: TextPrediction, score: Double) -> [(String, JSONValue)] {
        var members: [(String, JSONValue)] = [("label", .string(p.label)), ("score", .double(score))]
        if probabilities { members.append(("probabilities", .object(p.probabilities.mapValues(JSONValue.double)))) }
        return members
    }

    /// One batch; when the classifier refuses it (a text over the model's `max_text_length`),
    /// each text alone, so only the refused ones fail.
    static func predict(_ texts: [String], with classifier: TextClassifier) -> [Result<TextPrediction, RowProblem>] {
        guard !texts.isEmpty else { return [] }
        if let all = try? classifier.predict(texts) { return all.map { .success($0) } }
        return texts.map { text in
            do { return .success(try classifier.predict([text])[0]) } catch let error as TextInputError {
                return .failure(RowProblem(error.message.replacingOccurrences(of: "text 0: ", with: "")))
            } catch {
                return .failure(RowProblem("\(error)"))
            }
        }
    }
}
