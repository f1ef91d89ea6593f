import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogCLI

/// thinglog's own time zones (TZif files and their POSIX rules) against Foundation's (ICU's) on random instants, and
/// against known transitions; hostile zone names never open a file outside the zone directory.
@Suite struct ZoneInfoTests {
    static let zones = ["Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Sydney",
                        "Australia/Lord_Howe", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "Europe/London",
                        "Africa/Johannesburg", "Asia/Shanghai", "America/Los_Angeles", "Europe/Dublin", "Etc/GMT+5",
                        "Pacific/Auckland", "America/Sao_Paulo"]

    @Test(arguments: zones)
    func offsetsEqualFoundationsOnRandomInstants(zone: String) throws {
        let ours = try #require(ZoneInfo(identifier: zone), "\(zone) is in /usr/share/zoneinfo")
        let theirs = try #require(TimeZone(identifier: zone))
        var random = SeededGenerator(seed: UInt64(zone.utf8.count))
        // 1970 to 2100: the files' transitions, then (past 2037 in slim files) their POSIX rule.
        for _ in 0..<4000 {
            let seconds = Int64(random.unit() * 4_102_444_800)
            let expected = theirs.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds)))
            #expect(ours.offsetSeconds(at: seconds) == expected, "\(zone) at \(seconds)")
            if ours.offsetSeconds(at: seconds) != expected { break }
        }
    }

    @Test func knownTransitions() throws {
        let berlin = try #require(ZoneInfo(identifier: "Europe/Berlin"))
        // 2026-03-29 01:00 UTC: CET → CEST; 2026-10-25 01:00 UTC: back.
        #expect(berlin.offsetSeconds(at: 1_774_746_000 - 1) == 3600 && berlin.offsetSeconds(at: 1_774_746_000) == 7200)
        #expect(berlin.offsetSeconds(at: 1_792_890_000 - 1) == 7200 && berlin.offsetSeconds(at: 1_792_890_000) == 3600)
        // Far beyond the last transition of any file: the POSIX rule.
        #expect(berlin.offsetSeconds(at: 4_090_000_000) == 7200, "2099-08: summer time")
        let lordHowe = try #require(ZoneInfo(identifier: "Australia/Lord_Howe"))
        #expect(lordHowe.offsetSeconds(at: 4_090_000_000) == 37_800, "+10:30 in the southern winter")
        #expect(lordHowe.offsetSeconds(at: 4_070_000_000) == 39_600, "+11 (a 30-minute DST) in the summer")
        #expect(ZoneInfo(identifier: "UTC")?.offsetSeconds(at: 0) == 0)
        // Any instant, however far out, gives an offset, never a trap.
        for time: Int64 in [.min, .min + 1, -1, .max - 1, .max] {
            #expect((-86_400...86_400).contains(berlin.offsetSeconds(at: time)))
            #expect((-86_400...86_400).contains(Int(berlin.offsetMilliseconds(at: time) / 1000)))
        }
    }

    @Test func posixRules() throws {
        let rule = try #require(PosixRule("EST5EDT,M3.2.0,M11.1.0"))
        #expect(rule.standard == -18_000 && rule.daylight == -14_400)
        // 2026-03-08 07:00 UTC (02:00 EST) starts DST.
        #expect(rule.offset(at: 1_772_953_200 - 1) == -18_000 && rule.offset(at: 1_772_953_200) == -14_400)
        #expect(PosixRule("<+0545>-5:45")?.offset(at: 0) == 20_700)
        #expect(PosixRule("IST-1GMT0,M10.5.0,M3.5.0/1") != nil, "negative DST (Europe/Dublin)")
        for bad in ["", "X", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.5.0", "CET-999", "<+01"] {
            #expect(PosixRule(bad) == nil, "\(bad)")
        }
    }

    @Test func hostileNamesOpenNothing() {
        for name in ["", "../../etc/passwd", "/etc/passwd", "Europe/../../../etc/passwd", "Europe//Berlin",
                     "Europe/Berlin\u{0}x", "No/Such_Zone", "Europe/Berlin/", ".", "zone.tab"] {
            #expect(ZoneInfo(identifier: name) == nil, "\(name)")
        }
    }
}
