/// A POSIX TZ rule (the footer of a TZif file, RFC 8536 §3.3): standard offset, and optionally a DST offset with the
/// rules of when DST starts and ends each year, e.g. `CET-1CEST,M3.5.0,M10.5.0/3` or `<+0545>-5:45`.
struct PosixRule: Sendable, Equatable {
    /// UTC offsets in seconds (east positive, unlike the text).
    var standard: Int32
    var daylight: Int32?
    var start: DateRule?
    var end: DateRule?

    /// A day of the year and a local time (seconds, may be negative or past 24 h in version 3 files).
    struct DateRule: Sendable, Equatable {
        enum Day: Sendable, Equatable {
            /// `Jn`: day 1…365, February 29 never counted.
            case julian(Int)
            /// `n`: day 0…365, February 29 counted in leap years.
            case zeroBased(Int)
            /// `Mm.w.d`: day d (0 = Sunday) of week w (5 = last) of month m.
            case monthWeekDay(month: Int, week: Int, weekday: Int)
        }
        var day: Day
        var time: Int64 = 7200
    }

    init?(_ text: String) {
        var scanner = Scanner(Array(text.utf8))
        guard scanner.name(), let standard = scanner.offset() else { return nil }
        self.standard = Int32(-standard)
        if scanner.isAtEnd { return }
        guard scanner.name() else { return nil }
        if let daylight = scanner.offset() { self.daylight = Int32(-daylight) } else { daylight = self.standard + 3600 }
        guard scanner.take(UInt8(ascii: ",")), let start = scanner.dateRule(), scanner.take(UInt8(ascii: ",")),
              let end = scanner.dateRule(), scanner.isAtEnd else { return nil }
        self.start = start
        self.end = end
    }

    /// The UTC offset at `epochSeconds`.
    func offset(at time: Int64) -> Int32 {
        guard let daylight, let start, let end else { return standard }
        // Years 0001 to 9999 (beyond them the calendar arithmetic would overflow; the rule repeats anyway).
        let epochSeconds = min(max(time, -62_135_596_800), 253_402_300_799)
        let year = Self.civilYear(days: floorDivide(epochSeconds + Int64(standard), 86_400))
        // DST starts at a local standard time and ends at a local daylight time.
        let starts = Self.localSeconds(start, year: year) - Int64(standard)
        let ends = Self.localSeconds(end, year: year) - Int64(daylight)
        let isDaylight = starts < ends ? (epochSeconds >= starts && epochSeconds < ends)
                                       : !(epochSeconds >= ends && epochSeconds < starts)
        return isDaylight ? daylight : standard
    }

    /// Seconds since the epoch of the rule's local date and time in `year`, as if local time were UTC.
    static func localSeconds(_ rule: DateRule, year: Int64) -> Int64 {
        let january1 = Timestamp.days(year: year, month: 1, day: 1)
        let leap = Timestamp.daysIn(month: 2, year: year) == 29
        var day: Int64
        switch rule.day {
        case .julian(let n): day = january1 + Int64(n - 1) + (leap && n >= 60 ? 1 : 0)
        case .zeroBased(let n): day = january1 + Int64(n)
        case .monthWeekDay(let month, let week, let weekday):
            let first = Timestamp.days(year: year, month: Int64(month), day: 1)
            // 1970-01-01 was a Thursday (4).
            let firstWeekday = floorModulo(first + 4, 7)
            day = first + floorModulo(Int64(weekday) - firstWeekday, 7) + Int64(week - 1) * 7
            let length = Timestamp.daysIn(month: Int64(month), year: year)
            while day >= first + length { day -= 7 }
        }
        return day * 86_400 + rule.time
    }

    static func civilYear(days: Int64) -> Int64 {
        // Howard Hinnant's days-to-civil, the year only.
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPart = (5 * dayOfYear + 2) / 153
        return yearOfEra + era * 400 + (monthPart >= 10 ? 1 : 0)
    }

    /// Reads the parts of a rule.
    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { position >= bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        /// A zone abbreviation: three or more letters, or `<…>` quoted.
        mutating func name() -> Bool {
            if take(UInt8(ascii: "<")) {
                while position < bytes.count, bytes[position] != UInt8(ascii: ">") { position += 1 }
                return take(UInt8(ascii: ">"))
            }
            let start = position
            while position < bytes.count, (bytes[position] | 0x20) >= UInt8(ascii: "a"),
                  (bytes[position] | 0x20) <= UInt8(ascii: "z") { position += 1 }
            return position - start >= 3
        }

        mutating func number(maximum: Int64) -> Int64? {
            let start = position
            var value: Int64 = 0
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
                value = value * 10 + Int64(bytes[position] - UInt8(ascii: "0"))
                position += 1
                if value > maximum { return nil }
            }
            return position > start ? value : nil
        }

        /// `[+-]hh[:mm[:ss]]` in seconds (hours up to 167, RFC 8536 version 3).
        mutating func offset() -> Int64? {
            let sign: Int64 = take(UInt8(ascii: "-")) ? -1 : (take(UInt8(ascii: "+")) ? 1 : 1)
            guard let hours = number(maximum: 167) else { return nil }
            var seconds = hours * 3600
            if take(UInt8(ascii: ":")) {
                guard let minutes = number(maximum: 59) else { return nil }
                seconds += minutes * 60
                if take(UInt8(ascii: ":")) {
                    guard let rest = number(maximum: 59) else { return nil }
                    seconds += rest
                }
            }
            return sign * seconds
        }

        mutating func dateRule() -> DateRule? {
            var rule: DateRule
            if take(UInt8(ascii: "M")) {
                guard let month = number(maximum: 12), month >= 1, take(UInt8(ascii: ".")),
                      let week = number(maximum: 5), week >= 1, take(UInt8(ascii: ".")),
                      let weekday = number(maximum: 6) else { return nil }
                rule = DateRule(day: .monthWeekDay(month: Int(month), week: Int(week), weekday: Int(weekday)))
            } else if take(UInt8(ascii: "J")) {
                guard let day = number(maximum: 365), day >= 1 else { return nil }
                rule = DateRule(day: .julian(Int(day)))
            } else {
                guard let day = number(maximum: 365) else { return nil }
                rule = DateRule(day: .zeroBased(Int(day)))
            }
            if take(UInt8(ascii: "/")) {
                guard let time = offset() else { return nil }
                rule.time = time
            }
            return rule
        }
    }
}
