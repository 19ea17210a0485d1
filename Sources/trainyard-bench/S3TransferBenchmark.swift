// S3 transfer benchmark (benchmarks/queue/run, part 3): one large artifact up and down through
// the S3 artifact store the application builds from its configuration (multipart upload from a
// file, streamed download to a file, sha256 computed on the way), as a worker publishing a
// model and a server loading one do. The endpoint comes from TRAINYARD_S3_ENDPOINT and the
// credentials from AWS's usual chain; the bucket must exist.
import Foundation
import Logging
import TrainyardApp
import TrainyardCore

/// `trainyard-bench s3 BUCKET FILE`: prints `{"upload_mbps": …, "download_mbps": …}`.
func s3TransferBenchmark(bucket: String, file: URL) async throws {
    var config = TrainyardConfiguration()
    config.dataDirectory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("trainyard-bench-s3-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: config.dataDirectory) }
    config.metadata = .memory
    config.artifacts = .s3(bucket: bucket, prefix: "bench")
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let artifacts = try await TrainyardApp.build(config, logger: logger).services.artifacts
    let bytes = Double((try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.int64Value ?? 0)
    let megabytes = bytes / 1_048_576

    let start = ContinuousClock.now
    let written = try await artifacts.put("models/bench/1/artifact.bin", file: file)
    let uploaded = ContinuousClock.now
    let copy = config.dataDirectory.appendingPathComponent("download.bin")
    let read = try await artifacts.download("models/bench/1/artifact.bin", to: copy)
    let downloaded = ContinuousClock.now
    guard read.sha256 == written.sha256, read.bytes == Int64(bytes) else {
        throw BenchmarkFailure("the downloaded object differs from the uploaded file (\(read.sha256) vs \(written.sha256))")
    }
    try await artifacts.delete("models/bench/1/artifact.bin")
    print(String(format: "{\"upload_mbps\": %.1f, \"download_mbps\": %.1f}",
                 megabytes / (uploaded - start).seconds, megabytes / (downloaded - uploaded).seconds))
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
