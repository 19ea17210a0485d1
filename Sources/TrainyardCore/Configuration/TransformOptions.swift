import Configuration
import Foundation

/// Tunables of batch transform, all defaulted: the `transform` section of
/// `TrainyardConfiguration` (environment `TRAINYARD_TRANSFORM_*`).
public struct TransformOptions: Sendable, Equatable {
    /// Input is read and scored in record-aligned blocks of about this many bytes; a few blocks
    /// are in flight at once (one per core plus one being read and one being written), which
    /// bounds the scoring process's memory whatever the file's size.
    public var blockBytes: Int
    /// A single input file larger than this is split into line-aligned byte ranges of about
    /// this size, one `transform-part` job each, so several workers share it; 0 never splits.
    public var partBytes: Int64
    /// Most files one transform lists from a folder (`transform.max_files`).
    public var maxFiles: Int
    /// Bring-your-own models: the most bytes of records in one request to the serve process
    /// (SageMaker's `MaxPayloadInMB`).
    public var maxPayloadBytes: Int
    /// Bring-your-own models: requests in flight to the serve process at once (SageMaker's
    /// `MaxConcurrentTransforms`).
    public var maxConcurrentRequests: Int
    /// Most bytes of one record (a line without an end is an error past it, not a memory spike).
    public var maxRecordBytes: Int

    public init(blockBytes: Int = 4 << 20, partBytes: Int64 = 256 << 20, maxFiles: Int = 10_000, maxPayloadBytes: Int = 6 << 20,
                maxConcurrentRequests: Int = 2, maxRecordBytes: Int = 1 << 20) {
        self.blockBytes = blockBytes
        self.partBytes = partBytes
        self.maxFiles = maxFiles
        self.maxPayloadBytes = maxPayloadBytes
        self.maxConcurrentRequests = maxConcurrentRequests
        self.maxRecordBytes = maxRecordBytes
    }

    /// `transform.*`: `block_kb`, `part_mb` (0: never split), `max_files`, `max_payload_mb`,
    /// `max_concurrent`, `max_record_kb`. A value out of range is an error naming its key.
    static func load(_ config: ConfigReader) throws(TrainyardError) -> TransformOptions {
        var o = TransformOptions()
        func int(_ key: String, atLeast minimum: Int, _ unit: String) throws(TrainyardError) -> Int? {
            guard let value = config.int(forKey: ConfigKey(["transform", key])) else { return nil }
            guard value >= minimum else { throw TrainyardError(.invalidArgument, "transform.\(key) must be \(unit); got \(value)") }
            return value
        }
        if let v = try int("block_kb", atLeast: 16, "at least 16 KiB") { o.blockBytes = v << 10 }
        if let v = try int("part_mb", atLeast: 0, "0 (never split) or a number of MiB") { o.partBytes = Int64(v) << 20 }
        if let v = try int("max_files", atLeast: 1, "at least 1") { o.maxFiles = v }
        if let v = try int("max_payload_mb", atLeast: 1, "a positive number of MiB") { o.maxPayloadBytes = v << 20 }
        if let v = try int("max_concurrent", atLeast: 1, "at least 1") { o.maxConcurrentRequests = v }
        if let v = try int("max_record_kb", atLeast: 1, "a positive number of KiB") { o.maxRecordBytes = v << 10 }
        return o
    }
}
