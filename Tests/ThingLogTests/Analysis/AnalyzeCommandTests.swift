import Foundation
import Testing
@testable import ThingLogStore

@Suite struct AnalyzeCommandTests {
    let directory = TemporaryDirectory()
    let start: Int64 = 1_795_651_200_000
    /// MQ7 ADC readings by minute: 700 ≈ 112 ppm (above 100), 650 ≈ 81 ppm (inside the 50–100 band), 500 ≈ 33 ppm.
    let minutes: [(Int64, Int)] = [(0, 500), (1, 500), (2, 700), (3, 700), (4, 650), (5, 700), (6, 700), (7, 700),
                                   (8, 650), (9, 500), (10, 500), (40, 500), (41, 700), (42, 700), (43, 700)]

    /// The chain written out by hand: 10-bit ADC at 5 V, RL 10 kΩ, R0 5 kΩ, MQ7 CO curve.
    func ppm(_ adc: Int) -> Double {
        let vout = Double(adc) * 5 / 1023
        return 99.042 * pow(10_000 * (5 - vout) / vout / 5_000, -1.518)
    }

    func prepare() -> String {
        let lines = minutes.map { minute, adc in
            let ts = start + minute * 60_000
            return "{\"topic\":\"$thing/up/property/P/d1\",\"received_at\":\(ts + 20),\"payload\":"
                + "{\"method\":\"report\",\"timestamp\":\(ts),\"params\":{\"MQ7\":\(adc)}}}"
        }
        let input = directory.write("in.jsonl", lines.joined(separator: "\n"))
        directory.write("thinglog.json", """
            {"sensors": {"MQ7": {"r0_ohms": 5000}}, "warmup": "1m", "windows": ["5m"],
             "alarms": [{"name": "co", "metric": "MQ7.CO", "above": 100, "clear": 50, "for": "2m",
                         "severity": "critical"},
                        {"name": "co-5m", "metric": "MQ7.CO@5m", "above": 100, "severity": "info"},
                        {"name": "offline", "kind": "stale", "after": "10m"}]}
            """)
        let db = directory.file("a.db")
        #expect(runCLI(["ingest", input, "--db", db], in: directory.path).status == 0)
        return db
    }

    @Test func ppmRowsFollowTheChainAndQualities() throws {
        let db = prepare()
        let result = runCLI(["analyze", "--db", db], in: directory.path)
        #expect(result.status == 0)
        let rows = try Database(path: db)
            .rows("SELECT sensor, gas, ts, ppm, quality FROM ppm_v WHERE sensor = 'MQ7' ORDER BY ts")
        #expect(rows.count == minutes.count)
        for (row, (minute, adc)) in zip(rows, minutes) {
            let expected = ppm(adc)
            #expect(row[2] == .integer(start + minute * 60_000))
            #expect(abs((row[3].doubleValue ?? 0) - expected) < 1e-9 * expected)
            // Warm-up: the first minute, and the minute after the 30-minute gap.
            let inRange = (50...4000).contains(expected) ? "ok" : "out_of_range"
            let quality = minute == 0 || minute == 40 ? "warmup" : inRange
            #expect(row[4] == .text(quality), "minute \(minute)")
        }
        // The other configured sensors have no readings for this device: no rows, no error.
        #expect(try Database(path: db).integer("SELECT COUNT(*) FROM ppm_v WHERE sensor != 'MQ7'") == 0)
    }

    @Test func alarmsMatchTheRulesWorkedByHand() throws {
        let db = prepare()
        #expect(runCLI(["analyze", "--db", db], in: directory.path).status == 0)
        let database = try Database(path: db)
        func at(_ minute: Int64) -> SQLiteValue { .integer(start + minute * 60_000) }
        let co = try database.rows("""
            SELECT started_at, fired_at, ended_at, peak_at, duration_s FROM alarms_v WHERE rule = 'co'
            ORDER BY started_at
            """)
        // Pending at 2, cancelled at 4 (81 ppm does not breach); again at 5, fired at 7, through the band at 8,
        // ended at 9. Again at 41, fired at 43, still open at the end of the data.
        #expect(co == [[at(5), at(7), at(9), at(5), .real(240)], [at(41), at(43), .null, at(41), .real(120)]])
        let stale = try database.rows("SELECT started_at, fired_at, ended_at FROM alarms_v WHERE rule = 'offline'")
        #expect(stale == [[at(20), at(20), at(40)]])
        // The 5-minute rolling mean, brute force: above 100 from the first minute it exceeds, until it drops to 100.
        // Rules see usable estimates only: not the warm-up samples at minutes 0 and 40.
        let usable = minutes.filter { $0.0 != 0 && $0.0 != 40 }
        var expected: [[SQLiteValue]] = []
        var openedAt: Int64?
        for (minute, _) in usable {
            let window = usable.filter { $0.0 > minute - 5 && $0.0 <= minute }.map { ppm($0.1) }
            let mean = window.reduce(0, +) / Double(window.count)
            if openedAt == nil, mean > 100 { openedAt = minute }
            if let opened = openedAt, mean <= 100 { expected.append([at(opened), at(minute)]); openedAt = nil }
        }
        if let opened = openedAt { expected.append([at(opened), .null]) }
        let rolling = try database.rows(
            "SELECT started_at, ended_at FROM alarms_v WHERE rule = 'co-5m' ORDER BY started_at")
        #expect(rolling == expected)
        #expect(!expected.isEmpty)
    }

    @Test func rerunsGiveIdenticalResultsAndStableIDs() throws {
        let db = prepare()
        #expect(runCLI(["analyze", "--db", db], in: directory.path).status == 0)
        let database = try Database(path: db)
        func everything() throws -> [[SQLiteValue]] {
            try database.rows("SELECT * FROM alarms_v ORDER BY id") + database.rows("SELECT * FROM ppm_v ORDER BY ts")
        }
        let first = try everything()
        let result = runCLI(["analyze", "--full", "--db", db], in: directory.path)
        #expect(result.standardError.hasPrefix(
            "analyze: 1 devices (1 from the start), 15 reports, 15 ppm estimates, 5 alarms written (2 open) in "))
        let second = try everything()
        #expect(first == second)
    }

    @Test func savedCalibrationsApplyFromTheirEffectiveTime() throws {
        let db = prepare()
        // R0 from minutes 0–2 (two samples at ADC 500) applies from minute 2 on; before it, the configured 5 kΩ.
        #expect(runCLI(["calibrate", "--device", "d1", "--sensor", "MQ7", "--from", String(start), "--to",
                        String(start + 120_000), "--save", "--db", db], in: directory.path).status == 0)
        #expect(runCLI(["analyze", "--db", db], in: directory.path).status == 0)
        let vout = 500.0 * 5 / 1023
        let r0 = 10_000 * (5 - vout) / vout / 27.5
        let ratios = try Database(path: db).rows("SELECT rs_r0 FROM ppm_v ORDER BY ts").compactMap { $0[0].doubleValue }
        for ((minute, adc), ratio) in zip(minutes, ratios) {
            let rs = 10_000 * (5 - Double(adc) * 5 / 1023) / (Double(adc) * 5 / 1023)
            let expected = rs / (minute >= 2 ? r0 : 5_000)
            #expect(abs(ratio - expected) < 1e-12 * expected, "minute \(minute)")
        }
    }

    @Test func heaterCycledMQ7IsOnlyOkInTheReadPhase() throws {
        // Reports every 5 s for 10 minutes; cycle starts at start + 20 s: 60 s high, 90 s low, read in the last 10 s.
        let lines = (0..<120).map { index in
            "{\"topic\":\"$thing/up/property/P/d1\",\"received_at\":\(start + Int64(index) * 5_000),\"payload\":"
                + "{\"method\":\"report\",\"timestamp\":\(start + Int64(index) * 5_000),\"params\":{\"MQ7\":600}}}"
        }
        let input = directory.write("cycle.jsonl", lines.joined(separator: "\n"))
        directory.write("cycle.json", """
            {"sensors": {"MQ7": {"r0_ohms": 5000, "heater_cycle": {"offset": "20s"}}}, "warmup": "1s",
             "alarms": [{"name": "co", "metric": "MQ7.CO", "above": 1, "severity": "info"}]}
            """)
        let db = directory.file("cycle.db")
        #expect(runCLI(["ingest", input, "--db", db], in: directory.path).status == 0)
        #expect(runCLI(["analyze", "--config", "cycle.json", "--db", db], in: directory.path).status == 0)
        let database = try Database(path: db)
        let rows = try database.rows("SELECT ts, quality FROM ppm_v ORDER BY ts")
        #expect(rows.count == 120)
        var okTimes: [Int64] = []
        for row in rows {
            let ts = try #require(row[0].int64Value)
            var position = (ts - start - 20_000) % 150_000
            if position < 0 { position += 150_000 }
            let expected = ts == start ? "warmup" : position >= 140_000 ? "ok" : "warmup"
            #expect(row[1] == .text(expected), "at +\((ts - start) / 1000) s")
            if expected == "ok" { okTimes.append(ts) }
        }
        #expect(okTimes.count == 8, "four read phases of 10 s in 10 minutes, 2 samples each")
        // The alarm sees only read-phase samples: it starts at the first of them.
        #expect(try database.rows("SELECT MIN(started_at) FROM alarms_v WHERE rule = 'co'") == [[.integer(okTimes[0])]])
    }
}
