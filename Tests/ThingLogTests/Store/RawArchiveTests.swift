import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest
@testable import ThingLogCLI

/// The compact raw archive (issue 13): payloads stored as shape and numbers still come back byte for byte through
/// `reports_v` and `export raw`, and the export re-ingests to the same store.
@Suite struct RawArchiveTests {
    let directory = TemporaryDirectory()

    /// Payloads a shape must carry exactly: numbers of every form, escapes, long digit runs, a device that never
    /// repeats a layout, another product, events, receive-timed and clock-skewed reports.
    func hostileLines() -> [String] {
        let topic = "$thing/up/property/P1/dev1"
        var payloads: [(String, String, Int64)] = [
            (topic, #"{"method":"report","clientToken":"007-1","timestamp":1764115200123,"params":{"MQ7":0.50}}"#, 0),
            (topic, #"{"method":"report","params":{"MQ7":-1.25e-3,"n":12345678901234567890123,"s":"a\u0000b"}}"#, 1),
            (topic, #"{"method":"report","timestamp":1764115201,"params":{"MQ7":0,"z":0.000,"MQ2":1E5,"t":true}}"#, 2),
            (topic, #"{"method":"report","timestamp":-99999999999999,"params":{"MQ7":3}}"#, 3),
            (topic, #"{ "method" : "report" , "params" : { "MQ7" : 4 } }"#, 4),
            ("$thing/up/event/P1/dev1", #"{"method":"event_post","eventId":"gas","type":"alert","params":{"p":9}}"#, 5),
            ("$thing/up/property/P2/dev1", #"{"method":"report","clientToken":"é🙂7","params":{"MQ7":5}}"#, 6),
            (topic, #"{"method":"report","clientToken":"0008-45","timestamp":1764115207999,"params":{"MQ7":10.07}}"#,
             7),
        ]
        // One device whose every report has a new layout: past 64 shapes its payloads stay raw.
        for index in 0..<80 {
            let payload = #"{"method":"report","params":{"k\#(index)x":\#(index),"MQ7":\#(index)}}"#
            payloads.append(("$thing/up/property/P1/chatty", payload, 10 + Int64(index)))
        }
        // Past the bound, a new layout sent again and again stays raw every time (the writer's last-layout cache
        // must remember where it went, not that it has a shape), and an early layout still has its shape.
        for index in 0..<3 {
            payloads.append(("$thing/up/property/P1/chatty", #"{"method":"report","params":{"late":\#(index)}}"#,
                             100 + Int64(index)))
        }
        payloads.append(("$thing/up/property/P1/chatty", #"{"method":"report","params":{"k0x":7,"MQ7":8}}"#, 103))
        return payloads.map { topic, payload, second in
            "{\"topic\":\(JSONWriter.quoted(topic)),\"received_at\":\(1_764_115_200_000 + second * 1000),"
                + "\"payload\":\(JSONWriter.quoted(payload))}"
        }
    }

    func payloads(of lines: [String]) throws -> [String] {
        try lines.map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(object["payload"] as? String)
        }
    }

    @Test func everyPayloadComesBackByteForByte() throws {
        let lines = hostileLines()
        let input = directory.write("in.jsonl", lines.joined(separator: "\n") + "\n")
        let db = directory.file("a.db")
        #expect(runCLI(["ingest", input, "--db", db], in: directory.path).status == 0)
        let database = try Database(path: db)
        let stored = try database.rows("SELECT payload FROM reports_v ORDER BY id").map { $0[0] }
        #expect(stored == (try payloads(of: lines)).map(SQLiteValue.text))
        // Most are numbers under a shared shape; the chatty device's 65th layout on are raw text.
        #expect(try database.integer("SELECT COUNT(*) FROM report_shapes s WHERE s.shape IS NOT NULL "
                                     + "AND s.device_id = (SELECT id FROM devices WHERE name = 'chatty')")
                == Int64(ReportShapes.maximumPerDevice))
        #expect(try database.integer("SELECT COUNT(*) FROM reports WHERE typeof(content) = 'text'") == 80 - 64 + 3)
        #expect(try database.integer("SELECT COUNT(*) FROM reports WHERE typeof(content) = 'blob'")
                == Int64(lines.count - 19))
        // The same layout with other numbers shares one shape row.
        #expect(try database.rows("SELECT shape_id FROM reports WHERE received_at IN (1764115200000, 1764115207000)")
                == [[.integer(1)], [.integer(1)]])
    }

    @Test func theExportReingestsToTheSameStore() throws {
        let lines = hostileLines()
            + ReportFixture(devices: 3, reportsPerDevice: 40, withTimestamp: false).jsonlLines()
        let input = directory.write("in.jsonl", lines.joined(separator: "\n") + "\n")
        let original = directory.file("a.db"), copy = directory.file("b.db")
        #expect(runCLI(["ingest", input, "--db", original], in: directory.path).status == 0)
        let export = runCLI(["export", "raw", "--db", original, "--out", directory.file("raw.jsonl")],
                            in: directory.path)
        #expect(export.status == 0, "\(export.standardError)")
        #expect(runCLI(["ingest", directory.file("raw.jsonl"), "--db", copy], in: directory.path).status == 0)
        for sql in ["SELECT * FROM reports_v ORDER BY id", "SELECT * FROM readings_v ORDER BY 1, 2, 3, 4",
                    "SELECT * FROM events_v ORDER BY 1, 2, 3, 4"] {
            let before = try Database(path: original).rows(sql), after = try Database(path: copy).rows(sql)
            #expect(!before.isEmpty && before == after, "\(sql)")
        }
        // --device and --from/--to (receive time) narrow it; --metric does not apply.
        let one = runCLI(["export", "raw", "--db", original, "--device", "P2/dev1"], in: directory.path)
        #expect(one.standardOutput.split(separator: "\n").count == 1 && one.standardOutput.contains("é🙂7"))
        let window = runCLI(["export", "raw", "--db", original, "--from", "1764115201000", "--to", "1764115203000",
                             "--format", "csv"], in: directory.path)
        #expect(window.standardOutput.split(separator: "\r\n").count == 3, "header and two reports")
        let wrong = runCLI(["export", "raw", "--db", original, "--metric", "MQ7"], in: directory.path)
        #expect(wrong.status == 2 && wrong.standardError.contains("--metric"))
    }

    /// The parser splits payloads and hands over only splits that give the payload back; a parse without a split
    /// (not made by `entry`) is split and checked by the writer. Either way the archive gives each payload back.
    @Test func everyArchivedSplitGivesThePayloadBack() throws {
        let path = directory.file("split.db")
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let payloads = [#"{"method":"report","params":{"MQ7":12}}"#, #"{"method":"report","params":{"MQ7":13}}"#]
        var entries: [StoreEntry] = []
        for (index, payload) in payloads.enumerated() {
            let message = IncomingMessage(topic: "$thing/up/property/P/d", payload: Array(payload.utf8),
                                          receivedAt: 1_764_115_200_000 + Int64(index) * 1000, origin: .recorded)
            guard case .accepted(let accepted) = ReportParser().entry(for: message) else {
                Issue.record("expected the report accepted")
                return
            }
            var parsed = accepted.parsed
            #expect(parsed.payloadShape?.payload(receivedAt: message.receivedAt) == message.payload,
                    "split by the parser, and the split gives the payload back")
            if index == 1 { parsed.payloadShape = nil }   // as from `parse` rather than `entry`
            entries.append(.accepted(accepted.message, parsed))
        }
        _ = try writer.append(entries)
        let database = try Database(path: path)
        #expect(try database.rows("SELECT payload FROM reports_v ORDER BY id").map { $0[0] }
                == payloads.map(SQLiteValue.text))
        #expect(try database.rows("SELECT typeof(content) FROM reports ORDER BY id")
                == [[.text("blob")], [.text("blob")]])
    }

    @Test func aDamagedRowIsAnErrorNotAWrongPayload() throws {
        // A report without a timestamp: only the archive can tell a second copy of it (SPEC §5).
        let input = directory.write("in.jsonl", hostileLines()[4] + "\n")
        let db = directory.file("a.db")
        #expect(runCLI(["ingest", input, "--db", db], in: directory.path).status == 0)
        let database = try Database(path: db)
        try database.execute("DROP TRIGGER reports_no_update; UPDATE reports SET content = x'0505'")
        #expect(throws: SQLiteError.self) { try database.rows("SELECT payload FROM reports_v") }
        let query = runCLI(["query", "--sql", "SELECT payload FROM reports_v", "--db", db], in: directory.path)
        #expect(query.status == 1 && query.standardError.contains("damaged"))
        // Ingesting the file again compares its message with the damaged row: the message is stored (it cannot be
        // told a duplicate), nothing stops.
        let again = runCLI(["ingest", input, "--db", db], in: directory.path)
        #expect(again.status == 0 && again.standardError.contains("1 reports"), "\(again.standardError)")
    }
}
