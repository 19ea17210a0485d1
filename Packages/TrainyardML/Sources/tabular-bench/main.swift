// tabular-bench: measures Trainyard's tabular learners on CSV files (see benchmarks/tabular/run).
//
//   tabular-bench fit  --algorithm gbdt --task regression --target price --train A.csv --test B.csv [--repeat 3] [--param k=v]…
//                      [--predictions out.txt]
//   tabular-bench cv   --algorithm linear --task classification --target species --data iris.csv [--folds 5]
//   tabular-bench warm --algorithm gbdt --task regression --target price --part1 A.csv --part2 B.csv --test C.csv
//   tabular-bench transform --algorithm gbdt --task regression --target price --train A.csv [--rows 1000000] [--block-kb 4096]
//                           [--threads 1] [--keep carat] [--format csv|jsonl]
//
// Prints one JSON object per command on stdout.
import Foundation
import TrainyardTabular

struct Options {
    var values: [String: String] = [:]
    var params: [String: ParamValue] = [:]
    init(_ args: ArraySlice<String>) {
        var it = args.makeIterator()
        while let a = it.next() {
            guard a.hasPrefix("--"), let v = it.next() else { continue }
            let key = String(a.dropFirst(2))
            if key == "param" {
                let kv = v.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 {
                    if let i = Int(kv[1]) { params[kv[0]] = .int(i) }
                    else if let d = Double(kv[1]) { params[kv[0]] = .double(d) }
                    else if kv[1] == "true" || kv[1] == "false" { params[kv[0]] = .bool(kv[1] == "true") }
                    else if kv[1].hasPrefix("[") {
                        params[kv[0]] = .list(kv[1].dropFirst().dropLast().split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map { .int($0) })
                    } else { params[kv[0]] = .string(kv[1]) }
                }
            } else { values[key] = v }
        }
    }
    subscript(_ k: String) -> String? { values[k] }

    /// The value of a required option; usage and exit status 2 when it is missing.
    func required(_ k: String) -> String {
        guard let v = values[k] else {
            FileHandle.standardError.write(Data("tabular-bench: --\(k) is required\n\(Usage.text)".utf8))
            exit(2)
        }
        return v
    }
}

enum Usage {
    static let text = """
    usage: tabular-bench fit  --algorithm gbdt --task regression --target price --train A.csv --test B.csv [--repeat 3] [--param k=v]… [--predictions out.txt]
           tabular-bench cv   --algorithm linear --task classification --target species --data iris.csv [--folds 5]
           tabular-bench warm --algorithm gbdt --task regression --target price --part1 A.csv --part2 B.csv --test C.csv
           tabular-bench transform --algorithm gbdt --task regression --target price --train A.csv [--rows 1000000] [--block-kb 4096] [--threads 1] [--keep COL] [--format csv|jsonl]

    """
}

func readBytes(_ path: String) -> [UInt8] {
    guard let d = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
    return [UInt8](d)
}

func now() -> Double { Date().timeIntervalSince1970 }

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func json(_ obj: [String: Any]) -> String {
    let d = try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    return String(decoding: d, as: UTF8.self)
}

/// The test file's rows repeated until there are at least `minimumRows`.
func repeatedCSV(_ bytes: [UInt8], minimumRows: Int) -> [UInt8] {
    let text = String(decoding: bytes, as: UTF8.self)
    var lines = text.split(whereSeparator: \.isNewline).map(String.init)
    let header = lines.removeFirst()
    var out = header + "\n"
    var rows = 0
    let body = lines.joined(separator: "\n") + "\n"
    while rows < minimumRows { out += body; rows += lines.count }
    return Array(out.utf8)
}

let args = CommandLine.arguments
if args.contains("--help") || args.contains("-h") { print(Usage.text, terminator: ""); exit(0) }
guard args.count >= 2 else { FileHandle.standardError.write(Data(Usage.text.utf8)); exit(2) }
let opts = Options(args.dropFirst(2))
let task = opts["task"] == "classification" ? TabularTask.classification : .regression
let algorithm = opts["algorithm"] ?? "gbdt"
let target = opts["target"] ?? "price"
let seed = UInt64(opts["seed"] ?? "42") ?? 42
let validation = ValidationSource.fraction(Double(opts["validation"] ?? "0.15") ?? 0.15)
let quiet = SilentObserver()

do {
    switch args[1] {
    case "fit":
        let train = readBytes(opts.required("train")), test = readBytes(opts.required("test"))
        let repeats = Int(opts["repeat"] ?? "1") ?? 1
        var times: [Double] = []
        var last: TabularTrainingResult? = nil
        for _ in 0..<repeats {
            let t0 = now()
            last = try TabularLearning.train(TabularTrainingRequest(task: task, algorithm: algorithm, params: opts.params, target: target,
                                                                    train: train, validation: validation, seed: seed), observer: quiet)
            times.append(now() - t0)
        }
        let result = last!
        let predictor = try TabularPredictor(model: result.model)
        let report = try predictor.evaluate(csv: test)
        if let path = opts["predictions"] {
            // Test-set predictions, one per line (for error analysis).
            let p = try predictor.predictMatrix(csv: test)
            try Data(p.map { String($0) }.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        }
        // Prediction throughput on pre-parsed rows (like a peer scoring a numpy array).
        let big = try predictor.encode(csv: repeatedCSV(test, minimumRows: Int(opts["predict-rows"] ?? "1000000") ?? 1_000_000))
        var predictTimes: [Double] = []
        for _ in 0..<3 {
            let t0 = now()
            let p = predictor.predictMatrix(big)
            predictTimes.append(now() - t0)
            precondition(p.count >= big.count)
        }
        // End to end: CSV bytes in, predictions out.
        let t0 = now()
        _ = try predictor.predict(csv: test)
        let csvSeconds = now() - t0
        var out: [String: Any] = [
            "algorithm": algorithm, "train_seconds": times, "train_seconds_median": median(times),
            "test_metrics": report.metrics, "test_rows": report.rows, "validation_metrics": result.metrics,
            "epochs": result.history.count, "predict_rows": big.count,
            "predict_rows_per_second": Double(big.count) / median(predictTimes),
            "csv_predict_rows_per_second": Double(report.rows) / csvSeconds,
            "model_bytes": result.model.count,
        ]
        out["params"] = result.resolvedParams.mapValues { $0.description }
        if opts["history"] != nil {
            out["history"] = result.history.map { ["epoch": $0.epoch, "train_loss": $0.metrics["train_loss"] ?? -1, "validation_loss": $0.metrics["validation_loss"] ?? -1] as [String: Any] }
        }
        print(json(out))
    case "cv":
        let data = readBytes(opts.required("data"))
        let folds = Int(opts["folds"] ?? "5") ?? 5
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        let header = lines.removeFirst()
        let targetIndex = header.split(separator: ",").map(String.init).firstIndex(of: target)!
        // Stratified folds: each class's rows dealt round-robin, in file order.
        var seen: [String: Int] = [:]
        var fold = [Int](repeating: 0, count: lines.count)
        for (i, l) in lines.enumerated() {
            let label = l.split(separator: ",", omittingEmptySubsequences: false).map(String.init)[targetIndex]
            fold[i] = seen[label, default: 0] % folds
            seen[label, default: 0] += 1
        }
        var correct = 0, total = 0
        for k in 0..<folds {
            let trainCSV = ([header] + lines.indices.filter { fold[$0] != k }.map { lines[$0] }).joined(separator: "\n") + "\n"
            let testCSV = ([header] + lines.indices.filter { fold[$0] == k }.map { lines[$0] }).joined(separator: "\n") + "\n"
            let r = try TabularLearning.train(TabularTrainingRequest(task: .classification, algorithm: algorithm, params: opts.params, target: target,
                                                                     train: Array(trainCSV.utf8), validation: .fraction(0), seed: seed), observer: quiet)
            let rep = try TabularPredictor(model: r.model).evaluate(csv: Array(testCSV.utf8))
            correct += Int((rep.metrics["accuracy"]! * Double(rep.rows)).rounded())
            total += rep.rows
        }
        print(json(["algorithm": algorithm, "folds": folds, "cv_accuracy": Double(correct) / Double(total)]))
    case "warm":
        let p1 = readBytes(opts.required("part1")), p2 = readBytes(opts.required("part2")), test = readBytes(opts.required("test"))
        let v1 = try TabularLearning.train(TabularTrainingRequest(task: task, algorithm: algorithm, params: opts.params, target: target, train: p1, seed: seed), observer: quiet)
        let t0 = now()
        let v2 = try TabularLearning.train(TabularTrainingRequest(task: task, algorithm: algorithm, params: opts.params, target: target, train: p2, seed: seed,
                                                                  warmStart: v1.checkpoint), observer: quiet)
        let warmSeconds = now() - t0
        let m1 = try TabularPredictor(model: v1.model).evaluate(csv: test).metrics
        let m2 = try TabularPredictor(model: v2.model).evaluate(csv: test).metrics
        print(json(["algorithm": algorithm, "v1_test_metrics": m1, "v2_test_metrics": m2, "warm_seconds": warmSeconds]))
    case "transform":
        print(json(try TransformBench.run(opts, task: task, algorithm: algorithm, target: target, seed: seed)))
    default:
        print("unknown command \(args[1])")
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
