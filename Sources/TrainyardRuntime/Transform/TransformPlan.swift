import Foundation
import TrainyardCore

/// Where a fanned-out transform cuts a file: after its header, then about every
/// `transform.part_mb` at the next record boundary. Found by one sequential, quote-aware pass
/// (`RecordScanner`), so a range never starts inside a quoted field that spans lines, and the
/// line each range starts on is known (row errors keep the file's own line numbers).
enum TransformPlan {
    struct Range: Sendable, Equatable {
        var start: Int64
        var end: Int64
        var firstLine: Int
    }

    static func ranges(of file: TransformInputFile, format: TransformFormat, skipHeader: Bool, partBytes: Int64, maxRecordBytes: Int,
                       blockBytes: Int, files: Int) throws -> [Range] {
        guard file.bytes > 0 else { return [Range(start: 0, end: 0, firstLine: 1)] }
        let descriptor = try InputDescriptor(path: file.path)
        var scanner = RecordScanner(format: format)
        var start: Int64 = 0
        var line = 1
        if skipHeader {
            let head = try descriptor.readNow(at: 0, count: min(Int(file.bytes), maxRecordBytes + 1))
            guard let end = head.withUnsafeBufferPointer({ scanner.firstRecordEnd(in: $0) }) else {
                return [Range(start: file.bytes, end: file.bytes, firstLine: 2)]  // a header without a newline: no records
            }
            start = Int64(end)
            line = 2
        }
        // No split: the whole file (after its header) is one part.
        guard partBytes > 0, file.bytes - start > partBytes else { return [Range(start: start, end: file.bytes, firstLine: line)] }
        var ranges: [Range] = []
        var rangeStart = start, rangeLine = line
        var offset = start
        var target = start + partBytes
        while offset < file.bytes {
            let chunk = try descriptor.readNow(at: offset, count: Int(min(Int64(blockBytes), file.bytes - offset)))
            if chunk.isEmpty { break }
            try chunk.withUnsafeBufferPointer { buffer in
                var position = 0
                while position < buffer.count {
                    let chunkEnd = offset + Int64(buffer.count)
                    if target >= chunkEnd {
                        // The cut is past this chunk: only the quote state and the lines matter.
                        _ = scanner.lastRecordEnd(in: UnsafeBufferPointer(rebasing: buffer[position...]))
                        line += RecordScanner.lineBreaks(in: UnsafeBufferPointer(rebasing: buffer[position...]))
                        position = buffer.count
                        break
                    }
                    // Scan up to the target, then to the first record end after it.
                    let toTarget = Int(max(0, target - offset)) - position
                    if toTarget > 0 {
                        let before = UnsafeBufferPointer(rebasing: buffer[position..<(position + toTarget)])
                        _ = scanner.lastRecordEnd(in: before)
                        line += RecordScanner.lineBreaks(in: before)
                        position += toTarget
                    }
                    let rest = UnsafeBufferPointer(rebasing: buffer[position...])
                    guard let end = scanner.firstRecordEnd(in: rest) else {
                        line += RecordScanner.lineBreaks(in: rest)
                        position = buffer.count
                        if Int64(buffer.count) + offset - target > Int64(maxRecordBytes) {
                            throw TrainingFailure("\(file.path): no record ends within transform.max_record_kb after byte \(target) (an unclosed quote?)", retryable: false)
                        }
                        break
                    }
                    line += RecordScanner.lineBreaks(in: UnsafeBufferPointer(rebasing: rest[..<end]))
                    position += end
                    let cut = offset + Int64(position)
                    if cut < file.bytes {
                        ranges.append(Range(start: rangeStart, end: cut, firstLine: rangeLine))
                        rangeStart = cut
                        rangeLine = line
                    }
                    target = cut + partBytes
                }
            }
            offset += Int64(chunk.count)
        }
        ranges.append(Range(start: rangeStart, end: file.bytes, firstLine: rangeLine))
        return ranges
    }
}
