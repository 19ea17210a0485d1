import Foundation

/// A 5-field cron expression — minute, hour, day of month, month, day of week — with the
/// usual syntax: `*`, values, ranges `a-b`, lists `a,b`, steps `*/n` / `a-b/n` / `a/n` (from
/// `a` to the end), month names `JAN`…`DEC`, day names `SUN`…`SAT` (0 and 7 are Sunday),
/// case-insensitive; and the shorthands `@yearly` (`@annually`), `@monthly`, `@weekly`,
/// `@daily` (`@midnight`), `@hourly`.
///
/// Days: when both the day-of-month and the day-of-week field are restricted (neither begins
/// with `*`), a day matches if either does (`0 0 1,15 * MON`: the 1st, the 15th and every
/// Monday); otherwise both must.
///
/// Daylight-saving changes, in the time zone the expression is read in (`next(after:in:)`),
/// follow Vixie cron, the standard:
/// - An expression with fixed hours (`30 2 * * *`) fires once per matching wall-clock time: a
///   time skipped by a spring-forward change fires once at the first instant after the gap
///   (02:30 in Berlin on the last Sunday of March fires at 03:00 CEST, and several skipped
///   slots fire together there, once); a time shown twice by a fall-back change fires at its
///   first occurrence only.
/// - An expression whose hour field begins with `*` (`*/15 * * * *`, `0 */2 * * *`) is a
///   periodic job and follows real time: a skipped minute does not exist (the next slot comes
///   anyway), and the repeated hour's minutes fire as they happen again.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    /// The expression as written.
    public let text: String
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    let daysOfWeek: UInt64
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool
    /// The hour field begins with `*`: slots follow real time across daylight-saving changes.
    let followsRealTime: Bool

    /// The longest expression accepted (it comes from outside).
    public static let maxLength = 256

    struct Field {
        let number: Int
        let name: String
        let range: ClosedRange<Int>
        let names: [String]
        /// Names are numbered from this value (`JAN` = 1, `SUN` = 0).
        let firstNameValue: Int
    }

    static let fields: [Field] = [
        Field(number: 1, name: "minute", range: 0...59, names: [], firstNameValue: 0),
        Field(number: 2, name: "hour", range: 0...23, names: [], firstNameValue: 0),
        Field(number: 3, name: "day-of-month", range: 1...31, names: [], firstNameValue: 1),
        Field(number: 4, name: "month", range: 1...12,
              names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], firstNameValue: 1),
        Field(number: 5, name: "day-of-week", range: 0...7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], firstNameValue: 0),
    ]

    static let shorthands: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// Parses `text`. Errors name the field and its position, e.g.
    /// `cron: field 2 (hour) '25' is out of range 0–23`.
    public init(_ text: String) throws(TrainyardError) {
        guard text.unicodeScalars.count <= Self.maxLength else {
            throw TrainyardError(.invalidArgument, "cron: the expression is longer than \(Self.maxLength) characters")
        }
        var body = text.trimmingCharacters(in: .whitespaces)
        if body.hasPrefix("@") {
            guard let expanded = Self.shorthands[body.lowercased()] else {
                throw TrainyardError(.invalidArgument, "cron: unknown shorthand '\(clientEcho(body))'; expected one of "
                                     + Self.shorthands.keys.sorted().joined(separator: ", "))
            }
            body = expanded
        }
        let parts = body.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw TrainyardError(.invalidArgument, "cron: expected 5 fields (minute hour day-of-month month day-of-week), got \(parts.count) in '\(clientEcho(text))'")
        }
        var sets: [UInt64] = []
        for (field, part) in zip(Self.fields, parts) { sets.append(try Self.parse(part, field)) }
        // Day of week 7 is Sunday, as 0.
        var dow = sets[4]
        if dow & (1 << 7) != 0 { dow = (dow & ~(1 << 7)) | 1 }
        self.text = text
        minutes = sets[0]
        hours = sets[1]
        daysOfMonth = sets[2]
        months = sets[3]
        daysOfWeek = dow
        dayOfMonthRestricted = !parts[2].hasPrefix("*")
        dayOfWeekRestricted = !parts[4].hasPrefix("*")
        followsRealTime = parts[1].hasPrefix("*")
        try checkSomeDayExists(parts)
    }

    public var description: String { text }

    public static func == (a: CronExpression, b: CronExpression) -> Bool { a.text == b.text }

    /// One field's list → a bit set of its values.
    static func parse(_ part: String, _ field: Field) throws(TrainyardError) -> UInt64 {
        func problem(_ item: String, _ what: String) -> TrainyardError {
            TrainyardError(.invalidArgument, "cron: field \(field.number) (\(field.name)) '\(clientEcho(item))' \(what)")
        }
        func value(_ text: String, in item: String) throws(TrainyardError) -> Int {
            let shown = text == item ? text : text + "' in '" + item
            if let v = Int(text), text.allSatisfy(\.isASCII) {
                guard field.range.contains(v) else {
                    throw problem(shown, "is out of range \(field.range.lowerBound)–\(field.range.upperBound)")
                }
                return v
            }
            if let index = field.names.firstIndex(of: text.uppercased()) { return field.firstNameValue + index }
            if field.names.isEmpty { throw problem(shown, "is not a number") }
            throw problem(shown, "is not a number or a name (\(field.names.first!)…\(field.names.last!))")
        }
        var set: UInt64 = 0
        for item in part.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !item.isEmpty else { throw problem(part, "has an empty list item") }
            var rangeText = item
            var step = 1
            if let slash = item.firstIndex(of: "/") {
                rangeText = String(item[..<slash])
                let stepText = String(item[item.index(after: slash)...])
                guard let s = Int(stepText), stepText.allSatisfy(\.isASCII) else { throw problem(item, "has a step that is not a number") }
                guard s >= 1, s <= field.range.upperBound else {
                    throw problem(item, "has a step out of range 1–\(field.range.upperBound)")
                }
                step = s
            }
            let low: Int, high: Int
            if rangeText == "*" {
                (low, high) = (field.range.lowerBound, field.range.upperBound)
            } else if let dash = rangeText.firstIndex(of: "-"), dash != rangeText.startIndex {
                low = try value(String(rangeText[..<dash]), in: item)
                high = try value(String(rangeText[rangeText.index(after: dash)...]), in: item)
                guard low <= high else { throw problem(item, "is a range that runs backwards") }
            } else {
                low = try value(rangeText, in: item)
                // `a/n` runs from a to the end of the field's range.
                high = item.contains("/") ? field.range.upperBound : low
            }
            for v in stride(from: low, through: high, by: step) { set |= 1 << UInt64(v) }
        }
        return set
    }

    /// Refuses day-of-month values that no listed month has (`0 0 30 2 *`): such an expression
    /// would never fire, which is a mistake rather than a schedule.
    private func checkSomeDayExists(_ parts: [String]) throws(TrainyardError) {
        guard dayOfMonthRestricted, !dayOfWeekRestricted else { return }
        for month in 1...12 where months & (1 << UInt64(month)) != 0 {
            let longest = LocalMinute.daysInMonth(year: 2000, month: month)  // a leap year: 29 February exists
            if daysOfMonth & (((1 << UInt64(longest + 1)) - 1) & ~1) != 0 { return }
        }
        throw TrainyardError(.invalidArgument, "cron: field 3 (day-of-month) '\(clientEcho(parts[2]))' never occurs in the months of field 4 (month) '\(clientEcho(parts[3]))'")
    }

    // MARK: Matching wall-clock times

    func matchesDay(year: Int, month: Int, day: Int) -> Bool {
        let domMatch = daysOfMonth & (1 << UInt64(day)) != 0
        let dowMatch = daysOfWeek & (1 << UInt64(LocalMinute.weekday(year: year, month: month, day: day))) != 0
        if dayOfMonthRestricted && dayOfWeekRestricted { return domMatch || dowMatch }
        return domMatch && dowMatch
    }

    /// Whether the wall-clock minute `t` is one of the expression's.
    public func matches(_ t: LocalMinute) -> Bool {
        minutes & (1 << UInt64(t.minute)) != 0 && hours & (1 << UInt64(t.hour)) != 0
            && months & (1 << UInt64(t.month)) != 0 && matchesDay(year: t.year, month: t.month, day: t.day)
    }

    /// The first matching wall-clock minute at or after `start`, searching up to `yearLimit`.
    func nextMatch(atOrAfter start: LocalMinute, yearLimit: Int) -> LocalMinute? {
        var t = start
        func nextDay() {
            t.day += 1
            t.hour = 0
            t.minute = 0
        }
        while t.year <= yearLimit {
            if t.month > 12 {
                t = LocalMinute(year: t.year + 1, month: 1, day: 1, hour: 0, minute: 0)
                continue
            }
            if months & (1 << UInt64(t.month)) == 0 || t.day > LocalMinute.daysInMonth(year: t.year, month: t.month) {
                t = LocalMinute(year: t.year, month: t.month + 1, day: 1, hour: 0, minute: 0)
                continue
            }
            if !matchesDay(year: t.year, month: t.month, day: t.day) {
                nextDay()
                continue
            }
            guard let hour = Self.firstBit(hours, from: t.hour) else {
                nextDay()
                continue
            }
            if hour != t.hour {
                t.hour = hour
                t.minute = 0
            }
            guard let minute = Self.firstBit(minutes, from: t.minute) else {
                t.minute = 0
                t.hour += 1
                if t.hour > 23 { nextDay() }
                continue
            }
            t.minute = minute
            return t
        }
        return nil
    }

    /// The lowest set bit of `set` at or above `from`.
    static func firstBit(_ set: UInt64, from: Int) -> Int? {
        guard from < 64 else { return nil }
        let masked = set & (~UInt64(0) << UInt64(from))
        return masked == 0 ? nil : masked.trailingZeroBitCount
    }

    // MARK: Instants

    /// How far the search for a next slot looks ahead; an expression that never fires within it
    /// (only possible through daylight-saving gaps swallowing every slot) has none.
    static let searchYears = 30

    /// The first slot strictly after `date`, in time zone `zone` (see the type's notes on
    /// daylight-saving changes); nil when none comes within 30 years.
    public func next(after date: Date, in zone: TimeZone) -> Date? {
        let clock = ZoneClock(zone: zone)
        let after = Int64(floor(date.timeIntervalSince1970))
        let wallAfter = LocalMinute(naive: clock.naive(after))
        let yearLimit = wallAfter.year + Self.searchYears
        if followsRealTime {
            // An earlier wall time may still come again after `date` when the clock is about
            // to fall back: start the search that far back then.
            let fallBackSoon = clock.offset(after + 3 * 3600) < clock.offset(after)
            var from = LocalMinute(naive: wallAfter.naive + (fallBackSoon ? -3 * 3600 : 60))
            var best: Int64?
            while let wall = nextMatch(atOrAfter: from, yearLimit: yearLimit) {
                let instants = clock.instants(wall.naive)
                for i in instants where i > after { best = min(best ?? i, i) }
                // Every later wall time's instants come after this one's first.
                if let first = instants.first, first > after { break }
                from = LocalMinute(naive: wall.naive + 60)
            }
            return best.map { Date(timeIntervalSince1970: Double($0)) }
        }
        var from = LocalMinute(naive: wallAfter.naive + 60)
        while let wall = nextMatch(atOrAfter: from, yearLimit: yearLimit) {
            let instant = clock.instants(wall.naive).first ?? clock.endOfGap(wall.naive)
            if instant > after { return Date(timeIntervalSince1970: Double(instant)) }
            from = LocalMinute(naive: wall.naive + 60)
        }
        return nil
    }

    /// The latest slot in `(lower, upper]`, or nil when none falls in it: after downtime, the one
    /// missed slot a schedule fires (however many it missed).
    public func latestSlot(after lower: Date, notAfter upper: Date, in zone: TimeZone) -> Date? {
        guard let first = next(after: lower, in: zone), first <= upper else { return nil }
        guard let second = next(after: first, in: zone), second <= upper else { return first }
        // `next(after: t) ≤ upper` holds up to some instant and not after it (next is monotone):
        // find the last such whole second by bisection, then its next is the latest slot.
        // Invariant: next(after: low) ≤ upper < next(after: high). Both ends are whole seconds
        // (`first` is, and next(after: floor(upper)) is past upper), at least a second apart.
        var low = Int64(floor(first.timeIntervalSince1970))
        var high = Int64(floor(upper.timeIntervalSince1970))
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if let n = next(after: Date(timeIntervalSince1970: Double(middle)), in: zone), n <= upper { low = middle } else { high = middle }
        }
        return next(after: Date(timeIntervalSince1970: Double(low)), in: zone)
    }
}
