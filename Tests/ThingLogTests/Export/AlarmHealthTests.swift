import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogExport
@testable import ThingLogStore
@testable import ThingLogCLI

/// Alarm-health numbers against a computation over the alarm rows written here from SPEC §4's definitions.
@Suite struct AlarmHealthTests {
    static func alarm(_ device: String, _ rule: String, start: Int64, end: Int64?) -> StoredAlarm {
        StoredAlarm(id: "\(device)\(rule)\(start)", product: "P", device: device, rule: rule, severity: "warning",
                    metric: "MQ4.CH4", startedAt: start, firedAt: start, endedAt: end,
                    durationSeconds: Double((end ?? start) - start) / 1000, peak: 1, peakAt: start, threshold: 1)
    }

    /// Episodes by brute force: for every alarm, the set of alarms chained to it by ≤ 10-minute start gaps; distinct
    /// maximal chains of three or more.
    static func episodes(_ starts: [Int64]) -> Int {
        var chains = Set<[Int64]>()
        for index in starts.indices {
            var low = index, high = index
            while low > 0, starts[low] - starts[low - 1] <= 600_000 { low -= 1 }
            while high < starts.count - 1, starts[high + 1] - starts[high] <= 600_000 { high += 1 }
            if high - low + 1 >= 3 { chains.insert(Array(starts[low...high])) }
        }
        return chains.count
    }

    @Test func randomAlarmListsAgreeWithTheDefinitions() {
        var random = SeededGenerator(seed: 16)
        for trial in 0..<300 {
            var alarms: [StoredAlarm] = []
            var time: Int64 = 0
            for _ in 0..<Int(random.unit() * 12) {
                time += Int64(random.unit() * 1_200_000)
                let length = Int64(random.unit() * 900_000) + 1
                let isOpen = random.unit() < 0.1
                alarms.append(Self.alarm("d", "r", start: time, end: isOpen ? nil : time + length))
                if isOpen { break }
                time += length
            }
            let from = Int64(random.unit() * 3_000_000), to = from + 1 + Int64(random.unit() * 8_000_000)
            let rows = AlarmHealth.rows(alarms, from: from, to: to)
            let starting = alarms.filter { $0.startedAt >= from && $0.startedAt < to }
            guard !starting.isEmpty else {
                #expect(rows.isEmpty, "trial \(trial)")
                continue
            }
            let row = rows.first
            #expect(rows.count == 1 && row?.alarms == starting.count, "trial \(trial)")
            #expect(row?.chatteringEpisodes == Self.episodes(starting.map(\.startedAt)), "trial \(trial)")
            // Active time, millisecond by millisecond over a coarse grid of exact interval arithmetic.
            var active: Int64 = 0
            for alarm in alarms {
                let end = alarm.endedAt ?? to
                active += max(0, min(end, to) - max(alarm.startedAt, from))
            }
            #expect(row.map { abs($0.activeShare - Double(active) / Double(to - from)) < 1e-12 } == true,
                    "trial \(trial)")
            let standing = alarms.contains { alarm in
                let isActiveAtEnd = alarm.startedAt < to && (alarm.endedAt ?? .max) > to
                return isActiveAtEnd && to - alarm.startedAt > 86_400_000
            }
            #expect(row?.standing == standing, "trial \(trial)")
        }
    }

    @Test func aStandingAlarmAndSeparateDeviceRules() {
        let day: Int64 = 86_400_000
        let alarms = [Self.alarm("a", "r1", start: 0, end: nil),
                      Self.alarm("a", "r2", start: 10, end: 20), Self.alarm("a", "r2", start: 30, end: 40),
                      Self.alarm("a", "r2", start: 50, end: 60), Self.alarm("b", "r1", start: day, end: day + 5)]
        let rows = AlarmHealth.rows(alarms, from: 0, to: 2 * day)
        #expect(rows.map(\.rule) == ["r1", "r2", "r1"] && rows.map(\.device) == ["a", "a", "b"])
        #expect(rows[0].standing && rows[0].activeShare == 1, "open since the start: active all the range")
        #expect(rows[1].chatteringEpisodes == 1 && rows[1].alarms == 3 && !rows[1].standing)
        #expect(rows[2].alarms == 1 && rows[2].chatteringEpisodes == 0)
    }
}
