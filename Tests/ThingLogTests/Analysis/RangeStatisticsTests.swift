import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogExport
@testable import ThingLogCLI

/// The statistics read from rollups plus raw edges (`daily-stats`, `hourly-means`, `coverage`, `export summary`,
/// SPEC §4, §6) equal a brute-force scan of the raw rows on random ranges: also while analyze is behind (newer
/// data, late data it has not seen), and on local days across a DST change.
@Suite struct RangeStatisticsTests {
    let fixture: RollupFixture
    let db: String
    let samples: [RollupFixture.Sample]

    /// Analyzed up to a point; then new reports and late ones (dev2's second day) arrive unanalyzed.
    init() throws {
        fixture = try RollupFixture()
        db = fixture.directory.file("range.db")
        let lines = fixture.lines
        let cut = lines.count * 7 / 8
        let isLate = { (offset: Int, line: String) in
            offset >= lines.count / 4 && offset < lines.count / 2 && line.contains("/dev2\"")
        }
        let early = lines[..<cut].enumerated().filter { !isLate($0.offset, $0.element) }.map(\.element)
        fixture.ingest(early, into: db)
        fixture.analyze(db)
        fixture.ingest(lines[..<cut].enumerated().filter { isLate($0.offset, $0.element) }.map(\.element), into: db)
        fixture.ingest(Array(lines[cut...]), into: db)
        samples = try fixture.samples(db)
    }

    func query(_ name: String, _ parameters: [String: String]) throws -> [[String: Any]] {
        try Self.query(name, parameters, db: db, in: fixture.directory.path)
    }

    static func query(_ name: String, _ parameters: [String: String], db: String,
                      in directory: String) throws -> [[String: Any]] {
        let arguments = ["query", name, "--db", db, "--format", "json"]
            + parameters.flatMap { ["--param", "\($0.key)=\($0.value)"] }
        let result = runCLI(arguments, in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        let document = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        return try #require(document?["rows"] as? [[String: Any]])
    }

    /// Random ranges: some inside one hour, some across days, edges at odd milliseconds and on hour boundaries.
    func ranges(seed: UInt64) -> [(from: Int64, to: Int64)] {
        var random = SeededGenerator(seed: seed)
        let span = Int64(4 * 86_400_000)
        return (0..<12).map { index in
            var from = fixture.start - 3_600_000 + Int64(random.unit() * Double(span))
            var length = Int64(random.unit() * Double([3_600_000, 86_400_000, span][index % 3]))
            if index % 4 == 0 { from -= from % 3_600_000; length -= length % 3_600_000 }
            return (from, from + max(length, 1))
        }
    }

    @Test func dailyStatsAndHourlyMeansEqualARawScan() throws {
        let raw = samples.filter { $0.seriesKey > 0 }
        for (from, to) in ranges(seed: 21) {
            let inRange = raw.filter { $0.time >= from && $0.time < to }
            let days = Dictionary(grouping: inRange) {
                "\(Timestamp.iso8601($0.time).prefix(10))|\($0.device)|\($0.metric)"
            }
            let rows = try query("daily-stats", ["from": String(from), "to": String(to)])
            #expect(rows.count == days.count, "\(from)..<\(to)")
            for row in rows {
                let day = try #require(row["day"] as? String), device = row["device"] as? String ?? ""
                let metric = row["metric"] as? String ?? ""
                let members = try #require(days["\(day)|\(device)|\(metric)"], "\(day) \(device) \(metric)")
                let expected = RollupFixture.Statistics(members.map { ($0.time, $0.value) })
                #expect(row["count"] as? Int == expected.count && row["min"] as? Double == expected.minimum
                        && row["max"] as? Double == expected.maximum
                        && fixture.close(row["mean"] as? Double, expected.mean), "\(from)..<\(to) \(row)")
            }
            let series = inRange.first { $0.metric == "MQ7" && $0.device == "dev2" } != nil ? "MQ7" : "MQ2"
            let hours = Dictionary(grouping: inRange.filter { $0.device == "dev2" && $0.metric == series }) {
                RollupWidth.hour.bucket(of: $0.time)
            }
            let hourly = try query("hourly-means", ["device": "dev2", "metric": series, "from": String(from),
                                                    "to": String(to)])
            #expect(hourly.map { $0["hour"] as? String } == hours.keys.sorted().map {
                String(Timestamp.iso8601($0).prefix(13)) + ":00:00Z"
            })
            for row in hourly {
                let hour = hours.keys.sorted()[hourly.firstIndex { $0["hour"] as? String == row["hour"] as? String }!]
                let expected = RollupFixture.Statistics(hours[hour]!.map { ($0.time, $0.value) })
                #expect(row["count"] as? Int == expected.count && row["min"] as? Double == expected.minimum
                        && row["max"] as? Double == expected.maximum
                        && fixture.close(row["mean"] as? Double, expected.mean), "\(row)")
            }
        }
    }

    @Test func coverageEqualsARawScan() throws {
        let raw = samples.filter { $0.seriesKey > 0 }
        for (from, to) in ranges(seed: 22) {
            let times = Dictionary(grouping: raw.filter { $0.time >= from && $0.time < to }) { $0.device }
                .mapValues { Array(Set($0.map(\.time))).sorted() }
            let rows = try query("coverage", ["from": String(from), "to": String(to)])
            #expect(rows.map { $0["device"] as? String } == times.keys.sorted(), "\(from)..<\(to)")
            for row in rows {
                let list = try #require(times[row["device"] as? String ?? ""])
                let gaps = zip(list, list.dropFirst()).map { Self.units($1 - $0) }.sorted()
                #expect(row["reports"] as? Int == list.count)
                guard !gaps.isEmpty else {
                    #expect(row["expected"] is NSNull)
                    continue
                }
                let median = Double(gaps[(gaps.count - 1) / 2] + gaps[gaps.count / 2]) / 2 * 10
                #expect(row["expected"] as? Int == Int((Double(to - from) / median).rounded()), "\(row)")
                let coverage = try #require(row["coverage"] as? Double)
                #expect(abs(coverage - Double(list.count) * median / Double(to - from)) <= 0.00005 + 1e-12, "\(row)")
            }
        }
    }

    /// Devices reporting every 2 s or so: the sub-10-second intervals keep tenths of a second.
    @Test func coverageOfFastDevicesEqualsARawScan() throws {
        let fast = try RollupFixture(devices: 2, seconds: 4 * 3600, interval: "2")
        let db = fast.directory.file("fast.db")
        fast.ingest(Array(fast.lines[..<(fast.lines.count * 3 / 4)]), into: db)
        fast.analyze(db)
        fast.ingest(Array(fast.lines[(fast.lines.count * 3 / 4)...]), into: db)
        let raw = try fast.samples(db).filter { $0.seriesKey > 0 }
        var random = SeededGenerator(seed: 24)
        for _ in 0..<8 {
            let from = fast.start + Int64(random.unit() * 3 * 3_600_000)
            let to = from + 60_000 + Int64(random.unit() * 2 * 3_600_000)
            let times = Dictionary(grouping: raw.filter { $0.time >= from && $0.time < to }) { $0.device }
                .mapValues { Array(Set($0.map(\.time))).sorted() }
            let rows = try Self.query("coverage", ["from": String(from), "to": String(to)], db: db,
                                      in: fast.directory.path)
            #expect(rows.count == times.count)
            for row in rows {
                let list = try #require(times[row["device"] as? String ?? ""])
                let gaps = zip(list, list.dropFirst()).map { Self.units($1 - $0) }.sorted()
                let median = Double(gaps[(gaps.count - 1) / 2] + gaps[gaps.count / 2]) / 2 * 10
                #expect(median > 1000 && median < 5000, "a fast device: \(median) ms")
                #expect(row["reports"] as? Int == list.count)
                #expect(row["expected"] as? Int == Int((Double(to - from) / median).rounded()), "\(row)")
            }
        }
    }

    /// A gap as coverage rounds it, written out independently: hundredths of a second, two significant digits.
    static func units(_ milliseconds: Int64) -> Int64 {
        if milliseconds >= 10_000 {
            return Int64((Double(milliseconds) / 1000).rounded(.toNearestOrAwayFromZero)) * 100
        }
        if milliseconds >= 1000 { return Int64((Double(milliseconds) / 100).rounded(.toNearestOrAwayFromZero)) * 10 }
        return Int64((Double(milliseconds) / 10).rounded(.toNearestOrAwayFromZero))
    }

    /// `export summary` (and so the report's tables) over random ranges and local days, one across DST.
    @Test func summariesEqualARawScan() throws {
        var checks = ranges(seed: 23)
        for zone in ["Europe/Berlin", "Asia/Kathmandu"] {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = try #require(TimeZone(identifier: zone))
            let day = try #require(calendar.date(from: DateComponents(year: 2026, month: 3, day: 29)))
            let next = try #require(calendar.date(byAdding: .day, value: 1, to: day))
            checks.append((Int64(day.timeIntervalSince1970 * 1000), Int64(next.timeIntervalSince1970 * 1000)))
        }
        #expect(checks[checks.count - 2].to - checks[checks.count - 2].from == 23 * 3_600_000, "the DST day")
        let exporter = Exporter(store: try StoreReader.open(path: db))
        for (from, to) in checks {
            var rows: [[ExportValue]] = []
            try exporter.forEachRow(.summary, filter: ExportFilter(from: from, to: to)) { rows.append($0) }
            let series = Dictionary(grouping: samples.filter { $0.time >= from && $0.time < to }) {
                "\($0.device)|\($0.metric)"
            }
            #expect(rows.count == series.count, "\(from)..<\(to)")
            for row in rows {
                guard case .text(let device) = row[1], case .text(let metric) = row[2] else { continue }
                let expected = RollupFixture.Statistics(try #require(series["\(device)|\(metric)"]).map {
                    ($0.time, $0.value)
                })
                let values = row.map { value -> Double? in
                    switch value {
                    case .number(let number): number
                    case .timestamp(let time): Double(time)
                    default: nil
                    }
                }
                #expect(values[3] == Double(expected.count) && values[4] == expected.minimum
                        && values[5] == expected.maximum && values[8] == Double(expected.first)
                        && values[9] == Double(expected.last), "\(from)..<\(to) \(device) \(metric)")
                #expect(fixture.close(values[6], expected.mean)
                        && fixture.close(values[7], expected.stddev, scale: abs(expected.mean)),
                        "\(from)..<\(to) \(device) \(metric)")
            }
        }
    }
}
