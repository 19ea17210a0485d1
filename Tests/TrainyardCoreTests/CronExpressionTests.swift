import Foundation
import Testing
@testable import TrainyardCore

/// `CronExpression`: parsing, its errors, matching, and next-fire times across daylight-saving
/// changes (checked against a minute-by-minute oracle of the documented rules).
@Suite("Cron expressions")
struct CronExpressionTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let berlin = TimeZone(identifier: "Europe/Berlin")!
    static let newYork = TimeZone(identifier: "America/New_York")!

    /// An instant written in UTC: `utc("2026-03-29T01:00")`.
    static func utc(_ text: String) -> Date {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = utc
        f.dateFormat = text.count > 16 ? "yyyy-MM-dd'T'HH:mm:ss" : "yyyy-MM-dd'T'HH:mm"
        return f.date(from: text)!
    }

    func next(_ cron: String, after: String, _ zone: TimeZone = utc) throws -> Date? {
        try CronExpression(cron).next(after: Self.utc(after), in: zone)
    }

    /// The successive slots after `after` while they are before `until`.
    func slots(_ cron: String, after: String, until: String, _ zone: TimeZone) throws -> [Date] {
        let expression = try CronExpression(cron)
        var out: [Date] = []
        var t = Self.utc(after)
        while let n = expression.next(after: t, in: zone), n < Self.utc(until) {
            out.append(n)
            t = n
        }
        return out
    }

    func parseError(_ text: String) -> String? {
        do {
            _ = try CronExpression(text)
            return nil
        } catch {
            #expect(error.code == .invalidArgument)
            return error.message
        }
    }

    // MARK: Parsing

    @Test func errorsNameTheFieldAndPosition() {
        #expect(parseError("0 25 * * *") == "cron: field 2 (hour) '25' is out of range 0–23")
        #expect(parseError("60 * * * *") == "cron: field 1 (minute) '60' is out of range 0–59")
        #expect(parseError("0 0 0 * *") == "cron: field 3 (day-of-month) '0' is out of range 1–31")
        #expect(parseError("0 0 * 13 *") == "cron: field 4 (month) '13' is out of range 1–12")
        #expect(parseError("0 0 * * 8") == "cron: field 5 (day-of-week) '8' is out of range 0–7")
        #expect(parseError("0 1-30 * * *") == "cron: field 2 (hour) '30' in '1-30' is out of range 0–23")
        #expect(parseError("0 5-1 * * *") == "cron: field 2 (hour) '5-1' is a range that runs backwards")
        #expect(parseError("*/0 * * * *") == "cron: field 1 (minute) '*/0' has a step out of range 1–59")
        #expect(parseError("*/x * * * *") == "cron: field 1 (minute) '*/x' has a step that is not a number")
        #expect(parseError("1,,2 * * * *") == "cron: field 1 (minute) '1,,2' has an empty list item")
        #expect(parseError("x * * * *") == "cron: field 1 (minute) 'x' is not a number")
        #expect(parseError("0 0 * FOO *") == "cron: field 4 (month) 'FOO' is not a number or a name (JAN…DEC)")
        #expect(parseError("0 0 * * MON-XYZ") == "cron: field 5 (day-of-week) 'XYZ' in 'MON-XYZ' is not a number or a name (SUN…SAT)")
        #expect(parseError("0 0 * *")?.hasPrefix("cron: expected 5 fields (minute hour day-of-month month day-of-week), got 4") == true)
        #expect(parseError("0 0 * * * *")?.contains("got 6") == true)
        #expect(parseError("") != nil)
        #expect(parseError("@reboot")?.hasPrefix("cron: unknown shorthand '@reboot'") == true)
        #expect(parseError("0 0 30 2 *") == "cron: field 3 (day-of-month) '30' never occurs in the months of field 4 (month) '2'")
        #expect(parseError(String(repeating: "1,", count: 200) + "1 * * * *")?.contains("longer than") == true)
    }

    @Test func acceptsNamesStepsListsAndShorthands() throws {
        for text in ["0 9 * JAN,jul MON-FRI", "*/5 * * * *", "0-30/10 8-18 * * *", "5/15 * * * *", "0 0 29 2 *", "0 0 31 2 MON",
                     "@daily", "@HOURLY", "@weekly", "@monthly", "@yearly", "@annually", "@midnight", "  0 3 * * *  ", "0\t3 * * 7"] {
            #expect(throws: Never.self, "\(text)") { try CronExpression(text) }
        }
        let c = try CronExpression("5/15 8-9 * * *")
        #expect(c.matches(LocalMinute(year: 2026, month: 1, day: 1, hour: 8, minute: 50)))
        #expect(!c.matches(LocalMinute(year: 2026, month: 1, day: 1, hour: 8, minute: 0)))
    }

    @Test func dayOfMonthOrDayOfWeekWhenBothAreRestricted() throws {
        // 2026-02-13 is a Friday; 2026-02-20 a Friday; 2026-03-13 a Friday too.
        let either = try CronExpression("0 0 13 * FRI")
        #expect(either.matches(LocalMinute(year: 2026, month: 2, day: 6, hour: 0, minute: 0)))   // a Friday
        #expect(either.matches(LocalMinute(year: 2026, month: 4, day: 13, hour: 0, minute: 0)))  // a Monday the 13th
        #expect(!either.matches(LocalMinute(year: 2026, month: 4, day: 14, hour: 0, minute: 0)))
        // A field beginning with * is not a restriction: both must match.
        let both = try CronExpression("0 0 */2 * MON")  // odd days that are Mondays
        #expect(both.matches(LocalMinute(year: 2026, month: 2, day: 9, hour: 0, minute: 0)))    // Monday the 9th
        #expect(!both.matches(LocalMinute(year: 2026, month: 2, day: 16, hour: 0, minute: 0)))  // Monday the 16th
        #expect(!both.matches(LocalMinute(year: 2026, month: 2, day: 11, hour: 0, minute: 0)))  // Wednesday the 11th
        let sunday = try CronExpression("0 0 * * 7")
        #expect(sunday.matches(LocalMinute(year: 2026, month: 3, day: 1, hour: 0, minute: 0)))
        #expect(try next("0 0 13 * FRI", after: "2026-02-01T00:00") == Self.utc("2026-02-06T00:00"))
    }

    @Test func nextInUTC() throws {
        #expect(try next("*/15 * * * *", after: "2026-05-04T10:07") == Self.utc("2026-05-04T10:15"))
        #expect(try next("*/15 * * * *", after: "2026-05-04T10:15") == Self.utc("2026-05-04T10:30"))
        #expect(try next("*/15 * * * *", after: "2026-05-04T10:14:59") == Self.utc("2026-05-04T10:15"))
        #expect(try next("0 3 * * *", after: "2026-12-31T03:00") == Self.utc("2027-01-01T03:00"))
        #expect(try next("0 0 29 2 *", after: "2026-03-01T00:00") == Self.utc("2028-02-29T00:00"))
        #expect(try next("0 0 1 1 *", after: "2026-01-01T00:00") == Self.utc("2027-01-01T00:00"))
        #expect(try next("@weekly", after: "2026-05-04T10:00") == Self.utc("2026-05-10T00:00"))
        #expect(try next("59 23 31 12 *", after: "2026-05-04T10:00") == Self.utc("2026-12-31T23:59"))
        // A fraction of a second after a slot is after it.
        let c = try CronExpression("* * * * *")
        #expect(c.next(after: Self.utc("2026-05-04T10:00").addingTimeInterval(0.5), in: Self.utc) == Self.utc("2026-05-04T10:01"))
    }

    // MARK: Daylight saving: Europe/Berlin (2026: spring forward 29 March 02:00 → 03:00, fall back 25 October 03:00 → 02:00)

    @Test func berlinSkippedTimeFiresOnceAtTheEndOfTheGap() throws {
        // 02:30 does not exist on 29 March: it fires at 03:00 CEST (01:00Z), once.
        #expect(try slots("30 2 * * *", after: "2026-03-27T12:00", until: "2026-03-31T00:00", Self.berlin)
                == ["2026-03-28T01:30", "2026-03-29T01:00", "2026-03-30T00:30"].map(Self.utc))
        // Four skipped slots fire together, once.
        #expect(try slots("*/15 2 * * *", after: "2026-03-28T23:00", until: "2026-03-30T01:00", Self.berlin)
                == ["2026-03-29T01:00", "2026-03-30T00:00", "2026-03-30T00:15", "2026-03-30T00:30", "2026-03-30T00:45"].map(Self.utc))
        // Skipped slots and a real 03:00 slot are one firing.
        #expect(try slots("0,30 2,3 * * *", after: "2026-03-28T23:00", until: "2026-03-29T03:00", Self.berlin)
                == ["2026-03-29T01:00", "2026-03-29T01:30"].map(Self.utc))
    }

    @Test func berlinRepeatedTimeFiresOnce() throws {
        // 02:30 happens twice on 25 October (00:30Z CEST, 01:30Z CET): the first only.
        #expect(try slots("30 2 * * *", after: "2026-10-23T12:00", until: "2026-10-27T00:00", Self.berlin)
                == ["2026-10-24T00:30", "2026-10-25T00:30", "2026-10-26T01:30"].map(Self.utc))
        // Asked from inside the repeated hour (02:10 CET), 02:30 has already fired.
        #expect(try next("30 2 * * *", after: "2026-10-25T01:10", Self.berlin) == Self.utc("2026-10-26T01:30"))
    }

    @Test func berlinPeriodicJobsFollowRealTime() throws {
        // Every 30 minutes through the fall-back: 02:30 CEST, 02:00 CET, 02:30 CET, 03:00 CET.
        #expect(try slots("*/30 * * * *", after: "2026-10-25T00:00", until: "2026-10-25T02:01", Self.berlin)
                == ["2026-10-25T00:30", "2026-10-25T01:00", "2026-10-25T01:30", "2026-10-25T02:00"].map(Self.utc))
        // Hourly at :30 through the spring-forward: 01:30 CET, then 03:30 CEST (02:30 does not exist).
        #expect(try slots("30 * * * *", after: "2026-03-29T00:00", until: "2026-03-29T02:00", Self.berlin)
                == ["2026-03-29T00:30", "2026-03-29T01:30"].map(Self.utc))
        // Asked from the first pass of the repeated hour, the next is the second pass.
        #expect(try next("0 */1 * * *", after: "2026-10-25T00:59", Self.berlin) == Self.utc("2026-10-25T01:00"))
    }

    // MARK: America/New_York (2026: 8 March 02:00 → 03:00, 1 November 02:00 → 01:00)

    @Test func newYorkSkippedAndRepeatedTimes() throws {
        #expect(try slots("30 2 * * *", after: "2026-03-07T12:00", until: "2026-03-10T00:00", Self.newYork)
                == ["2026-03-08T07:00", "2026-03-09T06:30"].map(Self.utc))
        #expect(try slots("30 1 * * *", after: "2026-10-31T12:00", until: "2026-11-03T00:00", Self.newYork)
                == ["2026-11-01T05:30", "2026-11-02T06:30"].map(Self.utc))
        #expect(try slots("0 */6 * * *", after: "2026-10-31T23:00", until: "2026-11-01T13:00", Self.newYork)
                == ["2026-11-01T04:00", "2026-11-01T11:00"].map(Self.utc))
    }

    @Test func everyMinuteOverTransitionDaysCountsTheRealMinutes() throws {
        // Real time: 23 h on the spring-forward day, 25 h on the fall-back day.
        #expect(try slots("* * * * *", after: "2026-03-28T22:59", until: "2026-03-29T22:00", Self.berlin).count == 23 * 60)
        #expect(try slots("* * * * *", after: "2026-10-24T21:59", until: "2026-10-25T23:00", Self.berlin).count == 25 * 60)
        // Fixed hours: each wall minute once (the gap's minutes collapse onto 03:00).
        #expect(try slots("* 0-23 * * *", after: "2026-03-28T22:59", until: "2026-03-29T22:00", Self.berlin).count == 23 * 60)
        #expect(try slots("* 0-23 * * *", after: "2026-10-24T21:59", until: "2026-10-25T23:00", Self.berlin).count == 24 * 60)
        let sequence = try slots("* * * * *", after: "2026-10-24T21:59", until: "2026-10-25T23:00", Self.berlin)
        #expect(zip(sequence, sequence.dropFirst()).allSatisfy { $1.timeIntervalSince($0) == 60 })
    }

    /// `next` against a minute-by-minute scan of the documented rules, for many expressions and
    /// starting points around every transition of 2026 in both zones.
    @Test(arguments: ["Europe/Berlin", "America/New_York", "UTC"])
    func nextAgreesWithAMinuteByMinuteOracle(_ zoneName: String) throws {
        let zone = TimeZone(identifier: zoneName)!
        let expressions = ["30 2 * * *", "*/15 2 * * *", "0,30 1-3 * * *", "*/20 * * * *", "30 * * * *", "0 */2 * * *",
                           "15 1,2,3 * * *", "* 2 * * *", "45 0-4 * * SUN", "0 3 * * *", "59 1 * * *", "0 2 * * *"]
        let starts = ["2026-03-08T04:00", "2026-03-08T06:20", "2026-03-08T06:59", "2026-03-08T07:00", "2026-03-29T00:10",
                      "2026-03-29T00:59", "2026-03-29T01:00", "2026-10-25T00:00", "2026-10-25T00:45", "2026-10-25T01:00",
                      "2026-10-25T01:40", "2026-11-01T04:30", "2026-11-01T05:10", "2026-11-01T06:00", "2026-11-01T05:59"]
        for text in expressions {
            let cron = try CronExpression(text)
            for start in starts {
                let after = Self.utc(start)
                #expect(cron.next(after: after, in: zone) == Self.oracle(cron, after: after, zone: zone), "\(text) after \(start) in \(zoneName)")
            }
        }
    }

    /// The rules, minute by minute (for zones whose offsets are whole minutes).
    static func oracle(_ cron: CronExpression, after: Date, zone: TimeZone) -> Date? {
        func offset(_ t: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t)))) }
        var t = (Int64(after.timeIntervalSince1970) / 60 + 1) * 60
        var previous = LocalMinute(naive: t - 60 + offset(t - 60))
        for _ in 0..<(60 * 24 * 8) {
            let w = LocalMinute(naive: t + offset(t))
            defer {
                previous = w
                t += 60
            }
            if cron.followsRealTime {
                if cron.matches(w) { return Date(timeIntervalSince1970: Double(t)) }
                continue
            }
            // A wall minute seen before: the clock fell back by d, and d earlier it showed w.
            let d = offset(t - 3 * 3600) - offset(t)
            let seenBefore = d > 0 && LocalMinute(naive: t - d + offset(t - d)) == w
            if cron.matches(w) && !seenBefore { return Date(timeIntervalSince1970: Double(t)) }
            // The end of a gap fires for the skipped wall minutes that match.
            var skipped = previous.naive + 60
            while skipped < w.naive {
                if cron.matches(LocalMinute(naive: skipped)) { return Date(timeIntervalSince1970: Double(t)) }
                skipped += 60
            }
        }
        return nil
    }

    // MARK: The latest missed slot

    @Test func latestSlotIsTheLastOneNotAfterNow() throws {
        let daily = try CronExpression("0 3 * * *")
        #expect(daily.latestSlot(after: Self.utc("2026-01-01T00:00"), notAfter: Self.utc("2026-01-10T12:00"), in: Self.berlin) == Self.utc("2026-01-10T02:00"))
        #expect(daily.latestSlot(after: Self.utc("2026-01-10T02:00"), notAfter: Self.utc("2026-01-10T12:00"), in: Self.berlin) == nil)
        #expect(daily.latestSlot(after: Self.utc("2026-01-10T01:00"), notAfter: Self.utc("2026-01-10T02:00"), in: Self.berlin) == Self.utc("2026-01-10T02:00"))
        let minutely = try CronExpression("* * * * *")
        #expect(minutely.latestSlot(after: Self.utc("2025-01-01T00:00"), notAfter: Self.utc("2026-06-01T12:34:56"), in: Self.utc) == Self.utc("2026-06-01T12:34"))
        // Across a spring-forward gap: the collapsed slot is the latest.
        #expect(try CronExpression("30 2 * * *").latestSlot(after: Self.utc("2026-03-20T00:00"), notAfter: Self.utc("2026-03-29T01:10"), in: Self.berlin)
                == Self.utc("2026-03-29T01:00"))
        let source = try ScheduleSource(cron: "0 3 * * *", timeZone: "Europe/Berlin")
        // Activity since after the slot: nothing due; the next slot is tomorrow's.
        #expect(source.dueSlot(lastSlot: nil, activeSince: Self.utc("2026-01-10T02:30"), now: Self.utc("2026-01-10T12:00")) == nil)
        #expect(source.nextSlot(lastSlot: nil, activeSince: Self.utc("2026-01-10T02:30"), now: Self.utc("2026-01-10T12:00")) == Self.utc("2026-01-11T02:00"))
        #expect(source.dueSlot(lastSlot: Self.utc("2026-01-05T02:00"), activeSince: Self.utc("2026-01-01T00:00"), now: Self.utc("2026-01-10T12:00"))
                == Self.utc("2026-01-10T02:00"))
    }

    @Test func unknownTimeZonesAreRefused() {
        for name in ["Europe/Berln", "", "../../etc/passwd", String(repeating: "A", count: 100)] {
            #expect(throws: TrainyardError.self, "\(name)") { try ScheduleSource(cron: "0 3 * * *", timeZone: name) }
        }
        #expect(throws: Never.self) { try ScheduleSource(cron: "0 3 * * *", timeZone: "UTC") }
    }
}
