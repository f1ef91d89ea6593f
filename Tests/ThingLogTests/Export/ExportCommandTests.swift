import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogExport

/// A small RFC 4180 reader, independent of the writer under test.
func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = [], field = "", record: [String] = []
    var inQuotes = false, index = text.startIndex
    while index < text.endIndex {
        let character = text[index]
        if inQuotes {
            if character == "\"" {
                let next = text.index(after: index)
                if next < text.endIndex, text[next] == "\"" {
                    field.append("\"")
                    index = next
                } else {
                    inQuotes = false
                }
            } else {
                field.append(character)
            }
        } else if character == "\"" {
            inQuotes = true
        } else if character == "," {
            record.append(field); field = ""
        } else if character == "\r\n" || character == "\n" {
            record.append(field); records.append(record); record = []; field = ""
        } else {
            field.append(character)
        }
        index = text.index(after: index)
    }
    if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
    return records
}

/// CSV rows without their `product` column (at `index`), after checking the header names it there.
func withoutProduct(_ rows: [[String]], at index: Int = 0) -> [[String]] {
    #expect(rows.first.map { $0.count > index && $0[index] == "product" } ?? true, "product column at \(index)")
    return rows.map { row in row.count > index ? Array(row[..<index] + row[(index + 1)...]) : row }
}

@Suite struct ExportCommandTests {
    let directory = TemporaryDirectory()
    let fixture = ReportFixture(devices: 2, reportsPerDevice: 30)

    func seeded() -> String {
        let db = directory.file("e.db")
        // The fixture's hostile device name needs the `any` name rules.
        directory.write("thinglog.json", #"{"names": "any"}"#)
        let lines = fixture.jsonlLines().map { $0.replacingOccurrences(of: "/dev2", with: "/kitchen, \\\"north\\\"") }
        #expect(runCLI(["ingest", directory.write("in.jsonl", lines.joined(separator: "\n")), "--db", db],
                       in: directory.path).status == 0)
        return db
    }

    func export(_ arguments: [String], db: String, environment: [String: String] = [:]) -> CommandResult {
        runCLI(["export"] + arguments + ["--db", db], in: directory.path, environment: environment)
    }

    @Test func readingsCSVParsesBackToTheFixture() {
        let db = seeded()
        let result = export(["readings"], db: db)
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix("product,device,metric,ts,value\r\n"))
        let records = withoutProduct(parseCSV(result.standardOutput))
        #expect(records[0] == ["device", "metric", "ts", "value"])
        var expected: [[String]] = []
        for report in fixture.reports {
            let device = report.device == "dev2" ? "kitchen, \"north\"" : report.device
            for (metric, value) in report.values {
                expected.append([device, metric, Timestamp.iso8601(report.receivedAt - 40), String(value)])
            }
        }
        expected.sort { ($0[0], $0[1], $0[2]) < ($1[0], $1[1], $1[2]) }
        #expect(Array(records.dropFirst()) == expected)
    }

    @Test func jsonAndJSONLinesCarryTheSameRows() throws {
        let db = seeded()
        let output = export(["readings", "--format", "json", "--device", "dev1", "--metric", "MQ7",
                             "--from", "2025-11-26T00:01:00Z"], db: db).standardOutput
        let json = try JSONParser.parse(Array(output.utf8))
        #expect(json.members?.map(\.key) == ["kind", "from", "to", "generated_at", "rows"])
        #expect(json["kind"] == .string("readings") && json["to"] == .null)
        #expect(json["from"] == .string("2025-11-26T00:01:00.000Z"))
        let rows = json["rows"]?.elements ?? []
        let expected = fixture.reports.filter { $0.device == "dev1" && $0.receivedAt - 40 >= 1_764_115_260_000 }
        #expect(rows.count == expected.count)
        #expect(rows.first?["value"] == .number(Double(expected.first?.values[3].1 ?? -1)))
        let lines = export(["readings", "--format", "jsonl", "--device", "dev1", "--metric", "MQ7",
                            "--from", "2025-11-26T00:01:00Z"], db: db).standardOutput.split(separator: "\n")
        #expect(try lines.map { try JSONParser.parse(Array($0.utf8)) } == rows)
    }

    @Test func summaryStatisticsMatchATwoPassComputation() throws {
        let db = seeded()
        let rows = withoutProduct(parseCSV(export(["summary", "--device", "dev1"], db: db).standardOutput))
        #expect(rows[0] == ["device", "metric", "count", "min", "max", "mean", "stddev", "first_ts", "last_ts"])
        let row = try #require(rows.first { $0.count > 1 && $0[1] == "MQ2" })
        let values = fixture.reports.filter { $0.device == "dev1" }.map { Double($0.values[0].1) }
        let mean = values.reduce(0, +) / Double(values.count)
        let stddev = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        #expect(row[2] == String(values.count))
        #expect(abs(Double(row[5])! - mean) < 1e-9 && abs(Double(row[6])! - stddev) < 1e-9)
        let single = withoutProduct(parseCSV(export(["summary", "--device", "dev1", "--metric", "MQ2", "--to",
                                                     "2025-11-26T00:00:10Z"], db: db).standardOutput))
        #expect(single.count == 2 && single[1][2] == "1" && single[1][6] == "", "stddev is empty when count < 2")
    }

    @Test func calendarDatesFollowTheTimeZoneAcrossDST() throws {
        // Readings every hour from 2026-03-07T12:00Z to 2026-03-10T12:00Z; New York enters DST on 2026-03-08.
        let start: Int64 = 1_772_884_800_000
        let lines = (0..<72).map { hour -> String in
            let ts = start + Int64(hour) * 3_600_000
            return "{\"topic\":\"$thing/up/property/P/d\",\"received_at\":\(ts),\"payload\":{\"method\":\"report\","
                + "\"timestamp\":\(ts),\"params\":{\"x\":\(hour)}}}"
        }
        let db = directory.file("tz.db")
        #expect(runCLI(["ingest", directory.write("tz.jsonl", lines.joined(separator: "\n")), "--db", db],
                       in: directory.path).status == 0)
        let rows = withoutProduct(parseCSV(export(["readings", "--from", "2026-03-08", "--to", "2026-03-09",
                                                   "--tz", "America/New_York"], db: db).standardOutput)).dropFirst()
        // The local day of 2026-03-08 lasts 23 hours: 05:00Z to 04:00Z the next day.
        #expect(rows.count == 23)
        #expect(rows.first?[2] == "2026-03-08T05:00:00.000Z" && rows.last?[2] == "2026-03-09T03:00:00.000Z")
        let viaEnvironment = export(["readings", "--from", "2026-03-08", "--to", "2026-03-09"], db: db,
                                    environment: ["TZ": "America/New_York"])
        #expect(parseCSV(viaEnvironment.standardOutput).count == 24)
    }

    @Test func outputFilesAreWholeOrAbsent() throws {
        let db = seeded()
        let written = export(["readings", "--out", "r.csv"], db: db)
        #expect(written.status == 0 && written.standardError.contains("export: 360 readings rows to r.csv"))
        let text = try String(contentsOfFile: directory.file("r.csv"), encoding: .utf8)
        #expect(parseCSV(text).count == 361)
        let failed = export(["readings", "--out", "missing-dir/r.csv"], db: db)
        #expect(failed.status == 1)
        #expect(!FileManager.default.fileExists(atPath: directory.file("missing-dir")))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test func alarmsOverlappingTheRangeAreExported() throws {
        // The worked example of AnalyzeCommandTests: co [5 min, 9 min) and [41 min, open); offline [20 min, 40 min).
        let analysis = AnalyzeCommandTests()
        let db = analysis.prepare()
        #expect(runCLI(["analyze", "--db", db], in: analysis.directory.path).status == 0)
        func minute(_ value: Int64) -> String { String(analysis.start + value * 60_000) }
        func rules(from: Int64, to: Int64) -> [String] {
            let text = runCLI(["export", "alarms", "--from", minute(from), "--to", minute(to), "--db", db],
                              in: analysis.directory.path).standardOutput
            return withoutProduct(parseCSV(text), at: 1).dropFirst().filter { $0[2] != "co-5m" }
                .map { "\($0[2])@\($0[5])" }
        }
        let at = { (value: Int64) in Timestamp.iso8601(analysis.start + value * 60_000) }
        #expect(rules(from: 9, to: 42) == ["co@\(at(41))", "offline@\(at(20))"], "ended exactly at from: out")
        #expect(rules(from: 8, to: 41) == ["co@\(at(5))", "offline@\(at(20))"], "started exactly at to: out")
        #expect(rules(from: 100, to: 200) == ["co@\(at(41))"], "an open alarm reaches every later range")
        let open = withoutProduct(parseCSV(runCLI(["export", "alarms", "--db", db],
                                                  in: analysis.directory.path).standardOutput), at: 1)
            .first { $0.count > 7 && $0[2] == "co" && $0[7].isEmpty }
        #expect(open?[8] == "120", "duration_s of an open alarm runs to the last sample")
    }

    @Test func aDeviceTargetIsWrittenToNotReplaced() throws {
        let db = seeded()
        #expect(export(["readings", "--out", "/dev/null"], db: db).status == 0)
        var status = stat()
        #expect(stat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/dev").filter { $0.hasPrefix("null.tmp") }.isEmpty)
    }

    @Test func usageErrors() {
        let db = seeded()
        #expect(export([], db: db).status == 2)
        let window = export(["rolling", "--window", "7m"], db: db)
        #expect(window.status == 2 && window.standardError.contains("--window 7m"))
        #expect(export(["bananas"], db: db).standardError.contains("unknown kind"))
        #expect(export(["readings", "--format", "xml"], db: db).status == 2)
        #expect(export(["readings", "--from", "2026-01-02", "--to", "2026-01-01"], db: db).status == 2)
    }

    @Test func rollingRowsMatchBruteForceWindowsOfTheFixture() throws {
        let db = seeded()
        let result = export(["rolling", "--device", "dev1", "--metric", "MQ2", "--metric", "MQ7"], db: db)
        #expect(result.status == 0)
        let rows = withoutProduct(parseCSV(result.standardOutput))
        #expect(rows[0] == ["device", "metric", "window", "ts", "mean", "min", "max", "count"])
        var expected: [[String]] = []
        let reports = fixture.reports.filter { $0.device == "dev1" }
        for (metricIndex, metric) in [(0, "MQ2"), (3, "MQ7")] {
            let windows: [(String, Int64)] = [("1m", 60_000), ("5m", 300_000), ("15m", 900_000), ("1h", 3_600_000)]
            for (window, milliseconds) in windows {
                for report in reports {
                    let t = report.receivedAt - 40
                    let inside = reports.filter { $0.receivedAt - 40 > t - milliseconds && $0.receivedAt - 40 <= t }
                        .map { Double($0.values[metricIndex].1) }
                    let mean = inside.reduce(0, +) / Double(inside.count)
                    expected.append(["dev1", metric, window, Timestamp.iso8601(t), "\(mean)", "\(inside.min()!)",
                                     "\(inside.max()!)", "\(inside.count)"])
                }
            }
        }
        #expect(rows.count == expected.count + 1)
        for (row, want) in zip(rows.dropFirst(), expected) {
            #expect(Array(row[0..<4]) == Array(want[0..<4]))
            #expect(abs(Double(row[4])! - Double(want[4])!) <= 1e-12 * Double(want[4])!, "\(row) vs \(want)")
            #expect(Double(row[5]) == Double(want[5]) && Double(row[6]) == Double(want[6]) && row[7] == want[7])
        }
        // A range gives exactly the rows of the whole export inside it: windows reach back before --from.
        let from = "2025-11-26T00:03:00Z", to = "2025-11-26T00:04:00Z"
        let ranged = withoutProduct(parseCSV(export(["rolling", "--device", "dev1", "--metric", "MQ2", "--window", "5m",
                                                     "--from", from, "--to", to], db: db).standardOutput))
        let whole = rows.dropFirst().filter { $0[1] == "MQ2" && $0[2] == "5m" && $0[3] >= "2025-11-26T00:03:00.000Z"
            && $0[3] < "2025-11-26T00:04:00.000Z" }
        #expect(ranged.count == 7 && Array(ranged.dropFirst()) == whole)
    }

    /// `rolling` reads a series once for all its windows when it fits in memory, else once per window: the same rows.
    @Test func rollingRowsAreTheSameReadOnceOrPerWindow() throws {
        let db = seeded()
        let windows = try ConfigurationLoader.load(path: nil, currentDirectory: directory.path).windows
        var cachedExporter = Exporter(store: try StoreReader.open(path: db), windows: windows)
        var streamingExporter = cachedExporter
        streamingExporter.maximumCachedSamples = 3
        func rows(_ exporter: Exporter) throws -> [[ExportValue]] {
            var rows: [[ExportValue]] = []
            try exporter.forEachRow(.rolling, filter: ExportFilter(from: 1_764_115_380_000)) { rows.append($0) }
            return rows
        }
        cachedExporter.maximumCachedSamples = 1 << 20
        let cached = try rows(cachedExporter), streamed = try rows(streamingExporter)
        #expect(cached.count > 500 && cached == streamed)
    }

    @Test func ppmSeriesGetRollingAndExposureRowsOfUsableEstimates() throws {
        let analysis = AnalyzeCommandTests()
        let db = analysis.prepare()
        #expect(runCLI(["analyze", "--db", db], in: analysis.directory.path).status == 0)
        let result = runCLI(["export", "rolling", "--metric", "MQ7.CO", "--window", "5m", "--window", "stel15m",
                             "--config", "thinglog.json", "--db", db], in: analysis.directory.path)
        #expect(result.status == 0, "\(result.standardError)")
        let rows = withoutProduct(parseCSV(result.standardOutput)).dropFirst()
        // Usable estimates only: the warm-up minutes 0 and 40 are left out.
        let usable = analysis.minutes.filter { $0.0 != 0 && $0.0 != 40 }
            .map { (analysis.start + $0.0 * 60_000, analysis.ppm($0.1)) }
        #expect(rows.count == usable.count * 2)
        for (index, (t, _)) in usable.enumerated() {
            let row = Array(rows)[index]
            let inside = usable.filter { $0.0 > t - 300_000 && $0.0 <= t }.map(\.1)
            #expect(row[2] == "5m" && row[3] == Timestamp.iso8601(t) && row[7] == "\(inside.count)")
            let mean = inside.reduce(0, +) / Double(inside.count)
            #expect(abs(Double(row[4])! - mean) <= 1e-12 * mean)
            // STEL: each value holds until the next sample or 10 minutes, integrated over (t − 15 min, t].
            var integral = 0.0
            for (position, sample) in usable.enumerated() where sample.0 < t {
                let next = position + 1 < usable.count ? usable[position + 1].0 : Int64.max
                let end = min(next, sample.0 + 600_000, t), begin = max(sample.0, t - 900_000)
                if end > begin { integral += sample.1 * Double(end - begin) }
            }
            let stel = Array(rows)[usable.count + index]
            #expect(stel[2] == "stel15m" && stel[3] == Timestamp.iso8601(t))
            #expect(abs(Double(stel[4])! - integral / 900_000) <= 1e-9 * max(1, integral / 900_000))
        }
    }
}
