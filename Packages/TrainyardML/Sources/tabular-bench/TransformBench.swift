import Dispatch
import Foundation
import TrainyardTabular

/// `tabular-bench transform`: batch transform's scoring cost without the file system. Trains a
/// model on `--train`, repeats that file's rows (target included, as a file to score usually
/// has it) up to `--rows`, cuts them into record-aligned blocks of about `--block-kb` and scores
/// every block with `TabularBlockScorer`, one thread per block (`--threads`, default 1: the
/// single-core figure), as the transform job does. Reports the median of 3 runs.
enum TransformBench {
    static func run(_ opts: Options, task: TabularTask, algorithm: String, target: String, seed: UInt64) throws -> [String: Any] {
        let train = readBytes(opts.required("train"))
        let t0 = now()
        let result = try TabularLearning.train(TabularTrainingRequest(task: task, algorithm: algorithm, params: opts.params, target: target,
                                                                      train: train, seed: seed), observer: SilentObserver())
        let trainSeconds = now() - t0
        let predictor = try TabularPredictor(model: result.model)
        let rows = Int(opts["rows"] ?? "1000000") ?? 1_000_000
        let blockBytes = (Int(opts["block-kb"] ?? "4096") ?? 4096) << 10
        let threads = max(1, Int(opts["threads"] ?? "1") ?? 1)
        guard let format = TabularRecordFormat(rawValue: opts["format"] ?? "csv"), format != .tsv else {
            throw BenchError("--format is csv or jsonl")
        }
        let keep = opts["keep"].map { $0.split(separator: ",").map(String.init) } ?? []

        var lines = String(decoding: train, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if format == .jsonl { lines = lines.map { jsonObject(header: header, csvLine: $0, schema: predictor.schema) } }
        let blocks = makeBlocks(lines, rows: rows, blockBytes: blockBytes)
        let inputBytes = blocks.reduce(0) { $0 + $1.count }

        let layout = TabularBlockLayout(format: format, firstRecord: format == .csv ? header : nil, keep: keep)
        let scorer = try TabularBlockScorer(predictor: predictor, layout: layout)
        var seconds: [Double] = [], cpuSeconds: [Double] = []
        var outputBytes = 0, rowsOut = 0, errors = 0
        for _ in 0..<3 {
            let counts = Counts(blocks.count)
            let start = now(), cpuStart = processCPUSeconds()
            // Blocks dealt round-robin to the threads, each scored whole on one thread.
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for b in stride(from: t, to: blocks.count, by: threads) {
                    let scored = scorer.score(blocks[b], firstLine: 2)
                    counts.set(b, output: scored.output.count, rows: scored.rowsOut, errors: scored.errors.count)
                }
            }
            seconds.append(now() - start)
            cpuSeconds.append(processCPUSeconds() - cpuStart)
            (outputBytes, rowsOut, errors) = counts.totals
        }
        if let path = opts["output"] {
            var out = scorer.outputHeader ?? []
            for block in blocks { out += scorer.score(block, firstLine: 2).output }
            try Data(out).write(to: URL(fileURLWithPath: path))
        }
        return [
            "algorithm": algorithm, "format": format.rawValue, "train_seconds": trainSeconds, "trees_or_epochs": result.history.count,
            "rows": rows, "rows_out": rowsOut, "row_errors": errors, "threads": threads, "blocks": blocks.count,
            "input_bytes": inputBytes, "output_bytes": outputBytes, "seconds": seconds,
            "rows_per_second": Double(rows) / median(seconds),
            // CPU time of all threads: what one core does per second, even on a busy machine.
            "cpu_seconds": cpuSeconds, "rows_per_cpu_second": Double(rows) / median(cpuSeconds),
        ]
    }

    /// User + system CPU time of this process so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// `rows` of `lines` (repeated), newline-terminated, cut after the first line end past each
    /// `blockBytes`.
    static func makeBlocks(_ lines: [String], rows: Int, blockBytes: Int) -> [[UInt8]] {
        var blocks: [[UInt8]] = []
        var block: [UInt8] = []
        block.reserveCapacity(blockBytes + 4096)
        for r in 0..<rows {
            block.append(contentsOf: lines[r % lines.count].utf8)
            block.append(10)
            if block.count >= blockBytes {
                blocks.append(block)
                block.removeAll(keepingCapacity: true)
            }
        }
        if !block.isEmpty { blocks.append(block) }
        return blocks
    }

    /// A CSV line as a JSON object: the model's numeric columns and the target as numbers.
    static func jsonObject(header: [String], csvLine: String, schema: TabularSchema) -> String {
        let categorical = Set(schema.features.filter { $0.kind == .categorical }.map(\.name))
        let fields = csvLine.split(separator: ",", omittingEmptySubsequences: false)
        let members = zip(header, fields).map { name, value in
            let number = !categorical.contains(name) && Double(value) != nil
            return "\"\(name)\":" + (number ? String(value) : value.isEmpty ? "null" : "\"\(value)\"")
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// Per-block counts written by the scoring threads (each block's slot by one thread only).
    final class Counts: @unchecked Sendable {
        private var values: [(output: Int, rows: Int, errors: Int)]
        private let lock = NSLock()
        init(_ blocks: Int) { values = Array(repeating: (0, 0, 0), count: blocks) }
        func set(_ b: Int, output: Int, rows: Int, errors: Int) { lock.withLock { values[b] = (output, rows, errors) } }
        var totals: (Int, Int, Int) {
            lock.withLock { values.reduce((0, 0, 0)) { ($0.0 + $1.output, $0.1 + $1.rows, $0.2 + $1.errors) } }
        }
    }

    struct BenchError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
