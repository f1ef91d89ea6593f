import Foundation
import Testing
@testable import ThingLogCore

/// Issue 9's hostile store, end to end: values at the edges of Double, thousands of property ids, one device name in
/// two products and in two Unicode forms. analyze → report → export → query each finish, in bounded time, exit 0.
@Suite struct HostileStoreTests {
    let directory = TemporaryDirectory()
    /// 2025-11-26T00:00:00Z.
    let dayStart: Int64 = 1_764_115_200_000

    func line(product: String = "P1", device: String, ts: Int64, params: String) -> String {
        let payload = #"{"method":"report","timestamp":\#(ts),"params":{\#(params)}}"#
        return "{\"topic\":\(JSONWriter.quoted("$thing/up/property/\(product)/\(device)")),\"received_at\":\(ts + 20),"
            + "\"payload\":\(payload)}"
    }

    func seeded() -> String {
        directory.write("thinglog.json", #"{"names": "any", "sensors": {"MQ7": {"r0_ohms": 3000}}}"#)
        var lines: [String] = []
        for minute in 0..<120 {
            let ts = dayStart + Int64(minute) * 60_000
            lines.append(line(device: "flat", ts: ts, params: #""MQ7":1e17,"DHT11_T":1e17"#))
            let edge = minute % 2 == 0 ? "1.7e308" : "-1.7e308"
            lines.append(line(device: "edges", ts: ts, params: #""MQ7":\#(edge),"x":\#(edge),"y":5e-324"#))
            lines.append(line(product: "P1", device: "dev1", ts: ts, params: #""MQ7":\#(100 + minute)"#))
            lines.append(line(product: "P2", device: "dev1", ts: ts, params: #""MQ7":\#(900 - minute)"#))
            lines.append(line(device: "caf\u{E9}", ts: ts, params: #""MQ7":200"#))
            lines.append(line(device: "cafe\u{301}", ts: ts, params: #""MQ7":300"#))
        }
        // 40 reports of 200 fresh ids each: 8000 ids offered, 1024 series kept.
        for report in 0..<40 {
            let ids = (0..<200).map { "\"p\(report)_\($0)\":\($0)" }.joined(separator: ",")
            lines.append(line(device: "wide", ts: dayStart + Int64(report) * 60_000, params: ids))
        }
        let input = directory.write("hostile.jsonl", lines.joined(separator: "\n"))
        let db = directory.file("h.db")
        let ingest = runCLI(["ingest", input, "--db", db], in: directory.path)
        #expect(ingest.status == 0, "\(ingest.standardError)")
        #expect(ingest.standardError.contains("readings left out: series_limit 6976"), "\(ingest.standardError)")
        return db
    }

    /// Runs a command and checks it succeeds within `seconds`.
    func run(_ arguments: [String], db: String, seconds: Double = 60) -> CommandResult {
        let started = Date()
        let result = runCLI(arguments + ["--db", db], in: directory.path)
        #expect(result.status == 0, "\(arguments): \(result.standardError)")
        #expect(Date().timeIntervalSince(started) < seconds, "\(arguments) took too long")
        return result
    }

    @Test func everyStageFinishes() throws {
        let db = seeded()
        _ = run(["analyze"], db: db)
        _ = run(["report", "--date", "2025-11-26", "--out", "out"], db: db)
        let html = try String(contentsOfFile: directory.file("out/2025-11-26/report.html"), encoding: .utf8)
        for bad in [">nan<", ">-nan<", ">inf<", ">-inf<", "\"nan", "\"-nan", "\"inf", "\"-inf",
                    ",nan", "Lnan", "Mnan"] {
            let index = html.range(of: bad).map { html.distance(from: html.startIndex, to: $0.lowerBound) }
            #expect(index == nil, "\(bad) at \(index ?? 0): \(html.dropFirst(max(0, (index ?? 0) - 80)).prefix(160))")
        }
        let size = html.utf8.count
        #expect(size < 1_000_000, "report.html is \(size) bytes")
        #expect(html.contains("976 more series are not charted"))
        // Two products, two Unicode forms: four sections, never merged.
        for label in ["dev1 (P1)", "dev1 (P2)", "caf\u{E9} (P1)", "cafe\u{301} (P1)"] {
            #expect(html.contains(">\(htmlEscaped(label))</h2>"), "\(label)")
        }
        let readings = run(["export", "readings", "--device", "P2/dev1", "--format", "jsonl"], db: db)
        #expect(readings.standardOutput.split(separator: "\n").count == 120)
        #expect(readings.standardOutput.contains(#""value":900"#)
                && !readings.standardOutput.contains(#""value":100,"#))
        // Each of the two Unicode forms is written with its own bytes.
        let cafes = run(["export", "summary", "--metric", "MQ7"], db: db).standardOutput
        let rows = parseCSV(cafes).filter { $0.count > 1 && $0[1].hasPrefix("caf") }
        // Byte order: "cafe" + U+0301 sorts before "caf" + U+00E9 (0x65 < 0xC3).
        #expect(rows.map { Array($0[1].utf8) } == [Array("cafe\u{301}".utf8), Array("caf\u{E9}".utf8)])
        #expect(rows.map { $0[6] } == ["300", "200"], "each device's own mean")
        let ambiguous = runCLI(["export", "readings", "--device", "dev1", "--db", db], in: directory.path)
        #expect(ambiguous.status == 2 && ambiguous.standardError.contains("P1, P2"))
        _ = run(["export", "rolling", "--device", "edges", "--out", "rolling.csv"], db: db)
        let summary = run(["export", "summary", "--format", "json"], db: db)
        #expect(try JSONParser.parse(Array(summary.standardOutput.utf8))["rows"] != nil)
        _ = run(["export", "rolling", "--from", "-62135596800000", "--to", "253402300799999", "--out", "r.csv"], db: db)
        let extreme = runCLI(["export", "rolling", "--from", "-9223372036854775807", "--db", db], in: directory.path)
        #expect(extreme.status == 2 && extreme.standardError.contains("--from"))
        for name in ["latest", "daily-stats", "coverage"] {
            _ = run(["query", name, "--param", "from=2025-11-26", "--param", "to=2025-11-27", "--queries-dir",
                     QueryCommandTests.queriesDirectory].filter { name != "latest" || !$0.contains("=") }
                        .filter { name != "latest" || $0 != "--param" }, db: db)
        }
        let stats = run(["stats", "--json"], db: db)
        let json = try JSONParser.parse(Array(stats.standardOutput.utf8))
        #expect(json["devices"] == .number(7))
        #expect(json["dropped"] == .object([JSONMember(key: "series_limit", value: .number(6976))]))
    }
}
