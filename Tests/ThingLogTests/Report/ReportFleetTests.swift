import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogReport

/// Issue #12's report for people and fleets: ppm beyond a curve's range shown clamped and marked, and with more than
/// 25 devices an overview page linking to one self-contained page per device, names escaped and made file-safe.
@Suite struct ReportFleetTests {
    let directory = TemporaryDirectory()
    let day = "2025-11-26"
    let hostile = ["dev2": "<img src=x onerror=alert(1)>", "dev3": "a b", "dev4": "a_b", "dev5": ".hidden",
                   "dev6": "名前", "dev7": String(repeating: "x", count: 48), "dev8": "a?b"]

    /// 30 devices, some with hostile or colliding names, dev9 in a second product too; MQ2 far above its curves.
    func seeded() -> String {
        let fixture = ReportFixture(devices: 30, reportsPerDevice: 120, intervalMilliseconds: 60_000)
        var lines: [String] = []
        for (index, line) in fixture.jsonlLines().enumerated() {
            var line = line
            for (name, replacement) in hostile where line.contains("/\(name)\"") {
                line = line.replacingOccurrences(of: "/\(name)\"", with: "/\(replacement)\"")
            }
            if (80..<100).contains(index / 30) {
                line = line.replacingOccurrences(of: #"\\"MQ2\\":[0-9]+"#, with: #"\\"MQ2\\":990"#,
                                                 options: .regularExpression)
            }
            lines.append(line)
            if line.contains("/dev9\"") { lines.append(line.replacingOccurrences(of: "/CS0SLTKSYA/", with: "/P2/")) }
        }
        directory.write("thinglog.json", """
            {"names": "any",
             "sensors": {"MQ2": {"r0_ohms": 9000}, "MQ135": {"r0_ohms": 20000}, "MQ4": {"r0_ohms": 15000},
                         "MQ7": {"r0_ohms": 3000}}}
            """)
        let db = directory.file("fleet.db")
        let input = directory.write("in.jsonl", lines.joined(separator: "\n"))
        let ingest = runCLI(["ingest", input, "--db", db], in: directory.path)
        #expect(ingest.status == 0 && ingest.standardError.contains(" 0 rejected"), "\(ingest.standardError)")
        return db
    }

    @Test func aFleetGetsAnOverviewLinkingToOnePagePerDevice() throws {
        let db = seeded()
        let result = runCLI(["report", "--db", db, "--out", "out", "--date", day], in: directory.path)
        #expect(result.status == 0, "\(result.standardError)")
        let folder = directory.file("out/\(day)")
        let html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
        let pages = try FileManager.default.contentsOfDirectory(atPath: folder + "/devices").sorted()
        #expect(pages.count == 31, "one page per device (dev9 in two products), no collisions")
        for page in pages {
            let safe = page.range(of: #"^[A-Za-z0-9_][A-Za-z0-9._-]*\.html$"#, options: .regularExpression)
            #expect(safe != nil, "\(page)")
        }
        let links = html.components(separatedBy: "href=\"devices/").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(Set(links.map(String.init)) == Set(pages), "the overview links every page, and only those")
        #expect(!html.contains("<svg class=\"chart\""), "the overview holds no full charts")
        #expect(html.contains("<svg class=\"spark\""))
        #expect(!html.contains("<img") && html.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(html.utf8.count < 200_000)
        // Devices with alarms first: the first linked device is one of those MQ7 drove over its thresholds.
        let firstRow = try #require(html.components(separatedBy: "<h2>Devices</h2>").last)
        let first = firstRow.components(separatedBy: "</tr>")[1]
        #expect(first.contains("class=\"n critical\"") || first.contains("class=\"n warning\""), "\(first)")
        for page in pages {
            let text = try String(contentsOfFile: folder + "/devices/" + page, encoding: .utf8)
            #expect(text.contains("href=\"../report.html\"") && text.contains("<svg class=\"chart\""))
            #expect(!text.lowercased().contains("<script") && !text.contains("<img"), "\(page)")
        }
    }

    @Test func ppmBeyondTheCurveIsClampedAndMarked() throws {
        let db = seeded()
        #expect(runCLI(["report", "--db", db, "--out", "out", "--date", day], in: directory.path).status == 0)
        let folder = directory.file("out/\(day)")
        let configuration = try ConfigurationLoader.load(path: nil, currentDirectory: directory.path)
        let range = try #require(configuration.ppmRanges["MQ2.LPG"])
        // The export keeps the computed extrapolation; the page shows the range edge, marked.
        let summary = parseCSV(try String(contentsOfFile: folder + "/summary.csv", encoding: .utf8))
        let row = try #require(summary.first { $0[1] == "dev1" && $0[2] == "MQ2.LPG" })
        let maximum = try #require(Double(row[5]))
        #expect(maximum > range.upperBound, "the fixture drives CO beyond its curve")
        let page = try pages(folder).first { $0.contains("<h1>dev1 (CS0SLTKSYA)") }
        let text = try #require(page)
        let tableRow = try #require(text.components(separatedBy: "<tr><td>MQ2.LPG</td>").dropFirst().first)
            .components(separatedBy: "</tr>")[0]
        let edge = range.upperBound == range.upperBound.rounded() ? String(Int64(range.upperBound))
                                                                 : String(range.upperBound)
        #expect(tableRow.contains("&gt; \(edge)"), "\(tableRow)")
        #expect(!tableRow.contains(row[5]) && !tableRow.contains(String(Int64(maximum))))
        #expect(text.contains("class=\"valid\"") && text.contains("class=\"extrapolated\""))
    }

    func pages(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder + "/devices").map {
            try String(contentsOfFile: folder + "/devices/" + $0, encoding: .utf8)
        }
    }
}
