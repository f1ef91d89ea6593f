import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore

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

    /// The hostile inputs of issue 9, one line each, in every line format that can carry them: the ingest finishes,
    /// every line is accounted for, and one wrong clock does not drag a device's later reports with it.
    @Test func hostileLinesAreQuarantinedOrClockSkewedNeverFatal() throws {
        func line(_ payload: String, device: String = "d", receivedAt: String = "1764115213000") -> String {
            "{\"topic\":\"$thing/up/property/P/\(device)\",\"received_at\":\(receivedAt),\"payload\":\(payload)}"
        }
        let lines = [
            line(#"{"method":"report","timestamp":-9500000000000000,"params":{"MQ7":1}}"#),
            line(#"{"method":"report","timestamp":1.7e308,"params":{"MQ7":2}}"#, receivedAt: "1764115214000"),
            line(#"{"method":"report","timestamp":"soon","params":{"MQ7":3}}"#, receivedAt: "1764115215000"),
            line(#"{"method":"report","params":{"MQ7":4}}"#, receivedAt: "7890000000000"),   // the year 2220
            line(#"{"method":"report","params":{"MQ7":5}}"#, receivedAt: "-9.5e18"),
            line(#"{"method":"report","params":{"MQ7":6}}"#, receivedAt: "1e300"),
            line(#"{"method":"report","params":{"MQ7":7}}"#, receivedAt: "\"1999-12-31T23:59:59Z\""),
            line(#"{"method":"report","params":{"MQ7":8}}"#, receivedAt: "1764115216000"),
            line(#"{"method":"report","params":{"MQ7":9,"MQ7":10}}"#, receivedAt: "1764115217000"),
            line(#"{"method":"report","params":{"MQ7.CO":400,"MQ7":11}}"#, receivedAt: "1764115218000"),
            line(#"{"method":"report","params":{"MQ7":12}}"#, device: "=SUM(A1:A9)"),
        ]
        let input = directory.write("hostile.jsonl", lines.joined(separator: "\n"))
        let db = directory.file("h.db")
        let result = runCLI(["ingest", input, "--db", db], in: directory.path)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("5 reports, 5 readings, 0 duplicates, 6 rejected "
            + "(bad_received_at 4, bad_topic 1, duplicate_key 1); readings left out: bad_property 1"))
        let database = try Database(path: db)
        #expect(try database.rows("SELECT value, ts FROM readings_v ORDER BY ts") == [
            [.real(1), .integer(1_764_115_213_000)], [.real(2), .integer(1_764_115_214_000)],
            [.real(3), .integer(1_764_115_215_000)], [.real(8), .integer(1_764_115_216_000)],
            [.real(11), .integer(1_764_115_218_000)],
        ])
        #expect(try database.integer("SELECT COUNT(*) FROM reports_v WHERE clock_skew") == 3)
        #expect(try stats(db)["dropped"] == .object([JSONMember(key: "bad_property", value: .number(1))]))
        // Forward envelopes check their timestamp the same way.
        let envelopes = [
            #"{"seq":1,"timestamp":-9.3e15,"topic":"$thing/up/property/P/d","payload":"#
                + #"{"method":"report","params":{"a":1}}}"#,
            #"{"seq":2,"timestamp":1764115219,"topic":"$thing/up/property/P/d","payload":"#
                + #"{"method":"report","params":{"a":2}}}"#,
        ]
        let forward = runCLI(["ingest", "--format", "forward",
                              directory.write("f.jsonl", envelopes.joined(separator: "\n")),
                              "--db", db], in: directory.path)
        #expect(forward.status == 0 && forward.standardError.contains("1 reports, 1 readings, 0 duplicates, 1 rejected "
                                                                        + "(bad_received_at 1)"))
    }
}
