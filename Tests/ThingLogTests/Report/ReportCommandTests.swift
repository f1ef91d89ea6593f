import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogReport

@Suite struct ReportCommandTests {
    let directory = TemporaryDirectory()
    /// 2025-11-26 00:00 UTC: the fixture's first report.
    let day = "2025-11-26"

    /// Two devices, one of them named to attack the page (a topic level cannot hold a slash), one property id too,
    /// and an MQ7 CO event that raises alarms.
    func seeded(hostileName: String = "<script>alert(1)<script>") -> String {
        let fixture = ReportFixture(devices: 2, reportsPerDevice: 400, intervalMilliseconds: 60_000)
        let encoded = hostileName.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
        let lines = fixture.jsonlLines().enumerated().map { index, line in
            var line = line.replacingOccurrences(of: "/dev2\"", with: "/\(encoded)\"")
            if (100..<140).contains(index / 2) {
                line = line.replacingOccurrences(of: "\\\"MQ7\\\":", with: "\\\"MQ7\\\":9")
            }
            return line.replacingOccurrences(of: "\\\"DHT11_H\\\"", with: "\\\"</script><script>alert(2)</script>\\\"")
        }
        let db = directory.file("r.db")
        let malformed = "{\"topic\":\"$thing/up/property/P/dev1\",\"received_at\":1764118800000,\"payload\":\"{oops\"}"
        let input = directory.write("in.jsonl", (lines + [malformed]).joined(separator: "\n"))
        // Hostile names need the `any` name rules (the platform rules reject them at the door).
        directory.write("thinglog.json", """
            {"names": "any",
             "sensors": {"MQ2": {"r0_ohms": 9000}, "MQ135": {"r0_ohms": 20000}, "MQ4": {"r0_ohms": 15000},
                         "MQ7": {"r0_ohms": 3000}}}
            """)
        #expect(runCLI(["ingest", input, "--db", db], in: directory.path).status == 0)
        return db
    }

    func report(_ db: String, _ extra: [String] = [], clock: Int64? = nil) -> CommandResult {
        var fixed: (@Sendable () -> Int64)?
        if let clock { fixed = { clock } }
        return runCLI(["report", "--db", db, "--out", "out"] + extra, in: directory.path, clock: fixed)
    }

    func folder() -> String { directory.file("out/\(day)") }

    @Test func writesTheDaysFilesAndAPageWithoutScriptsOrNetwork() throws {
        let db = seeded()
        let result = report(db, ["--date", day])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == folder() + "/report.html\n")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder()).sorted()
        #expect(files == ["alarms.csv", "alarms.json", "report.html", "summary.csv", "summary.json"])
        let html = try String(contentsOfFile: folder() + "/report.html", encoding: .utf8)
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"))
        #expect(!html.lowercased().contains(" src=") && !html.lowercased().contains("url("))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;script&gt;"), "the device name shows as text")
        #expect(html.contains("&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;"), "so does the property id")
        #expect(html.contains("<svg") && html.contains("not certified gas detectors"))
        #expect(html.contains("Quarantined this day (see rejects_v): not_json 1."))
        #expect(html.contains("<td>co-300</td>"), "the CO event's alarm is in the page's alarm table")
        // The folder's CSVs are the day's exports.
        let summary = try String(contentsOfFile: folder() + "/summary.csv", encoding: .utf8)
        let exported = runCLI(["export", "summary", "--from", day, "--to", "2025-11-27", "--db", db],
                              in: directory.path)
        #expect(summary == exported.standardOutput)
        let alarms = try String(contentsOfFile: folder() + "/alarms.csv", encoding: .utf8)
        #expect(parseCSV(alarms).dropFirst().contains { $0[3] == "co-300" })
        let alarmsJSON = try Data(contentsOf: URL(fileURLWithPath: folder() + "/alarms.json"))
        let json = try JSONSerialization.jsonObject(with: alarmsJSON)
        #expect((json as? [String: Any])?["kind"] as? String == "alarms")
    }

    @Test func hostileNamesAreEscapedInHTMLAndSVG() throws {
        let db = seeded(hostileName: "<img src=x onerror=alert(1)>\"'&")
        #expect(report(db, ["--date", day]).status == 0)
        let html = try String(contentsOfFile: folder() + "/report.html", encoding: .utf8)
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"))
        // No raw quote can end an attribute early: every tag's attributes are balanced.
        #expect(!html.contains("onerror=alert(1)>"))
    }

    @Test func aRerunIsIdenticalExceptGeneratedAt() throws {
        let db = seeded()
        #expect(report(db, ["--date", day], clock: 1_800_000_000_000).status == 0)
        let first = try FileManager.default.contentsOfDirectory(atPath: folder()).sorted().map {
            try String(contentsOfFile: folder() + "/" + $0, encoding: .utf8)
        }
        #expect(report(db, ["--date", day], clock: 1_800_000_999_000).status == 0)
        let second = try FileManager.default.contentsOfDirectory(atPath: folder()).sorted().map {
            try String(contentsOfFile: folder() + "/" + $0, encoding: .utf8)
        }
        #expect(first.count == 5 && second.count == 5)
        for (a, b) in zip(first, second) {
            let stamp = { (text: String) in
                text.replacingOccurrences(of: Timestamp.iso8601(1_800_000_000_000), with: "T")
                    .replacingOccurrences(of: Timestamp.iso8601(1_800_000_999_000), with: "T")
            }
            #expect(stamp(a) == stamp(b))
        }
        #expect(first[4] != second[4] || first[1] != second[1], "generated_at did change")
    }

    @Test func aFailureMidwayLeavesNoPartialFolderAndKeepsThePreviousOne() throws {
        let db = seeded()
        let configuration = try ConfigurationLoader.load(path: directory.file("thinglog.json"),
                                                         currentDirectory: directory.path)
        let reportDay = try #require(ReportDay(day, timeZone: .utc))
        var writer = ReportWriter(databasePath: db, configuration: configuration, day: reportDay,
                                  outputDirectory: directory.file("out"), generatedAt: 1)
        writer.failAfterFiles = 2
        #expect(throws: RuntimeError.self) { try writer.run() }
        #expect(!FileManager.default.fileExists(atPath: folder()))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("out")).isEmpty, "no staging left")

        writer.failAfterFiles = nil
        _ = try writer.run()
        let good = try String(contentsOfFile: folder() + "/report.html", encoding: .utf8)
        var failing = writer
        failing.failAfterFiles = 4
        #expect(throws: RuntimeError.self) { try failing.run() }
        #expect(try String(contentsOfFile: folder() + "/report.html", encoding: .utf8) == good)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("out")) == [day])
    }

    @Test func theDefaultDateIsYesterdayInTheTimeZone() throws {
        let db = seeded()
        // 2025-11-27 03:00 UTC is still the 26th in New York: yesterday there is the 25th.
        let clock = Timestamp.parseISO8601("2025-11-27T03:00:00Z")!
        #expect(report(db, ["--tz", "America/New_York"], clock: clock).standardOutput
                    .hasSuffix("/out/2025-11-25/report.html\n"))
        #expect(report(db, ["--tz", "UTC"], clock: clock).standardOutput.hasSuffix("/out/\(day)/report.html\n"))
        #expect(report(db, ["--date", "2025-13-01"]).status == 2)
    }

    @Test func theDayFollowsDSTInTheTimeZone() throws {
        let spring = try #require(ReportDay("2026-03-29", timeZone: ZoneInfo(identifier: "Europe/Berlin")!))
        #expect(spring.end - spring.start == 23 * 3_600_000)
        #expect(spring.ticks(everyHours: 3).map(\.label)
                == ["00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00"])
        let autumn = try #require(ReportDay("2026-10-25", timeZone: ZoneInfo(identifier: "Europe/Berlin")!))
        #expect(autumn.end - autumn.start == 25 * 3_600_000)
    }

    @Test func demoRunsEndToEnd() throws {
        let result = runCLI(["demo", "--dir", "demo"], in: directory.path, clock: { 1_795_740_000_000 })
        #expect(result.status == 0, "\(result.standardError)")
        let page = directory.file("demo/exports/2026-11-26/report.html")
        #expect(result.standardOutput.contains(page))
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("dev5") && !html.contains("<script"))
        let database = try Database(path: directory.file("demo/thinglog.db"))
        #expect(try database.integer("SELECT COUNT(*) FROM calibrations") == 20)
        #expect(try database.integer("SELECT COUNT(*) FROM alarms WHERE rule != 'offline'") > 0,
                "gas events raise alarms")
        #expect(try database.integer("SELECT COUNT(*) FROM ppm WHERE quality = 0") > 0, "calibrated estimates")
        // Alarm health: the per-rule counts equal the day's alarm rows, and every bad actor links to a device.
        #expect(html.contains("<h2>Alarm health</h2>"))
        let section = try #require(html.components(separatedBy: "<h2>Alarm health</h2>").last)
        let exported = runCLI(["export", "alarm-health", "--from", "2026-11-26", "--to", "2026-11-27", "--db",
                               directory.file("demo/thinglog.db")], in: directory.path)
        let rows = parseCSV(exported.standardOutput).dropFirst()
        var perRule: [String: Int] = [:]
        for row in rows { perRule[row[2], default: 0] += Int(row[4]) ?? 0 }
        let dayAlarms = try database.rows("""
            SELECT rule, COUNT(*) FROM alarms WHERE started_at >= 1795651200000 AND started_at < 1795737600000
            GROUP BY rule
            """)
        for row in dayAlarms {
            let rule = row[0].stringValue ?? "", count = Int(row[1].int64Value ?? 0)
            #expect(perRule[rule] == count, "\(rule)")
            #expect(section.contains("<tr><td>\(rule)</td>"), "\(rule) has a row")
        }
        let links = section.components(separatedBy: "href=\"#").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(!links.isEmpty && links.allSatisfy { html.contains("id=\"\($0)\"") }, "bad actors link to charts")

        // The off-delay is what quiets the demo: the same day without `clear_for` has more alarms, and chatters.
        func health(_ extra: [String] = []) -> (alarms: Int, episodes: Int) {
            let rows = parseCSV(runCLI(["export", "alarm-health", "--from", "2026-11-26", "--to", "2026-11-27",
                                        "--db", directory.file("demo/thinglog.db")] + extra,
                                       in: directory.path).standardOutput).dropFirst()
            return (rows.reduce(0) { $0 + (Int($1[4]) ?? 0) }, rows.reduce(0) { $0 + (Int($1[5]) ?? 0) })
        }
        let withOffDelay = health()
        directory.write("no-off-delay.json", DefaultConfiguration.json
            .replacingOccurrences(of: "\"template\": \"templates/CS0SLTKSYA.json\",", with: "")
            .replacingOccurrences(of: "\"clear_for\": \"2m\"", with: "\"clear_for\": \"0s\""))
        #expect(runCLI(["analyze", "--config", "no-off-delay.json", "--db", directory.file("demo/thinglog.db")],
                       in: directory.path).status == 0)
        let without = health()
        #expect(without.alarms > withOffDelay.alarms && without.episodes > withOffDelay.episodes,
                "\(without) without clear_for, \(withOffDelay) with it")
    }
}
