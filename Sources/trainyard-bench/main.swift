// Queue benchmarks (benchmarks/queue/run):
//   trainyard-bench [JOBS [SAMPLES]]                               in-process, embedded store
//   trainyard-bench processes METADATA JOBS SAMPLES W1 [W2 …]      worker processes on a shared store
//   trainyard-bench worker METADATA PROJECT ARTIFACTS              (one of those worker processes)
//   trainyard-bench s3 BUCKET FILE                                 a large artifact up and down through S3
import Foundation

let args = CommandLine.arguments
do {
    switch args.dropFirst().first {
    case "worker":
        try await workerProcess(metadata: args[2], project: args[3], artifacts: URL(fileURLWithPath: args[4]))
    case "processes":
        try await processesBenchmark(metadata: args[2], jobs: Int(args[3]) ?? 5000, samples: Int(args[4]) ?? 500,
                                     workerCounts: args.dropFirst(5).compactMap { Int($0) })
    case "s3":
        try await s3TransferBenchmark(bucket: args[2], file: URL(fileURLWithPath: args[3]))
    default:
        try await embeddedBenchmark(jobs: args.count > 1 ? Int(args[1]) ?? 5000 : 5000, samples: args.count > 2 ? Int(args[2]) ?? 500 : 500)
    }
} catch {
    // A failed measurement is reported, not trapped on (a top-level throw crashes the process).
    FileHandle.standardError.write(Data("trainyard-bench: \(error)\n".utf8))
    exit(1)
}
