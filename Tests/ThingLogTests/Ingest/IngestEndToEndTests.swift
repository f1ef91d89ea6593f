import Foundation
import Testing
@testable import ThingLog

@Suite struct IngestEndToEndTests {
    let directory = TemporaryDirectory()
    let fixture = ReportFixture(devices: 4, reportsPerDevice: 60)

    /// Every (device, metric, ts, value) the fixture should store, computed from the fixture alone.
    func expectedReadings(timestamped: Bool = true) -> Set<String> {
        Set(fixture.reports.flatMap { report in
            report.values.map { value in
                let ts = timestamped ? report.receivedAt - 40 : report.receivedAt
                return "\(report.device)|\(value.0)|\(ts)|\(Double(value.1))"
            }
        })
    }

    func storedReadings(_ path: String) throws -> Set<String> {
        let database = try Database(path: path)
        return Set(try database.rows("SELECT device, metric, ts, value FROM readings_v").map { row in
            let (device, metric) = (row[0].stringValue ?? "", row[1].stringValue ?? "")
            return "\(device)|\(metric)|\(row[2].int64Value ?? 0)|\(row[3].doubleValue ?? 0)"
        })
    }

    func stats(_ db: String) throws -> JSONValue {
        let result = runCLI(["stats", "--json", "--db", db], in: directory.path)
        #expect(result.status == 0)
        return try JSONParser.parse(Array(result.standardOutput.utf8))
    }

    @Test func jsonlWithStringAndObjectPayloadsAndISOTimes() throws {
        var lines = fixture.jsonlLines()
        // Rewrite a third of the lines with the payload as an object and received_at as an ISO string.
        for index in stride(from: 0, to: lines.count, by: 3) {
            let report = fixture.reports[index]
            lines[index] = "{\"topic\":\(JSONWriter.quoted(report.topic)),\"payload\":\(report.payload),"
                + "\"received_at\":\"\(Timestamp.iso8601(report.receivedAt))\"}"
        }
        lines.insert("", at: 5)
        lines.append("   ")
        let input = directory.write("in.jsonl", lines.joined(separator: "\n") + "\n")
        let db = directory.file("a.db")
        let result = runCLI(["ingest", input, "--db", db], in: directory.path)
        #expect(result.status == 0)
        #expect(result.standardError.hasPrefix("ingest: 240 reports, 1440 readings, 0 duplicates, 0 rejected in "))
        #expect(try storedReadings(db) == expectedReadings())
        let raw = try Database(path: db).rows("SELECT payload FROM reports_v ORDER BY id LIMIT 2")
        #expect(raw[0][0] == .text(fixture.reports[0].payload), "object payloads keep their original bytes")
        #expect(raw[1][0] == .text(fixture.reports[1].payload))
    }

    @Test func mosquittoFormatFromStandardInput() throws {
        let lines = fixture.reports.map { "\($0.topic) \($0.payload)" } + ["$thing/up/property/P/devX not json"]
        let input = directory.write("sub.txt", lines.joined(separator: "\n"))
        let db = directory.file("m.db")
        // Receive time is the clock here: pin it a day after the fixture so its device timestamps are plausible.
        let result = runCLI(["ingest", "--format", "mosquitto", "-", "--db", db], in: directory.path,
                            standardInput: input, clock: { 1_764_201_600_000 })
        #expect(result.status == 0)
        #expect(result.standardError.hasPrefix(
            "ingest: 240 reports, 1440 readings, 0 duplicates, 1 rejected (not_json 1)"))
        #expect(try storedReadings(db) == expectedReadings())
    }

    @Test func payloadFormatUsesTheTopicFlagAndTheClock() throws {
        let seed = ReportFixture(devices: 1, reportsPerDevice: 30, withTimestamp: false)
        let input = directory.write("payloads.txt", seed.reports.map(\.payload).joined(separator: "\n"))
        let db = directory.file("p.db")
        // A frozen clock: every line arrives in the same millisecond, so times come from the per-device sequence.
        let result = runCLI(["ingest", "--format", "payload", "--topic", "$thing/up/property/P/kitchen", input,
                             "--db", db], in: directory.path, clock: { 1_800_000_000_000 })
        #expect(result.status == 0)
        #expect(result.standardError.hasPrefix("ingest: 30 reports, 180 readings, 0 duplicates, 0 rejected"))
        let times = try Database(path: db).rows("SELECT DISTINCT ts FROM readings_v ORDER BY ts")
            .compactMap { $0[0].int64Value }
        #expect(times == (0..<30).map { 1_800_000_000_000 + $0 })
    }

    @Test func forwardFormatTakesTopicAndSecondsFromTheEnvelope() throws {
        let lines = fixture.reports.map { report in
            "{\"payload\":\(report.payload),\"seq\":1,\"timestamp\":\(report.receivedAt / 1000),"
                + "\"topic\":\(JSONWriter.quoted(report.topic)),\"devicename\":\"\(report.device)\","
                + "\"productid\":\"CS0SLTKSYA\"}"
        }
        let input = directory.write("fwd.jsonl", lines.joined(separator: "\n"))
        let db = directory.file("f.db")
        let result = runCLI(["ingest", "--format", "forward", input, "--db", db], in: directory.path)
        #expect(result.status == 0)
        #expect(result.standardError.hasPrefix("ingest: 240 reports, 1440 readings, 0 duplicates, 0 rejected"))
        #expect(try storedReadings(db) == expectedReadings())
        let received = try Database(path: db).integer("SELECT MIN(received_at) FROM reports")
        #expect(received == fixture.reports.map { $0.receivedAt / 1000 * 1000 }.min())
    }

    @Test func badLinesAreQuarantinedAndTheRestIsStored() throws {
        var lines = fixture.jsonlLines()
        let bad: [String] = [
            #"{"topic":"$thing/up/property/P/d","payload":"{\"method\":\"report\",\"params\":\"oops\"}"}"#,
            #"{"topic":"$thing/up/property/P/d","payload":"{\"method\":\"report\",\"params\":{\"MQ2\":1e309}}"}"#,
            "{\"topic\":\"$thing/up/property/P/d\",\"payload\":\"\"}",
            "{\"topic\":\"elsewhere\",\"payload\":\"{}\"}",
            "not a record at all",
            "{\"payload\":\"{}\"}",
            "{\"topic\":\"$thing/up/property/P/d\",\"payload\":\"{}\",\"received_at\":\"yesterday\"}",
            String(repeating: "[", count: 1_000_000),
        ]
        for (offset, line) in bad.enumerated() { lines.insert(line, at: offset * 20) }
        var bytes = Array(lines.joined(separator: "\n").utf8)
        bytes += Array("\n{\"topic\":\"$thing/up/property/P/d\",\"payload\":\"".utf8) + [0xFF, 0xFE]
            + Array("\"}\n".utf8)
        let input = directory.write("bad.jsonl", bytes: bytes)
        let db = directory.file("b.db")
        let result = runCLI(["ingest", input, "--db", db], in: directory.path)
        #expect(result.status == 0)
        // The line of a million `[` is not a jsonl record: bad_record, not a crash.
        #expect(result.standardError.contains("240 reports, 1440 readings, 0 duplicates, 9 rejected "
            + "(bad_record 4, bad_topic 1, invalid_utf8 1, no_params 1, non_finite_number 1, not_json 1)"))
        #expect(try stats(db)["rejects"] == .object([
            JSONMember(key: "bad_record", value: .number(4)), JSONMember(key: "bad_topic", value: .number(1)),
            JSONMember(key: "invalid_utf8", value: .number(1)), JSONMember(key: "no_params", value: .number(1)),
            JSONMember(key: "non_finite_number", value: .number(1)), JSONMember(key: "not_json", value: .number(1)),
        ]))
        #expect(try storedReadings(db) == expectedReadings())
    }

    @Test func reingestingTheSameFileChangesNothing() throws {
        let seedStyle = ReportFixture(devices: 3, reportsPerDevice: 40, withTimestamp: false)
        let input = directory.write("seed.jsonl",
                                    (fixture.jsonlLines() + seedStyle.jsonlLines()).joined(separator: "\n"))
        let db = directory.file("r.db")
        #expect(runCLI(["ingest", input, "--db", db], in: directory.path).status == 0)
        let before = try stats(db)
        let again = runCLI(["ingest", input, "--db", db], in: directory.path)
        #expect(again.standardError.hasPrefix("ingest: 0 reports, 0 readings, 2160 duplicates (360 whole reports)"))
        let after = try stats(db)
        #expect(before["reports"] == .number(360) && after["reports"] == .number(360))
        #expect(after["readings"] == before["readings"])
        #expect(after["duplicates"] == .number(2160))
    }
}
