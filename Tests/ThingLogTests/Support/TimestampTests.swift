import Foundation
import Testing
@testable import ThingLogCore

@Suite struct TimestampTests {
    @Test func formatsUTCWithMilliseconds() {
        #expect(Timestamp.iso8601(0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(1_764_115_213_515) == "2025-11-26T00:00:13.515Z")
        #expect(Timestamp.iso8601(-1) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.iso8601(951_782_400_000) == "2000-02-29T00:00:00.000Z")
    }

    /// From 1696 on: Foundation's Gregorian calendar is Julian before 1582.
    @Test func civilDatesAgreeWithFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for day in stride(from: Int64(-100_000), to: 800_000, by: 997) {
            let date = Date(timeIntervalSince1970: Double(day) * 86_400)
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let civil = Timestamp.civil(days: day)
            #expect(civil.year == Int64(parts.year!) && civil.month == Int64(parts.month!)
                    && civil.day == Int64(parts.day!))
            #expect(Timestamp.days(year: civil.year, month: civil.month, day: civil.day) == day)
        }
    }

    @Test func parsesISO8601WithZones() {
        #expect(Timestamp.parseISO8601("2026-11-26T08:00:00Z") == 1_795_680_000_000)
        #expect(Timestamp.parseISO8601("2026-11-26T16:00:00+08:00") == 1_795_680_000_000)
        #expect(Timestamp.parseISO8601("2026-11-26T03:00:00-0500") == 1_795_680_000_000)
        #expect(Timestamp.parseISO8601("2025-11-26T00:00:13.515Z") == 1_764_115_213_515)
        #expect(Timestamp.parseISO8601("2025-11-26T00:00:13.5Z") == 1_764_115_213_500)
        #expect(Timestamp.parseISO8601("2025-11-26 00:00Z") == 1_764_115_200_000)
    }

    @Test(arguments: ["2026-11-26T08:00:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "yesterday",
                      "2026-11-26T24:00:00Z", "2026-11-26T08:00:00Zjunk", "2026-11-26T08:00:00.Z"])
    func rejectsMalformedTimes(_ text: String) {
        #expect(Timestamp.parseISO8601(text) == nil)
    }

    @Test func timeArgumentsAcceptDatesInAZoneAndEpochMilliseconds() throws {
        let shanghai = try #require(ZoneInfo(identifier: "Asia/Shanghai"))
        #expect(Timestamp.parseArgument("2026-11-26", timeZone: shanghai) == 1_795_622_400_000)
        #expect(Timestamp.parseArgument("1795622400000", timeZone: shanghai) == 1_795_622_400_000)
        // New York switches to daylight time on 2026-03-08: midnight is still at −05:00, the next day at −04:00.
        let newYork = try #require(ZoneInfo(identifier: "America/New_York"))
        #expect(Timestamp.parseArgument("2026-03-08", timeZone: newYork)
                == Timestamp.parseISO8601("2026-03-08T05:00:00Z"))
        #expect(Timestamp.parseArgument("2026-03-09", timeZone: newYork)
                == Timestamp.parseISO8601("2026-03-09T04:00:00Z"))
    }

    @Test func durations() {
        #expect(DurationText.milliseconds("500ms") == 500)
        #expect(DurationText.milliseconds("30s") == 30_000)
        #expect(DurationText.milliseconds("5m") == 300_000)
        #expect(DurationText.milliseconds("8h") == 28_800_000)
        #expect(DurationText.milliseconds("1d") == 86_400_000)
        #expect(DurationText.milliseconds("1.5h") == 5_400_000)
        for bad in ["5", "m", "-5m", "5x", "5 m", "", "1e3s"] { #expect(DurationText.milliseconds(bad) == nil) }
    }
}

/// `ReceiveClock`: live receive times never run backwards; a step back is slewed at half rate, then left behind.
@Suite struct ReceiveClockTests {
    @Test func aStepBackIsSlewedUntilTheWallClockCatchesUp() {
        var wall: Int64 = 1_000_000, monotonic: Int64 = 0
        let clock = ReceiveClock(wall: { wall }, monotonic: { monotonic })
        var issued: [Int64] = []
        for step in 0..<2_000 {
            wall += 10
            monotonic += 10
            if step == 100 { wall -= 5_000 }   // NTP steps the clock back five seconds
            issued.append(clock.now())
        }
        #expect(zip(issued, issued.dropFirst()).allSatisfy { $0 < $1 }, "strictly increasing at 10 ms a call")
        #expect(issued[100] == issued[99] + 5, "after the step, half the real rate")
        #expect(clock.isSlewing == false && issued.last == wall, "caught up (after twice the step) and back on it")
        // The wall clock at call i; it catches up with the slewed times after twice the step (1000 calls).
        let walls = issued.indices.map { Int64(1_000_000 + 10 * ($0 + 1) - ($0 >= 100 ? 5_000 : 0)) }
        let caughtUp = issued.indices.first { $0 >= 100 && issued[$0] == walls[$0] }
        #expect(caughtUp.map { (1_095...1_105).contains($0) } ?? false, "\(String(describing: caughtUp))")
        // A step forward is taken at once, and so is a step back beyond the slew limit (a gateway that booted a day
        // ahead).
        wall += 60_000
        monotonic += 10
        #expect(clock.now() == wall)
        wall -= 86_400_000
        monotonic += 10
        #expect(clock.now() == wall && !clock.isSlewing)
    }
}
