import Foundation
import Logging
import TrainyardCore
import TrainyardRuntime

/// Batch transform for a bring-your-own model (`task: command`): its serve process, started
/// for this scorer, scores each block in multi-record `POST /invocations` requests.
///
/// - CSV/TSV records go as `text/csv`, header-less, one record per line: the model's declared
///   columns in its order when it has an input schema (read from the header by name), else
///   every column but the `keep` ones (pass-through columns such as an id are not features);
///   a CSV record is sent byte for byte when that is all of it.
/// - JSONL records go as `application/json` `{"instances": [line, …]}` (what `predict` sends and
///   the bundled examples read), each line's JSON text as it is.
/// - A request holds at most `transform.maxPayloadBytes` of records; at most
///   `transform.maxConcurrentRequests` are in flight (the process's own limit, as the scorer
///   owns the process).
/// - The answer must hold one prediction per record, in order (`InvocationAnswer`); a count
///   that differs fails the file.
/// - A 4xx answer is a refusal of something in the request: the request is bisected down to
///   single records, so only the records the model refuses alone become `RowError`s (with the
///   model's message). When a large request is refused, eight records spread over it are first
///   tried alone: if the model refuses all of them it does not take this input at all (a wrong
///   format or content type), and the file fails at once instead of after one request per record.
/// - A 5xx, a timeout or a connection lost for good (after the process's own restarts) fails the file.
///
/// Output: CSV/TSV a `prediction` column (a text or number as it is, an object or array as its
/// JSON text) after the pass-through columns; JSONL `{…pass-through, "prediction": answer}`.
struct CommandRecordScorer: RecordBlockScorer {
    let process: CommandModelProcess
    let label: String
    let format: TransformFormat
    let columns: InputColumns
    /// CSV/TSV: the indexes of the fields sent, in the model's order; nil: the record as read.
    let sentColumns: [Int]?
    let output: RecordOutput
    let outputHeader: [UInt8]?
    let maxPayloadBytes: Int
    let maxConcurrentRequests: Int

    var inputHasHeader: Bool { columns.hasHeader }

    /// Records refused alone out of a refused request of at least this many before bisecting it.
    static let probes = 8

    static func open(_ version: ModelVersion, layout: TransformLayout, services: TrainyardServices, serving: ServingOptions,
                     transform: TransformOptions, metrics: ServingMetrics, logger: Logger) async throws -> CommandRecordScorer {
        let label = "\(version.model):\(version.version)"
        guard let serve = version.manifest.serve, !serve.isEmpty else {
            throw TrainyardError(.invalidArgument, "\(label) is a bring-your-own model without a serve command (add serve: to its spec); batch transform scores through it")
        }
        let (columns, sent) = try inputColumns(layout, modelColumns: InputSchema(manifest: version.manifest).columnNames)
        var options = serving.command
        options.maxConcurrency = transform.maxConcurrentRequests
        let process = CommandModelProcess(version: version, command: serve, services: services, options: options, metrics: metrics, logger: logger)
        do {
            try await process.start()
        } catch {
            await process.stop(drain: false)
            throw error
        }
        let output = RecordOutput(format: layout.format, columns: columns, layout: layout, bareInputKey: "input")
        return CommandRecordScorer(process: process, label: label, format: layout.format, columns: columns, sentColumns: sent, output: output,
                                   outputHeader: output.header(modelColumns: ["prediction"]), maxPayloadBytes: transform.maxPayloadBytes,
                                   maxConcurrentRequests: transform.maxConcurrentRequests)
    }

    /// The input's columns and the fields sent to the model.
    ///
    /// Whether the first record is a header: `--header`/`--no-header`, else for a model with an
    /// input schema whether it names all the model's columns; without a schema, whether it
    /// names every `keep` column or looks like names (`looksLikeHeader`).
    /// - Throws: `.invalidInput` when the header lacks one of the model's columns, or a
    ///   header-less file has another number of fields than the model's columns.
    static func inputColumns(_ layout: TransformLayout, modelColumns: [String]) throws(TrainyardError) -> (InputColumns, [Int]?) {
        if layout.format == .jsonl {
            return (InputColumns(names: [], hasHeader: false, keep: [], joinInput: layout.joinInput, passThroughNames: []), nil)
        }
        let first = (layout.firstRecord ?? []).map(InputColumns.trimmed)
        let hasHeader: Bool
        if let header = layout.header {
            hasHeader = header
        } else if !modelColumns.isEmpty {
            hasHeader = Set(modelColumns).isSubset(of: first)
        } else {
            hasHeader = (!layout.keep.isEmpty && Set(layout.keep.map(InputColumns.trimmed)).isSubset(of: first)) || looksLikeHeader(first)
        }
        let columns = try InputColumns.resolve(layout, hasHeader: hasHeader, modelColumns: modelColumns)
        guard columns.width > 0 else { return (columns, nil) }
        var sent: [Int]
        if !modelColumns.isEmpty {
            if hasHeader {
                let missing = modelColumns.filter { !columns.names.contains($0) }
                guard missing.isEmpty else {
                    throw TrainyardError(.invalidInput, "the model reads \(Payloads.columnList(modelColumns)); the header (\(Payloads.columnList(columns.names))) lacks \(Payloads.columnList(missing))")
                }
                sent = modelColumns.map { columns.names.firstIndex(of: $0)! }
            } else {
                guard columns.width == modelColumns.count else {
                    throw TrainyardError(.invalidInput, "a file without a header must hold the model's \(modelColumns.count) columns in its order (\(Payloads.columnList(modelColumns))); its first record has \(columns.width) field\(columns.width == 1 ? "" : "s")")
                }
                sent = Array(0..<columns.width)
            }
        } else {
            let kept = layout.joinInput ? [] : Set(columns.keep)
            sent = (0..<columns.width).filter { !kept.contains($0) }
            guard !sent.isEmpty else {
                throw TrainyardError(.invalidInput, "keep names every input column (\(Payloads.columnList(columns.names))): nothing would be left to send to the model")
            }
        }
        let whole = sent == Array(0..<columns.width) && layout.format == .csv
        return (columns, whole ? nil : sent)
    }

    /// A first record of names rather than values: every field non-empty, not a number, made of
    /// letters, digits, `_ - . ` and spaces, starting with a letter or `_`, each once; and either
    /// several of them or one of the usual text column names. (`--header`/`--no-header` decide
    /// when this guesses wrong.)
    static func looksLikeHeader(_ fields: [String]) -> Bool {
        guard !fields.isEmpty, Set(fields).count == fields.count else { return false }
        if fields.count == 1 && !TextRecordReader.commonNames.contains(fields[0].lowercased()) { return false }
        return fields.allSatisfy { field in
            guard let head = field.unicodeScalars.first, field.count <= 64, Double(field) == nil else { return false }
            guard CharacterSet.letters.contains(head) || head == "_" else { return false }
            return field.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "_-. ".unicodeScalars.contains($0) }
        }
    }

    // MARK: Scoring

    /// One record ready to send.
    struct Item: Sendable {
        var record: InputRecord
        /// Its text in the request (a CSV line, or a JSON value).
        var payload: [UInt8]
        /// CSV/TSV: the record's fields.
        var fields: [String]
        /// JSONL: the parsed line.
        var json: JSONValue
    }

    enum Outcome: Sendable {
        case prediction(JSONValue)
        case refused(String)
    }

    func score(_ block: RecordBlock) async throws -> ScoredBlock {
        let records = InputRecords.split(block, format: format)
        var errors: [RowError] = []
        var items: [Item] = []
        items.reserveCapacity(records.count)
        for record in records {
            switch prepare(record) {
            case .success(let item): items.append(item)
            case .failure(let problem): errors.append(record.error(problem.reason))
            }
        }
        let outcomes = try await score(items)
        var out: [UInt8] = []
        var written = 0
        for (item, outcome) in zip(items, outcomes) {
            switch outcome {
            case .refused(let reason):
                errors.append(item.record.error(reason))
            case .prediction(let value):
                if format == .jsonl {
                    output.writeObject(input: item.json, raw: item.record.bytes, members: [("prediction", value)], into: &out)
                } else {
                    output.writeDelimited(fields: item.fields, values: [value], into: &out)
                }
                written += 1
            }
        }
        errors.sort { $0.line < $1.line }
        return ScoredBlock(output: out, rowsIn: records.count, rowsOut: written, errors: errors)
    }

    func close() async {
        await process.stop(drain: false)
    }

    /// A record's payload, or why it cannot be sent.
    func prepare(_ record: InputRecord) -> Result<Item, RowProblem> {
        var item = Item(record: record, payload: [], fields: [], json: .null)
        if format == .jsonl {
            do { item.json = try FastJSON.parse(record.bytes) } catch { return .failure(RowProblem(TextRecordReader.jsonProblem(error))) }
            item.payload = Array(record.bytes)
        } else {
            guard let fields = RecordFields.split(record.bytes, delimiter: output.delimiter) else {
                return .failure(RowProblem(RecordFields.unclosedQuote))
            }
            if columns.width > 0 && fields.count != columns.width {
                let reference = columns.hasHeader ? "the header has" : "the first record has"
                return .failure(RowProblem("expected \(columns.width) \(InputColumns.delimiterName(format))-separated field\(columns.width == 1 ? "" : "s") (as \(reference)), found \(fields.count)"))
            }
            item.fields = fields
            if let sentColumns {
                for (n, index) in sentColumns.enumerated() {
                    if n > 0 { item.payload.append(UInt8(ascii: ",")) }
                    RecordOutput.appendField(fields[index], delimiter: UInt8(ascii: ","), into: &item.payload)
                }
            } else {
                item.payload = Array(record.bytes)
            }
        }
        if item.payload.count + Self.bodyOverhead > maxPayloadBytes {
            return .failure(RowProblem("the record is \(item.payload.count) bytes, more than one request may carry (transform.max_payload_mb, \(maxPayloadBytes >> 20) MiB)"))
        }
        return .success(item)
    }

    /// Bytes a request body adds around its records (`{"instances":[…]}`).
    static let bodyOverhead = 16

    /// Outcomes of `items`, in order: requests of at most `maxPayloadBytes`, at most
    /// `maxConcurrentRequests` of them at once.
    func score(_ items: [Item]) async throws -> [Outcome] {
        var requests: [Range<Int>] = []
        var start = 0, bytes = Self.bodyOverhead
        for (i, item) in items.enumerated() {
            if i > start && bytes + item.payload.count + 1 > maxPayloadBytes {
                requests.append(start..<i)
                start = i
                bytes = Self.bodyOverhead
            }
            bytes += item.payload.count + 1
        }
        if start < items.count { requests.append(start..<items.count) }
        var outcomes = [Outcome?](repeating: nil, count: items.count)
        try await withThrowingTaskGroup(of: (Range<Int>, [Outcome]).self) { group in
            var next = 0
            func launch() {
                let range = requests[next]
                next += 1
                group.addTask { (range, try await self.score(items[range], probing: true)) }
            }
            while next < requests.count && next < maxConcurrentRequests { launch() }
            while let (range, results) = try await group.next() {
                for (i, outcome) in zip(range, results) { outcomes[i] = outcome }
                if next < requests.count { launch() }
            }
        }
        return outcomes.map { $0! }
    }

    /// One request's outcomes; a refused request is bisected (after the probe, when `probing`).
    func score(_ items: ArraySlice<Item>, probing: Bool) async throws -> [Outcome] {
        switch try await send(items) {
        case .predictions(let values):
            return values.map(Outcome.prediction)
        case .refused(let message):
            if items.count == 1 { return [.refused(InvocationAnswer.refusalReason(message))] }
            if probing && items.count >= Self.probes * 2 { try await probe(items, firstRefusal: message) }
            let middle = items.startIndex + items.count / 2
            async let left = score(items[..<middle], probing: false)
            let right = try await score(items[middle...], probing: false)
            return try await left + right
        }
    }

    /// Fails the file when the model refuses each of `probes` records spread over `items` alone.
    func probe(_ items: ArraySlice<Item>, firstRefusal: String) async throws {
        let picks = (0..<Self.probes).map { items.startIndex + $0 * items.count / Self.probes }
        let refusals = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in picks {
                group.addTask {
                    if case .refused(let message) = try await self.send(items[index...index]) { return message }
                    return nil
                }
            }
            var refused: [String] = []
            for try await message in group { if let message { refused.append(message) } }
            return refused
        }
        guard refusals.count == picks.count else { return }
        throw TrainyardError(.invalidArgument, "the model \(label) refused each of \(picks.count) records of lines \(lines(items)) sent alone, so it does not take this input as sent (\(contentType)): \(InvocationAnswer.refusalReason(refusals[0]))")
    }

    enum Answer {
        case predictions([JSONValue])
        case refused(String)
    }

    var contentType: String { format == .jsonl ? "application/json" : "text/csv" }

    /// One `/invocations` request. A 4xx is a refusal; anything else that goes wrong is thrown.
    func send(_ items: ArraySlice<Item>) async throws -> Answer {
        var body: [UInt8] = []
        body.reserveCapacity(items.reduce(Self.bodyOverhead) { $0 + $1.payload.count + 1 })
        if format == .jsonl {
            body.append(contentsOf: #"{"instances":["#.utf8)
            for (n, item) in items.enumerated() {
                if n > 0 { body.append(UInt8(ascii: ",")) }
                body.append(contentsOf: item.payload)
            }
            body.append(contentsOf: "]}".utf8)
        } else {
            for item in items {
                body.append(contentsOf: item.payload)
                body.append(InputRecords.newline)
            }
        }
        let data: Data, answerType: String
        do {
            (data, answerType) = try await process.invoke(body: Data(body), contentType: contentType)
        } catch let error as TrainyardError where error.code == .invalidInput {
            return .refused(error.message)
        }
        guard let predictions = InvocationAnswer.predictions(data, contentType: answerType) else {
            throw TrainyardError(.invalidArgument, "the serve process of \(label) answered \(items.count) record\(items.count == 1 ? "" : "s") of lines \(lines(items)) with \(clientEcho(answerType, limit: 60)) that is neither a JSON array, {\"predictions\": [...]}, nor one line per record: \(clientEcho(String(decoding: data.prefix(200), as: UTF8.self)))")
        }
        guard predictions.count == items.count else {
            throw TrainyardError(.invalidArgument, "the serve process of \(label) answered \(predictions.count) prediction\(predictions.count == 1 ? "" : "s") for \(items.count) record\(items.count == 1 ? "" : "s") (lines \(lines(items))); batch transform needs one per record, in order")
        }
        return .predictions(predictions)
    }

    func lines(_ items: ArraySlice<Item>) -> String {
        guard let first = items.first?.record.line, let last = items.last?.record.line else { return "" }
        return first == last ? "\(first)" : "\(first)–\(last)"
    }
}
