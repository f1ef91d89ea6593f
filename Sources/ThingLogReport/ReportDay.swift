import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore
import ThingLogAnalysis

/// The local calendar day a report covers, in a time zone: [start, end) in epoch milliseconds, 23 to 25 hours long
/// across DST changes.
public struct ReportDay: Sendable {
    public let year: Int64, month: Int64, day: Int64
    public let timeZone: ZoneInfo
    public let start: Int64
    public let end: Int64

    public init(year: Int64, month: Int64, day: Int64, timeZone: ZoneInfo) {
        self.year = year
        self.month = month
        self.day = day
        self.timeZone = timeZone
        start = Timestamp.startOfDay(year: year, month: month, day: day, in: timeZone)
        let next = Timestamp.civil(days: Timestamp.days(year: year, month: month, day: day) + 1)
        end = Timestamp.startOfDay(year: next.year, month: next.month, day: next.day, in: timeZone)
    }

    /// `YYYY-MM-DD`.
    public init?(_ text: String, timeZone: ZoneInfo) {
        guard let date = Timestamp.parseCalendarDate(text) else { return nil }
        self.init(year: date.year, month: date.month, day: date.day, timeZone: timeZone)
    }

    /// The day before the one containing `now`, in `timeZone` (the nightly job's default).
    public static func yesterday(now: Int64, timeZone: ZoneInfo) -> ReportDay {
        let local = now + timeZone.offsetMilliseconds(at: now)
        let date = Timestamp.civil(days: floorDivide(local, Timestamp.millisecondsPerDay) - 1)
        return ReportDay(year: date.year, month: date.month, day: date.day, timeZone: timeZone)
    }

    public var name: String {
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// The zone's IANA name (`UTC` for `GMT`).
    public var zoneName: String { timeZone.identifier == "GMT" ? "UTC" : timeZone.identifier }

    /// Minutes east of UTC at `time`.
    func offsetMinutes(at time: Int64) -> Int64 {
        timeZone.offsetMilliseconds(at: time) / 60_000
    }

    /// Local `HH:MM` of an instant.
    func clock(_ time: Int64) -> String {
        let minutes = floorModulo(floorDivide(time, 60_000) + offsetMinutes(at: time), 24 * 60)
        let hours = minutes / 60, rest = minutes % 60
        return (hours < 10 ? "0" : "") + "\(hours):" + (rest < 10 ? "0" : "") + "\(rest)"
    }

    /// Instants within the day where the local time is a whole multiple of `hours` hours, with their labels.
    func ticks(everyHours hours: Int64) -> [(time: Int64, label: String)] {
        var result: [(Int64, String)] = []
        var time = start
        while time < end {
            let minutes = floorModulo(floorDivide(time, 60_000) + offsetMinutes(at: time), 24 * 60)
            if minutes % (hours * 60) == 0 { result.append((time, clock(time))) }
            time += 3_600_000
        }
        return result
    }
}
