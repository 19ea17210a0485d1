// text-bench: measures Trainyard's text models on the shared data sets.
//
//   text-bench sst2 DATA_DIR [key=value ...]      train on train.tsv, dev accuracy, sentences/s
//   text-bench rt FILE [key=value ...]            10-fold cross-validated accuracy
//   text-bench conll DATA_DIR [key=value ...]     train on train.txt, dev F1, tokens/s
//
// Prints `result: name=value` lines for benchmarks/text/run to collect.
import Foundation
import TrainyardText

func readFile(_ path: String) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write("cannot read \(path)\n".data(using: .utf8)!)
        exit(2)
    }
    return Array(data)
}

func now() -> Double { Date().timeIntervalSince1970 }
/// Process CPU time (all threads), to tell work from waiting on a shared machine.
func cpuTime() -> Double { Double(clock()) / Double(CLOCKS_PER_SEC) }

func parseParams(_ args: ArraySlice<String>) -> [String: ParamValue] {
    var out: [String: ParamValue] = [:]
    for a in args {
        let parts = a.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { continue }
        let v = parts[1]
        if v.hasPrefix("[") {
            out[parts[0]] = .list(v.dropFirst().dropLast().split(separator: ",").map { .int(Int($0.trimmingCharacters(in: .whitespaces))!) })
        } else if let i = Int(v) { out[parts[0]] = .int(i) }
        else if let d = Double(v) { out[parts[0]] = .double(d) }
        else if v == "true" || v == "false" { out[parts[0]] = .bool(v == "true") }
        else { out[parts[0]] = .string(v) }
    }
    return out
}

struct PrintObserver: TrainingObserver {
    let verbose: Bool
    func epochFinished(_ report: EpochReport) -> Bool {
        if verbose {
            let m = report.metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%.4f", $0.value))" }.joined(separator: " ")
            print("  epoch \(report.epoch)/\(report.totalEpochs) \(m)")
        }
        return true
    }
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    print("usage: text-bench sst2|rt|conll PATH [key=value ...]")
    exit(2)
}
let verbose = ProcessInfo.processInfo.environment["VERBOSE"] != nil
var params = parseParams(args.dropFirst(3))
let validationFraction: Double = {
    if case .double(let d)? = params["validation_fraction"] { return d }
    return 0.1
}()
params["validation_fraction"] = nil

switch args[1] {
case "sst2":
    let train = readFile(args[2] + "/train.tsv")
    let dev = readFile(args[2] + "/dev.tsv")
    let useDev: Bool = { if case .string("dev")? = params["validation"] { return true }; return false }()
    params["validation"] = nil
    let t0 = now(), c0 = cpuTime()
    let result = try TextClassification.train(
        TextClassificationRequest(train: train, validation: useDev ? .data(dev) : .fraction(validationFraction), params: params),
        observer: PrintObserver(verbose: verbose))
    let trainSeconds = now() - t0, trainCPU = cpuTime() - c0
    let classifier = try TextClassifier(model: result.model)
    let report = try classifier.evaluate(data: dev)
    let devTexts = try TextDatasetReader.read(dev, format: .auto).map(\.text)
    var batch: [String] = []
    while batch.count < 200_000 { batch.append(contentsOf: devTexts) }
    _ = try classifier.predict(Array(batch.prefix(2000)))
    let t1 = now(), c1 = cpuTime()
    let predictions = try classifier.predict(batch)
    let predictSeconds = now() - t1, predictCPU = cpuTime() - c1
    precondition(predictions.count == batch.count)
    print("result: dev_accuracy=\(report.metrics["accuracy"]! * 100)")
    print("result: train_seconds=\(trainSeconds)")
    print("result: train_cpu_seconds=\(trainCPU)")
    print("result: sentences_per_second=\(Double(batch.count) / predictSeconds)")
    print("result: sentences_per_cpu_second=\(Double(batch.count) / predictCPU)")
    print("result: model_bytes=\(result.model.count)")
    print("result: best_epoch=\(result.metrics["best_epoch"] ?? 0)")
case "rt":
    let records = try TextDatasetReader.read(readFile(args[2]), format: .auto)
    var rng = SeededGenerator(seed: 7)
    var order = Array(records.indices)
    order.shuffle(using: &rng)
    let folds = 10
    var correct = 0
    let t0 = now()
    for fold in 0..<folds {
        let testIdx = order.indices.filter { $0 % folds == fold }.map { order[$0] }
        let testSet = Set(testIdx)
        let trainRecords = records.indices.filter { !testSet.contains($0) }.map { records[$0] }
        func tsv(_ rs: [LabeledText]) -> [UInt8] {
            Array(("label\tsentence\n" + rs.map { "\($0.label)\t\($0.text)" }.joined(separator: "\n")).utf8)
        }
        let result = try TextClassification.train(
            TextClassificationRequest(train: tsv(trainRecords), format: .tsv, validation: .fraction(validationFraction), params: params),
            observer: PrintObserver(verbose: false))
        let classifier = try TextClassifier(model: result.model)
        let predictions = try classifier.predict(testIdx.map { records[$0].text })
        for (k, i) in testIdx.enumerated() where predictions[k].label == records[i].label { correct += 1 }
    }
    print("result: cv_accuracy=\(Double(correct) / Double(records.count) * 100)")
    print("result: cv_seconds=\(now() - t0)")
case "conll":
    let train = readFile(args[2] + "/train.txt")
    let dev = readFile(args[2] + "/valid.txt")
    let useDev: Bool = { if case .string("dev")? = params["validation"] { return true }; return false }()
    params["validation"] = nil
    let t0 = now(), c0 = cpuTime()
    let result = try EntityRecognition.train(
        NERTrainingRequest(train: train, validation: useDev ? .data(dev) : .fraction(validationFraction), params: params),
        observer: PrintObserver(verbose: verbose))
    let trainSeconds = now() - t0, trainCPU = cpuTime() - c0
    let recognizer = try EntityRecognizer(model: result.model)
    let t1 = now()
    let report = try recognizer.evaluate(conll: dev)
    let evalSeconds = now() - t1
    let sentences = try CoNLLReader.read(dev).map(\.tokens)
    let tokenCount = sentences.reduce(0) { $0 + $1.count }
    _ = recognizer.tag(Array(sentences.prefix(200)))
    var best = Double.infinity
    for _ in 0..<3 {
        let t2 = now()
        _ = recognizer.tag(sentences)
        best = min(best, now() - t2)
    }
    // Raw-text path: tokenize + tag + entities with offsets.
    let raw = sentences.map { $0.joined(separator: " ") }
    let t3 = now()
    _ = recognizer.recognize(batch: raw)
    let rawSeconds = now() - t3
    print("result: dev_f1=\(report.metrics["f1"]! * 100)")
    print("result: dev_precision=\(report.metrics["precision"]! * 100)")
    print("result: dev_recall=\(report.metrics["recall"]! * 100)")
    for (type, m) in report.perType!.sorted(by: { $0.key < $1.key }) { print("result: dev_f1_\(type)=\(m["f1"]! * 100)") }
    print("result: train_seconds=\(trainSeconds)")
    print("result: train_cpu_seconds=\(trainCPU)")
    print("result: tokens_per_second=\(Double(tokenCount) / best)")
    print("result: raw_text_tokens_per_second=\(Double(tokenCount) / rawSeconds)")
    print("result: evaluate_seconds=\(evalSeconds)")
    print("result: iterations=\(result.metrics["iterations"] ?? 0) best_iteration=\(result.metrics["best_iteration"] ?? 0) attributes=\(result.metrics["attributes"] ?? 0) parameters=\(result.metrics["parameters"] ?? 0) evaluations=\(result.metrics["evaluations"] ?? 0)")
    print("result: model_bytes=\(result.model.count)")
default:
    print("unknown task \(args[1])")
    exit(2)
}
