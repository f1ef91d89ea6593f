import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogAnalysis
@testable import ThingLogExport
@testable import ThingLogCLI

/// Four days of three simulated devices, and brute-force statistics over raw rows.
struct RollupFixture {
    let directory = TemporaryDirectory()
    /// 2026-03-27T00:00Z: four days at one report a minute, over the European DST change (Sunday 2026-03-29).
    let start: Int64 = 1_774_569_600_000
    let lines: [String]

    init(devices: Int = 3, seconds: Int = 345_600, interval: String = "60") throws {
        let out = directory.file("days.jsonl")
        #expect(runCLI(["simulate", "--out", out, "--devices", String(devices), "--duration", String(seconds),
                        "--interval", interval, "--seed", "5", "--start", String(start)],
                       in: directory.path).status == 0)
        lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func ingest(_ part: [String], into db: String) {
        let file = directory.write("part-\(UUID().uuidString).jsonl", part.joined(separator: "\n"))
        let result = runCLI(["ingest", file, "--db", db], in: directory.path)
        #expect(result.status == 0, "\(result.standardError)")
    }

    func analyze(_ db: String) {
        let result = runCLI(["analyze", "--db", db], in: directory.path)
        #expect(result.status == 0, "\(result.standardError)")
    }

    // MARK: Brute force

    struct Sample {
        var deviceID: Int64
        var device: String
        var seriesKey: Int64
        var metric: String
        var time: Int64
        var value: Double
    }

    /// Every raw reading and usable ppm estimate, straight from the tables.
    func samples(_ db: String) throws -> [Sample] {
        let database = try Database(path: db)
        let raw = try database.rows("""
            SELECT d.id, d.name, s.id, s.metric, r.ts, r.value FROM readings r JOIN series s ON s.id = r.series_id
            JOIN devices d ON d.id = s.device_id
            """)
        let ppm = try database.rows("""
            SELECT d.id, d.name, -p.id, p.sensor || '.' || p.gas, r.ts, r.ppm FROM ppm r
            JOIN ppm_series p ON p.id = r.series_id JOIN devices d ON d.id = p.device_id
            WHERE r.quality <= 1 AND r.ppm IS NOT NULL
            """)
        return (raw + ppm).map { row in
            Sample(deviceID: row[0].int64Value!, device: row[1].stringValue!, seriesKey: row[2].int64Value!,
                   metric: row[3].stringValue!, time: row[4].int64Value!, value: row[5].doubleValue!)
        }
    }

    struct Statistics {
        var count = 0
        var minimum = Double.infinity
        var maximum = -Double.infinity
        var mean = 0.0
        var stddev: Double?
        var first = Int64.max
        var last = Int64.min

        init(_ values: [(time: Int64, value: Double)]) {
            count = values.count
            guard count > 0 else { return }
            for entry in values {
                minimum = min(minimum, entry.value)
                maximum = max(maximum, entry.value)
                first = min(first, entry.time)
                last = max(last, entry.time)
            }
            mean = values.map(\.value).reduce(0, +) / Double(count)
            let squares = values.map { ($0.value - mean) * ($0.value - mean) }.reduce(0, +)
            stddev = count > 1 ? (squares / Double(count - 1)).squareRoot() : nil
        }
    }

    /// Relative agreement to 1e-12 (a deviation below 1e-12 of the mean's size is rounding).
    func close(_ a: Double?, _ b: Double?, scale: Double = 0) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return abs(a - b) <= 1e-12 * max(abs(a), abs(b), scale, 1e-300)
    }
}

/// Rollups (SPEC §6) compared with a brute-force computation over the raw rows in the test (two-pass mean and
/// deviation, plain loops), never with the code's own output.
@Suite struct RollupTests {
    let fixture: RollupFixture

    init() throws { fixture = try RollupFixture() }

    // MARK: Rollup rows

    @Test func reportGapsAreStoredInTheShorterForm() {
        func text(_ gaps: [Int64: Int]) -> String {
            FrameRollupRow(bucket: 0, count: 1, firstTime: 0, lastTime: 0, gaps: gaps).gapsText
        }
        #expect(text([60: 58, 61: 1, 63: 2]) == "[60,1,58,1,0,2]")
        #expect(text([4800: 3, 5000: 1, 5100: 2]) == "[4800,100,3,0,1,2]")
        #expect(text([1: 1, 3000: 1]) == "[1,2999,1,1]")
        #expect(text([1: 1, 2: 1, 3000: 1]) == #"{"1":1,"2":1,"3000":1}"#)
        #expect(text([:]) == "{}")
        // Two significant digits, in hundredths of a second.
        #expect([60_400, 9_960, 2_460, 999, 7].map(FrameRollupRow.gapUnits) == [6000, 1000, 250, 100, 1])
        #expect([60_400, 9_960, 2_460, 999, 7].map(RangeStatisticsTests.units) == [6000, 1000, 250, 100, 1])
    }

    @Test func rollupRowsEqualABruteForceComputation() throws {
        let db = fixture.directory.file("rows.db")
        fixture.ingest(fixture.lines, into: db)
        fixture.analyze(db)
        let all = try fixture.samples(db)
        let database = try Database(path: db)
        let dataEnd = try #require(all.filter { $0.seriesKey > 0 }.map(\.time).max())
        let keepFrom = RollupWidth.fiveMinutes.bucket(of: dataEnd - 2 * 86_400_000)
        for width in RollupWidth.allCases {
            let table = width == .hour ? "rollup_1h" : "rollup_5m"
            var stored: [String: [SQLiteValue]] = [:]
            for row in try database.rows("SELECT * FROM \(table)") {
                stored["\(row[0].int64Value!)@\(row[1].int64Value! * width.rawValue)"] = row
            }
            let groups = Dictionary(grouping: all) { "\($0.seriesKey)@\(width.bucket(of: $0.time))" }
            let kept = groups.filter { width == .hour || width.bucket(of: $0.value[0].time) >= keepFrom }
            #expect(Set(stored.keys) == Set(kept.keys), "\(table): the buckets with data, and only those")
            #expect(kept.count > 1000)
            if width == .fiveMinutes { #expect(kept.count < groups.count, "older 5-minute rows have expired") }
            for (key, members) in kept {
                let row = try #require(stored[key])
                let expected = RollupFixture.Statistics(members.map { ($0.time, $0.value) })
                let m2 = row[4].doubleValue! * pow(4, Double(row[5].int64Value!))
                let stddev = expected.count > 1 ? (m2 / Double(expected.count - 1)).squareRoot() : nil
                #expect(row[2].int64Value == Int64(expected.count) && row[6].doubleValue == expected.minimum
                        && row[7].doubleValue == expected.maximum
                        && row[1].int64Value! * width.rawValue + row[8].int64Value! == expected.first
                        && row[1].int64Value! * width.rawValue + row[9].int64Value! == expected.last, "\(table) \(key)")
                #expect(fixture.close(row[3].doubleValue, expected.mean)
                        && fixture.close(stddev, expected.stddev, scale: abs(expected.mean)), "\(table) \(key)")
            }
        }
        // When each device reported, per hour: count, first, last and the gaps (two significant digits).
        let reports = Dictionary(grouping: all.filter { $0.seriesKey > 0 }) { $0.deviceID }
            .mapValues { Array(Set($0.map(\.time))).sorted() }
        var frames = 0
        for row in try database.rows("""
            SELECT device_id, slot * 3600000, count, slot * 3600000 + first_offset, slot * 3600000 + last_offset, gaps
            FROM frame_rollup_1h
            """) {
            let times = try #require(reports[row[0].int64Value!]).filter {
                RollupWidth.hour.bucket(of: $0) == row[1].int64Value!
            }
            var gaps: [String: Int] = [:]
            for (earlier, later) in zip(times, times.dropFirst()) {
                gaps[String(RangeStatisticsTests.units(later - earlier)), default: 0] += 1
            }
            var stored: [String: Int]?
            switch try JSONSerialization.jsonObject(with: Data(row[5].stringValue!.utf8)) {
            case let object as [String: Int]: stored = object
            case let array as [Int]:
                stored = [:]
                for (offset, count) in array.dropFirst(2).enumerated() where count > 0 {
                    stored?[String(array[0] + offset * array[1])] = count
                }
            default: stored = nil
            }
            #expect(row[2].int64Value == Int64(times.count) && row[3].int64Value == times.first
                    && row[4].int64Value == times.last && stored == gaps, "\(row[5])")
            frames += times.count
        }
        #expect(frames == reports.values.map(\.count).reduce(0, +), "every report time is in one hour's rollup")
    }
}
