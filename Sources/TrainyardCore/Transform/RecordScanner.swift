import Foundation

/// Finds where records end in CSV, TSV and JSONL bytes, so a file can be cut into blocks (and
/// a large file into byte ranges) without cutting a record in two.
///
/// A newline ends a record unless it is inside a double-quoted CSV/TSV field (RFC 4180: a quote
/// inside a quoted field is written twice, which flips the state twice, so counting quotes is
/// exact). JSON strings cannot hold a raw newline, so in JSONL every newline ends a record.
/// The scanner keeps the quote state between calls: feed it the bytes of a file in order.
public struct RecordScanner: Sendable {
    public let format: TransformFormat
    /// Inside a quoted field at the end of what was scanned so far.
    public private(set) var inQuotes = false

    public init(format: TransformFormat) { self.format = format }

    static let newline = UInt8(ascii: "\n")
    static let quote = UInt8(ascii: "\"")

    /// Scans `bytes` (which continue what was scanned before) and returns the offset just past
    /// the last record-ending newline in it, or nil when no record ends there.
    public mutating func lastRecordEnd(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var last: Int?
        if format == .jsonl {
            var i = bytes.count
            while i > 0 {
                i -= 1
                if bytes[i] == Self.newline { return i + 1 }
            }
            return nil
        }
        var quoted = inQuotes
        for i in 0..<bytes.count {
            let b = bytes[i]
            if b == Self.quote {
                quoted.toggle()
            } else if b == Self.newline && !quoted {
                last = i + 1
            }
        }
        inQuotes = quoted
        return last
    }

    /// The offset just past the first record-ending newline in `bytes`, or nil.
    public mutating func firstRecordEnd(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var quoted = inQuotes
        for i in 0..<bytes.count {
            let b = bytes[i]
            if b == Self.quote && format != .jsonl {
                quoted.toggle()
            } else if b == Self.newline && !quoted {
                inQuotes = false
                return i + 1
            }
        }
        inQuotes = quoted
        return nil
    }

    /// The number of line breaks in `bytes` (to keep line numbers exact across blocks).
    public static func lineBreaks(in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var n = 0
        for b in bytes where b == newline { n += 1 }
        return n
    }
}

/// The fields of one CSV/TSV record (quotes removed, `""` unescaped), for deciding whether a
/// file's first line is a header. Not a general parser: the scorer parses the records.
public enum DelimitedRecord {
    public static func fields(_ record: some Collection<UInt8>, delimiter: UInt8) -> [String] {
        var fields: [String] = []
        var current: [UInt8] = []
        var quoted = false
        var bytes = Array(record)
        // The record's line ending is not part of the last field.
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == RecordScanner.quote {
                    if i + 1 < bytes.count && bytes[i + 1] == RecordScanner.quote { current.append(b); i += 1 } else { quoted = false }
                } else {
                    current.append(b)
                }
            } else if b == RecordScanner.quote {
                quoted = true
            } else if b == delimiter {
                fields.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(b)
            }
            i += 1
        }
        fields.append(String(decoding: current, as: UTF8.self))
        return fields.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
