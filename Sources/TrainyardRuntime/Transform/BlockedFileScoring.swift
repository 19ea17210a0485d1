#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TrainyardCore

/// Scores a byte range of one input file in record-aligned blocks, several at once (one per
/// core), and writes the results in input order: the loop both the whole-file path and a
/// fanned-out part run.
///
/// Memory is bounded by the block size times the blocks in flight (`parallelism` + 1), not by
/// the file's size: a block is read (off the cooperative pool), cut after its last complete
/// record (`RecordScanner`, so a quoted newline never splits a record), handed to the scorer
/// in a task of its own, and its output written as soon as every earlier block's has been.
struct BlockedFileScoring: Sendable {
    let scorer: any RecordBlockScorer
    let format: TransformFormat
    let blockBytes: Int
    let maxRecordBytes: Int
    let parallelism: Int

    struct Totals: Sendable, Equatable {
        var rowsIn = 0
        var rowsOut = 0
        var errors = 0
        /// The first few row errors (for the job's log and a failure's reason).
        var firstErrors: [RowError] = []
        var bytesDone: Int64 = 0

        mutating func add(_ block: ScoredBlock) {
            rowsIn += block.rowsIn
            rowsOut += block.rowsOut
            errors += block.errors.count
            for e in block.errors where firstErrors.count < 5 { firstErrors.append(e) }
        }
    }

    /// Scores records in bytes `[start, end)` of `path`, the first on line `firstLine`; with
    /// `skipFirstRecord` the range's first record (a header) is not scored.
    func run(path: String, start: Int64, end: Int64, firstLine: Int, skipFirstRecord: Bool, output: HashingFileWriter, errors: HashingFileWriter,
             progress: @escaping @Sendable (Totals) -> Void, isCancelled: @escaping @Sendable () -> Bool) async throws -> Totals {
        let file = try InputDescriptor(path: path)
        var offset = start
        var line = firstLine
        var scanner = RecordScanner(format: format)
        var carry: [UInt8] = []
        var totals = Totals()
        var pending: [(task: Task<ScoredBlock, any Error>, bytes: Int64)] = []
        defer { for p in pending { p.task.cancel() } }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]

        func writeOldest() async throws {
            let (task, bytes) = pending.removeFirst()
            let block = try await task.value
            try output.write(block.output)
            for e in block.errors {
                try errors.write(try encoder.encode(e))
                try errors.write([0x0A])
            }
            totals.add(block)
            totals.bytesDone += bytes
            progress(totals)
        }
        func submit(_ bytes: [UInt8]) {
            let block = RecordBlock(bytes: bytes, firstLine: line)
            line += bytes.withUnsafeBufferPointer { RecordScanner.lineBreaks(in: $0) }
            let scorer = self.scorer
            pending.append((Task { try await scorer.score(block) }, Int64(bytes.count)))
        }

        /// Adds a chunk: the complete records (with what was carried) become a block; the
        /// incomplete tail is carried to the next chunk, or is the last record at the end.
        func take(_ chunk: ArraySlice<UInt8>, atEnd: Bool) async throws {
            let recordEnd = chunk.withUnsafeBufferPointer { scanner.lastRecordEnd(in: $0) }
            if let recordEnd {
                var bytes = carry
                bytes.append(contentsOf: chunk[chunk.startIndex..<(chunk.startIndex + recordEnd)])
                carry = Array(chunk[(chunk.startIndex + recordEnd)...])
                submit(bytes)
            } else {
                carry.append(contentsOf: chunk)
                if carry.count > maxRecordBytes + blockBytes && !atEnd {
                    throw TrainingFailure("\(path): line \(line): a record longer than transform.max_record_kb (\(maxRecordBytes >> 10) KiB) (an unclosed quote?)", retryable: false)
                }
            }
            if atEnd && !carry.isEmpty {
                submit(carry)
                carry = []
            }
            while pending.count > parallelism { try await writeOldest() }
        }

        var skipping = skipFirstRecord
        while offset < end {
            if isCancelled() { throw CancellationError() }
            let count = Int(min(Int64(blockBytes), end - offset))
            let chunk = try await file.read(at: offset, count: count)
            if chunk.isEmpty {
                throw TrainingFailure("\(path) ended at byte \(offset), before byte \(end): it changed while it was read", retryable: false)
            }
            offset += Int64(chunk.count)
            let atEnd = offset >= end
            var records = chunk[...]
            if skipping {
                skipping = false
                let headerEnd = chunk.withUnsafeBufferPointer { scanner.firstRecordEnd(in: $0) }
                guard let headerEnd else {
                    if atEnd { break }  // only a header, without a newline: no records
                    throw TrainingFailure("\(path): the header line is longer than transform.block_kb (\(blockBytes >> 10) KiB)", retryable: false)
                }
                line += chunk.withUnsafeBufferPointer { RecordScanner.lineBreaks(in: UnsafeBufferPointer(rebasing: $0[..<headerEnd])) }
                totals.bytesDone += Int64(headerEnd)
                records = chunk[headerEnd...]
            }
            try await take(records, atEnd: atEnd)
        }
        while !pending.isEmpty { try await writeOldest() }
        return totals
    }
}

/// A read-only file descriptor read with `pread` off the cooperative pool.
final class InputDescriptor: Sendable {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw TrainingFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { _ = close(descriptor) }

    func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        try await runBlocking { try self.readNow(at: offset, count: count) }
    }

    /// The blocking read itself (`count` bytes, fewer at the end of the file).
    func readNow(at offset: Int64, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TrainingFailure("reading the input failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            filled += n
        }
        if filled < count { bytes.removeSubrange(filled...) }
        return bytes
    }
}
