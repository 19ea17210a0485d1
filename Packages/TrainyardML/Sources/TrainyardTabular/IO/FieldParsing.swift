#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How one CSV field reads: a number, missing, text, or (training data only, see
/// `FieldParsing.classifyTrainingValue`) a non-finite number.
enum FieldValue: Equatable {
    case number(Double)
    case missing
    case text
    /// `NaN`, `inf`, `-Infinity`, or a literal beyond Double's range (`1e999`).
    case nonFinite
}

enum FieldParsing {
    /// Exact powers of ten: Double(m) / 10^k is correctly rounded for m < 2^53, k ≤ 22.
    private static let powersOfTen: [Double] = (0...22).map { k in
        var p = 1.0
        for _ in 0..<k { p *= 10 }
        return p
    }

    /// Trims ASCII spaces and tabs.
    @inline(__always)
    static func trimmed(_ f: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var s = 0, e = f.count
        while s < e && (f[s] == 0x20 || f[s] == 0x09) { s += 1 }
        while e > s && (f[e - 1] == 0x20 || f[e - 1] == 0x09) { e -= 1 }
        return s == 0 && e == f.count ? f : UnsafeBufferPointer(rebasing: f[s..<e])
    }

    /// True for the missing-value spellings: empty, `NA`, `N/A`, `NaN`, `nan`, `null`, `NULL`.
    @inline(__always)
    static func isMissing(_ f: UnsafeBufferPointer<UInt8>) -> Bool {
        switch f.count {
        case 0: return true
        case 2: return f[0] == 0x4E && f[1] == 0x41  // NA
        case 3:
            // N/A, NaN, nan, NAN
            if f[0] == 0x4E && f[1] == 0x2F && f[2] == 0x41 { return true }
            return (f[0] | 0x20) == 0x6E && (f[1] | 0x20) == 0x61 && (f[2] | 0x20) == 0x6E
        case 4:
            // null, NULL, Null
            return (f[0] | 0x20) == 0x6E && (f[1] | 0x20) == 0x75 && (f[2] | 0x20) == 0x6C && (f[3] | 0x20) == 0x6C
        default: return false
        }
    }

    /// Classifies a raw field (trimming spaces first).
    @inline(__always)
    static func classify(_ raw: UnsafeBufferPointer<UInt8>) -> FieldValue {
        let f = trimmed(raw)
        if isMissing(f) { return .missing }
        if let v = parseDouble(f) { return .number(v) }
        return .text
    }

    /// Like `classify`, for training and evaluation data, where a non-finite number is an
    /// error rather than a value: `NaN` (which `classify` reads as missing, a common spelling
    /// in files written for prediction), `inf`/`infinity` with any sign or case, and number
    /// literals that overflow a Double (`1e999`) read as `.nonFinite`.
    @inline(__always)
    static func classifyTrainingValue(_ raw: UnsafeBufferPointer<UInt8>) -> FieldValue {
        let f = trimmed(raw)
        if let v = parseDouble(f) { return .number(v) }
        if isNonFinite(f) { return .nonFinite }
        if isMissing(f) { return .missing }
        return .text
    }

    /// True for `NaN`, `inf`, `infinity` (any case, optional sign) and for number literals
    /// beyond Double's range (`1e999`, `-1e400`). Expects a trimmed field that `parseDouble`
    /// rejected.
    static func isNonFinite(_ f: UnsafeBufferPointer<UInt8>) -> Bool {
        var s = 0
        if f.count > 0 && (f[0] == 0x2D || f[0] == 0x2B) { s = 1 }
        let rest = f.count - s
        if rest == 3 || rest == 8 {
            var word: [UInt8] = []
            for k in s..<f.count { word.append(f[k] | 0x20) }
            if word == Array("nan".utf8) || word == Array("inf".utf8) || word == Array("infinity".utf8) { return true }
        }
        return strtodValue(f)?.isInfinite ?? false
    }

    /// Parses a finite decimal number (`-1.5`, `3`, `.5`, `1e-3`); nil for anything else.
    @inline(__always)
    static func parseDouble(_ f: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = f.count
        if n == 0 { return nil }
        var i = 0
        var negative = false
        if f[0] == 0x2D { negative = true; i = 1 } else if f[0] == 0x2B { i = 1 }
        var mantissa: UInt64 = 0
        var digits = 0, fraction = 0
        var sawDigit = false
        while i < n {
            let d = f[i] &- 0x30
            if d > 9 { break }
            if mantissa != 0 || d != 0 { digits += 1 }
            mantissa = mantissa &* 10 &+ UInt64(d)
            sawDigit = true
            i += 1
        }
        if i < n && f[i] == 0x2E {
            i += 1
            while i < n {
                let d = f[i] &- 0x30
                if d > 9 { break }
                if mantissa != 0 || d != 0 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(d)
                fraction += 1
                sawDigit = true
                i += 1
            }
        }
        if i == n && sawDigit && digits <= 15 && fraction <= 22 {
            let v = Double(mantissa) / powersOfTen[fraction]
            return negative ? -v : v
        }
        guard sawDigit || (i < n && (f[i] | 0x20) == 0x65) else { return nil }
        return slowParse(f)
    }

    /// strtod for exponents and long mantissas; rejects hex, inf and trailing junk.
    private static func slowParse(_ f: UnsafeBufferPointer<UInt8>) -> Double? {
        guard let v = strtodValue(f), v.isFinite else { return nil }
        return v
    }

    /// strtod of a field made only of digits, `.`, signs and exponent letters, when it reads
    /// the whole field; ±infinity when the literal overflows.
    private static func strtodValue(_ f: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = f.count
        guard n > 0, n < 128 else { return nil }
        for c in f {
            let ok = (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x2D || c == 0x2B || c == 0x65 || c == 0x45
            if !ok { return nil }
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf -> Double? in
            for k in 0..<n { buf[k] = CChar(bitPattern: f[k]) }
            buf[n] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(buf.baseAddress!, &end)
            guard let end, end - buf.baseAddress! == n else { return nil }
            return v
        }
    }

    /// Text of a field with surrounding spaces removed.
    @inline(__always)
    static func text(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: trimmed(raw), as: UTF8.self)
    }
}
