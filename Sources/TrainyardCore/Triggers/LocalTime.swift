import Foundation

/// A wall-clock minute (what a clock on the wall of a time zone shows), and the mapping between
/// wall-clock times and instants in a `TimeZone`, which is not one-to-one: a spring-forward
/// change skips wall times (there is no 02:30 in Berlin on the last Sunday of March) and a
/// fall-back change shows some twice (02:30 CEST, then 02:30 CET an hour later).
///
/// Wall times are counted as "naive" seconds: the seconds since 1970-01-01 00:00 of a clock that
/// never changes offset (the wall time read as if it were UTC). The calendar arithmetic is the
/// proleptic Gregorian one, done on integers (no `Calendar`, no locale).
public struct LocalMinute: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    /// 1…12.
    public var month: Int
    /// 1…31.
    public var day: Int
    /// 0…23.
    public var hour: Int
    /// 0…59.
    public var minute: Int

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
    }

    /// The wall minute of naive seconds `naive` (seconds within the minute dropped).
    public init(naive: Int64) {
        let days = Int64(floor(Double(naive) / 86_400))
        let (y, m, d) = Self.civil(fromDays: days)
        let secondOfDay = Int(naive - days * 86_400)
        self.init(year: y, month: m, day: d, hour: secondOfDay / 3600, minute: secondOfDay % 3600 / 60)
    }

    /// Naive seconds at the start of this minute.
    public var naive: Int64 {
        Self.days(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60)
    }

    /// 0 = Sunday … 6 = Saturday.
    public var weekday: Int { Self.weekday(year: year, month: month, day: day) }

    public static func < (a: LocalMinute, b: LocalMinute) -> Bool { a.naive < b.naive }

    public var description: String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(hour)):\(two(minute))"
    }

    // MARK: Gregorian arithmetic (Howard Hinnant's days_from_civil / civil_from_days)

    public static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a civil date.
    public static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func civil(fromDays z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }

    public static func weekday(year: Int, month: Int, day: Int) -> Int {
        let d = days(year: year, month: month, day: day)
        // 1970-01-01 was a Thursday (4).
        return Int(((d % 7) + 7 + 4) % 7)
    }
}

/// The instants of a time zone around wall-clock times, computed from the zone's offsets alone
/// (`TimeZone.secondsFromGMT(for:)`), whole seconds.
struct ZoneClock {
    let zone: TimeZone

    /// The zone's offset from UTC at instant `t` (seconds since 1970).
    func offset(_ t: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t)))) }

    /// The wall time (naive seconds) at instant `t`.
    func naive(_ t: Int64) -> Int64 { t + offset(t) }

    /// The instants showing wall time `naive`, earliest first: one; none in a spring-forward
    /// gap; two in a fall-back overlap. Offsets lie within ±15 h of UTC, so the instant is
    /// within that of `naive`, and the offsets in force there are the ones at its ends (a zone
    /// changes its offset at most once within a day and a bit).
    func instants(_ naive: Int64) -> [Int64] {
        let window: Int64 = 15 * 3600
        var offsets = [offset(naive - window), offset(naive), offset(naive + window)]
        offsets = Array(Set(offsets))
        return offsets.map { naive - $0 }.filter { offset($0) == naive - $0 }.sorted()
    }

    /// The first instant after a spring-forward gap that swallowed wall time `naive`: the
    /// instant the offset changed (its wall time is the end of the gap, 03:00 for Berlin's
    /// 02:00–03:00 gap).
    func endOfGap(_ naive: Int64) -> Int64 {
        let window: Int64 = 15 * 3600
        let offsets = [offset(naive - window), offset(naive), offset(naive + window)]
        // Before the change (instants ≤ low) the wall clock shows less than `naive`; after it
        // (instants ≥ high) more. Binary search for the first instant showing `naive` or later.
        var low = naive - (offsets.max() ?? 0)
        var high = naive - (offsets.min() ?? 0)
        guard low < high else { return high }
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if self.naive(middle) >= naive { high = middle } else { low = middle }
        }
        return high
    }
}
