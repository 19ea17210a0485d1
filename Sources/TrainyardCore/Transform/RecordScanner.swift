import Foundation

/// Finds where records end in CSV, TSV and JSONL bytes, so a file can be cut into blocks (and
/// a large file into byte ranges) without cutting a record in two.
///
/// A newline ends a record unless it is inside a quoted CSV/TSV field. A quote opens a quoted
/// field only at the start of a field (as the tokenizer that parses the records reads it: a
/// stray quote inside `5" screen` is text); inside a quoted field a quote closes it unless the
/// next byte is another quote (`""`, an escaped quote). JSON strings cannot hold a raw newline,
/// so in JSONL every newline ends a record. The scanner keeps its state between calls: feed it
/// the bytes of a file in order.
public struct RecordScanner: Sendable {
    public let format: TransformFormat
    private let delimiter: UInt8

    enum State: Sendable {
        /// Outside quotes; `atFieldStart` when the last byte ended a field or a record.
        case unquoted(atFieldStart: Bool)
        case quoted
        /// Just after a quote inside a quoted field: another quote is an escaped one.
        case afterQuote
    }

    private var state = State.unquoted(atFieldStart: true)

    /// Inside a quoted field at the end of what was scanned so far.
    public var inQuotes: Bool {
        if case .quoted = state { return true }
        return false
    }

    public init(format: TransformFormat) {
        self.format = format
        self.delimiter = format.fieldDelimiter ?? UInt8(ascii: ",")
    }

    static let newline = UInt8(ascii: "\n")
    static let quote = UInt8(ascii: "\"")

    /// Advances over one byte; returns whether it ends a record.
    @inline(__always)
    private mutating func step(_ b: UInt8) -> Bool {
        switch state {
        case .unquoted(let atFieldStart):
            if b == Self.newline { state = .unquoted(atFieldStart: true); return true }
            if b == Self.quote && atFieldStart { state = .quoted; return false }
            state = .unquoted(atFieldStart: b == delimiter)
            return false
        case .quoted:
            if b == Self.quote { state = .afterQuote }
            return false
        case .afterQuote:
            if b == Self.quote { state = .quoted; return false }
            if b == Self.newline { state = .unquoted(atFieldStart: true); return true }
            state = .unquoted(atFieldStart: b == delimiter)
            return false
        }
    }

    /// Scans `bytes` (which continue what was scanned before) and returns the offset just past
    /// the last record-ending newline in it, or nil when no record ends there.
    public mutating func lastRecordEnd(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        if format == .jsonl {
            var i = bytes.count
            while i > 0 {
                i -= 1
                if bytes[i] == Self.newline { return i + 1 }
            }
            return nil
        }
        var last: Int?
        for i in 0..<bytes.count where step(bytes[i]) { last = i + 1 }
        return last
    }

    /// The offset just past the first record-ending newline in `bytes`, or nil.
    public mutating func firstRecordEnd(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        if format == .jsonl {
            guard let i = bytes.firstIndex(of: Self.newline) else { return nil }
            return i + 1
        }
        for i in 0..<bytes.count where step(bytes[i]) { return i + 1 }
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
