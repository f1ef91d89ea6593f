import FoundationEssentials
import Dispatch
import Glibc

/// Epoch-millisecond time: ISO 8601 parsing and formatting, calendar arithmetic, and the SPEC §3 time arguments.
public enum Timestamp {
    public static let millisecondsPerDay: Int64 = 86_400_000

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The calendar date of a day count since 1970-01-01.
    public static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `2026-11-26T08:00:13.515Z`: UTC with milliseconds (SPEC §3).
    public static func iso8601(_ milliseconds: Int64) -> String {
        let dayCount = milliseconds >= 0 ? milliseconds / millisecondsPerDay
                                         : (milliseconds - millisecondsPerDay + 1) / millisecondsPerDay
        let rest = milliseconds - dayCount * millisecondsPerDay
        let date = civil(days: dayCount)
        let hours = rest / 3_600_000, minutes = rest / 60_000 % 60, seconds = rest / 1000 % 60, millis = rest % 1000
        return "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))T"
            + "\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(seconds, 2)).\(pad(millis, 3))Z"
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// Parses `YYYY-MM-DDTHH:MM[:SS[.fff…]](Z|±HH:MM|±HHMM)`; a space may stand for `T`. Nil when malformed or
    /// when no zone is given.
    public static func parseISO8601(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ width: Int) -> Int64? {
            guard index + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for offset in 0..<width {
                let byte = bytes[index + offset]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += width
            return value
        }
        func consume(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = number(4), consume(UInt8(ascii: "-")), let month = number(2), consume(UInt8(ascii: "-")),
              let day = number(2), (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              consume(UInt8(ascii: "T")) || consume(UInt8(ascii: "t")) || consume(UInt8(ascii: " ")),
              let hour = number(2), hour < 24, consume(UInt8(ascii: ":")), let minute = number(2), minute < 60
        else { return nil }
        var second: Int64 = 0, millis: Int64 = 0
        if consume(UInt8(ascii: ":")) {
            guard let value = number(2), value < 61 else { return nil }
            second = min(value, 59)
            if consume(UInt8(ascii: ".")) || consume(UInt8(ascii: ",")) {
                var digits = 0
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                    if digits < 3 { millis = millis * 10 + Int64(bytes[index] - 48) }
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<max(digits, 3) { millis *= 10 }
            }
        }
        var offsetMinutes: Int64 = 0
        if consume(UInt8(ascii: "Z")) || consume(UInt8(ascii: "z")) {
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2), hours <= 23 else { return nil }
            _ = consume(UInt8(ascii: ":"))
            guard let minutes = number(2), minutes < 60 else { return nil }
            offsetMinutes = sign * (hours * 60 + minutes)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let dayStart = days(year: year, month: month, day: day) * millisecondsPerDay
        return dayStart + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Parses `YYYY-MM-DD` into (year, month, day).
    public static func parseCalendarDate(_ text: String) -> (year: Int64, month: Int64, day: Int64)? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int64(parts[0]), let month = Int64(parts[1]), let day = Int64(parts[2]),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        return (year, month, day)
    }

    /// Epoch milliseconds of local midnight starting a calendar date in `timeZone`.
    public static func startOfDay(year: Int64, month: Int64, day: Int64, in timeZone: ZoneInfo) -> Int64 {
        let localMidnight = days(year: year, month: month, day: day) * millisecondsPerDay
        // Resolve the zone's offset at that instant; two passes settle DST transitions.
        var guess = localMidnight
        for _ in 0..<2 {
            let offset = timeZone.offsetMilliseconds(at: guess)
            guess = localMidnight - offset
        }
        return guess
    }

    /// The range of time arguments: years 0001 to 9999, so that arithmetic on a bound (a lookback, a bucket)
    /// never overflows.
    public static let argumentRange: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// A SPEC §3 time argument: ISO 8601 with a zone, `YYYY-MM-DD` (midnight in `timeZone`), or epoch milliseconds;
    /// nil when it is none of these or lies outside `argumentRange`.
    public static func parseArgument(_ text: String, timeZone: ZoneInfo) -> Int64? {
        if let millis = Int64(text) { return argumentRange.contains(millis) ? millis : nil }
        if let date = parseCalendarDate(text) {
            return startOfDay(year: date.year, month: date.month, day: date.day, in: timeZone)
        }
        return parseISO8601(text)
    }

    /// Milliseconds since the epoch, now.
    public static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
