import Foundation
import Testing
@testable import ThingLog

@Suite struct StoreTests {
    let directory = TemporaryDirectory()
    var path: String { directory.file("store.db") }

    func entry(_ payload: String, device: String = "dev1", receivedAt: Int64, origin: IncomingMessage.Origin = .live,
               packetID: UInt16? = nil, isRedelivery: Bool = false) -> StoreEntry {
        let message = IncomingMessage(topic: "$thing/up/property/P1/\(device)", payload: Array(payload.utf8),
                                      receivedAt: receivedAt, packetID: packetID, isRedelivery: isRedelivery,
                                      origin: origin)
        switch ReportParser().parse(message) {
        case .accepted(let parsed): return .accepted(message, parsed)
        case .rejected(let rejection): return .rejected(rejection)
        }
    }

    func readings(_ database: Database) throws -> [[SQLiteValue]] {
        try database.rows("SELECT device, metric, ts, value FROM readings_v ORDER BY device, metric, ts")
    }

    @Test func newStoreIsMigratedAndWAL() throws {
        let database = try StoreConnection.openForWriting(path: path)
        #expect(try database.integer("PRAGMA user_version") == Int64(Schema.currentVersion))
        #expect(try database.scalar("PRAGMA journal_mode")?.stringValue == "wal")
        for view in ["readings_v", "reports_v", "events_v", "rejects_v"] {
            #expect(try database.integer("SELECT COUNT(*) FROM sqlite_schema WHERE type='view' AND name='\(view)'")
                    == 1)
        }
        // Reopening does not migrate again.
        let again = try StoreConnection.openForWriting(path: path)
        #expect(try again.integer("PRAGMA user_version") == Int64(Schema.currentVersion))
    }

    @Test func newerSchemaIsRefused() throws {
        let database = try Database(path: path)
        try database.execute("PRAGMA user_version=99")
        #expect(throws: SQLiteError.self) { try StoreConnection.openForWriting(path: path) }
    }

    @Test func rawHistoryIsAppendOnlyFromAnyConnection() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        try writer.append([entry(#"{"method":"report","params":{"a":1}}"#, receivedAt: 1_000),
                           entry("not json", receivedAt: 2_000),
                           entry(#"{"method":"event_post","eventId":"e","params":{}}"#, receivedAt: 3_000)])
        // A plain connection, as the sqlite3 shell or another program would open it.
        let other = try Database(path: path)
        let statements = [
            "UPDATE readings SET value = 2", "DELETE FROM readings", "UPDATE reports SET payload = 'x'",
            "DELETE FROM reports", "DELETE FROM rejects", "UPDATE rejects SET reason = 'x'", "DELETE FROM events",
            "UPDATE events SET ts = 0",
        ]
        for sql in statements {
            do {
                try other.execute(sql)
                Issue.record("\(sql) succeeded")
            } catch let error as SQLiteError {
                #expect(error.extendedCode == 1811, "SQLITE_CONSTRAINT_TRIGGER for \(sql)")
            }
        }
        #expect(try other.integer("SELECT COUNT(*) FROM readings") == 1)
        #expect(try other.integer("SELECT COUNT(*) FROM reports") == 2)
        #expect(try other.integer("SELECT COUNT(*) FROM rejects") == 1)
        #expect(try other.integer("SELECT COUNT(*) FROM events") == 1)
    }

    @Test func readingsAreIdempotentOnDeviceMetricAndTime() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let report = #"{"method":"report","timestamp":1764115213000,"params":{"a":1,"b":2}}"#
        let changed = #"{"method":"report","timestamp":1764115213000,"params":{"a":5,"c":3}}"#
        let first = try writer.append([entry(report, receivedAt: 1_764_115_213_050)])
        #expect(first.readings == 2 && first.reports == 1)
        // Live, without DUP: a distinct report is archived, its readings already stored are duplicates.
        let second = try writer.append([entry(changed, receivedAt: 1_764_115_213_070)])
        #expect(second.readings == 1 && second.duplicateReadings == 1 && second.reports == 1)
        let values = try readings(writer.database).map { $0[3] }
        #expect(values == [.real(1), .real(2), .real(3)], "the first value stays")
        #expect(try StoreStatistics.read(from: writer.database).duplicates == 1)
    }

    @Test func receiveTimesAreMadeStrictlyIncreasingPerDevice() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let seed = #"{"method":"report","clientToken":"123","params":{"MQ2":100}}"#
        let summary = try writer.append([
            entry(seed, receivedAt: 5_000), entry(seed, receivedAt: 5_000), entry(seed, receivedAt: 4_999),
            entry(seed, device: "dev2", receivedAt: 5_000), entry(seed, receivedAt: 9_000),
        ])
        #expect(summary.reports == 5 && summary.readings == 5 && summary.duplicateReadings == 0)
        let times = try writer.database.rows("SELECT device, ts FROM readings_v ORDER BY device, ts")
        #expect(times == [[.text("dev1"), .integer(5_000)], [.text("dev1"), .integer(5_001)],
                          [.text("dev1"), .integer(5_002)], [.text("dev1"), .integer(9_000)],
                          [.text("dev2"), .integer(5_000)]])
        // The clock survives a restart of the writer.
        let reopened = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        try reopened.append([entry(seed, receivedAt: 8_000)])
        #expect(try reopened.database.integer("SELECT MAX(ts) FROM readings_v WHERE device = 'dev1'") == 9_001)
    }

    @Test func redeliveryIsRecognisedByPacketIDDeviceAndPayload() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let seed = #"{"method":"report","clientToken":"123","params":{"MQ2":100,"MQ7":50}}"#
        let other = #"{"method":"report","clientToken":"123","params":{"MQ2":101,"MQ7":50}}"#
        try writer.append([entry(seed, receivedAt: 10_000, packetID: 7)])
        let redelivered = try writer.append([
            entry(seed, receivedAt: 10_500, packetID: 7, isRedelivery: true),          // same: duplicate
            entry(seed, receivedAt: 10_600, packetID: 8, isRedelivery: true),          // other packet id: new
            entry(other, receivedAt: 10_700, packetID: 7, isRedelivery: true),         // other payload: new
            entry(seed, device: "dev2", receivedAt: 10_800, packetID: 7, isRedelivery: true), // other device: new
            entry(seed, receivedAt: 10_000 + 11 * 60_000, packetID: 7, isRedelivery: true), // too late: new
            entry(seed, receivedAt: 10_900, packetID: 7),                              // no DUP flag: new
        ])
        #expect(redelivered.duplicateReports == 1 && redelivered.duplicateReadings == 2)
        #expect(redelivered.reports == 5 && redelivered.readings == 10)
    }

    @Test func deviceTimedRedeliveryIsRecognisedByItsReadings() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let report = #"{"method":"report","timestamp":1764115213000,"params":{"a":1}}"#
        try writer.append([entry(report, receivedAt: 1_764_115_213_050, packetID: 3)])
        let again = try writer.append([entry(report, receivedAt: 1_764_115_213_900, packetID: 3, isRedelivery: true)])
        #expect(again.duplicateReports == 1 && again.reports == 0 && again.duplicateReadings == 1)
        let repeated = try writer.append([entry(report, receivedAt: 1_764_115_214_000, packetID: 4)])
        #expect(repeated.reports == 1 && repeated.duplicateReadings == 1, "a device may repeat itself")
    }

    @Test func recordedMessagesIngestedTwiceAreNotDoubled() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let batch = [
            entry(#"{"method":"report","params":{"a":1}}"#, receivedAt: 1_000, origin: .recorded),
            entry(#"{"method":"report","params":{"a":1}}"#, device: "dev2", receivedAt: 1_000, origin: .recorded),
            entry(#"{"method":"report","timestamp":1000,"params":{"a":2}}"#, receivedAt: 1_100_000, origin: .recorded),
            entry(#"{"method":"report_info","params":{"fw_ver":"1"}}"#, receivedAt: 3_000, origin: .recorded),
            entry(#"{"method":"event_post","eventId":"e","timestamp":1764115213000,"params":{}}"#,
                  receivedAt: 1_764_115_213_100, origin: .recorded),
        ]
        let first = try writer.append(batch)
        #expect(first.reports == 5 && first.readings == 3)
        let second = try writer.append(batch)
        #expect(second.reports == 0 && second.readings == 0 && second.duplicateReports == 5)
        #expect(try writer.database.integer("SELECT COUNT(*) FROM reports") == 5)
        #expect(try writer.database.integer("SELECT COUNT(*) FROM events") == 1)
    }

    @Test func rejectsAreQuarantinedWithReasonAndBytes() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let big = "{\"pad\":\"" + String(repeating: "z", count: 300 * 1024) + "\"}"
        let summary = try writer.append([entry("{oops", receivedAt: 1), entry(big, receivedAt: 2)])
        #expect(summary.rejects == [.notJSON: 1, .tooLarge: 1])
        let rows = try writer.database.rows("SELECT reason, size, length(bytes), topic FROM rejects ORDER BY id")
        #expect(rows[0] == [.text("not_json"), .integer(5), .integer(5), .text("$thing/up/property/P1/dev1")])
        #expect(rows[1][1] == .integer(Int64(big.utf8.count)))
        #expect(rows[1][2] == .integer(65_536))
    }

    @Test func failedBatchStoresNothingAndTheWriterRecovers() throws {
        let database = try StoreConnection.openForWriting(path: path)
        let writer = try StoreWriter(database: database)
        try writer.append([entry(#"{"method":"report","params":{"a":1}}"#, receivedAt: 1_000)])
        try writer.begin()
        try writer.write(entry(#"{"method":"report","params":{"a":2,"new":3}}"#, device: "devX", receivedAt: 2_000))
        writer.rollback()
        #expect(try database.integer("SELECT COUNT(*) FROM readings") == 1)
        #expect(try database.integer("SELECT COUNT(*) FROM devices") == 1)
        let after = try writer.append([entry(#"{"method":"report","params":{"a":2,"new":3}}"#, device: "devX",
                                             receivedAt: 2_000)])
        #expect(after.readings == 2)
        #expect(try database.integer("SELECT COUNT(*) FROM series") == 3)
    }

    @Test func hostileDeviceNamesAreStoredAsData() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let names = ["x'); DROP TABLE readings; --", "<img src=x onerror=alert(1)>", "dev\"1,2\n"]
        for (index, name) in names.enumerated() {
            try writer.append([entry(#"{"method":"report","params":{"a":1}}"#, device: name,
                                     receivedAt: Int64(index) * 1000)])
        }
        let stored = try writer.database.rows("SELECT device FROM readings_v ORDER BY ts")
            .compactMap { $0[0].stringValue }
        // The newline makes the last one an invalid topic level: it is rejected, not stored.
        #expect(stored == Array(names.prefix(2)))
        #expect(try writer.database.integer("SELECT COUNT(*) FROM rejects WHERE reason = 'bad_topic'") == 1)
    }

    @Test func statisticsMatchTheStore() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        try writer.append([
            entry(#"{"method":"report","timestamp":1764115213000,"params":{"a":1,"b":2}}"#,
                  receivedAt: 1_764_115_213_050),
            entry(#"{"method":"report","timestamp":1764115214000,"params":{"a":1}}"#, device: "d2",
                  receivedAt: 1_764_115_214_050),
            entry("nope", receivedAt: 1), entry("[]", receivedAt: 2), entry("[1]", receivedAt: 3),
        ])
        let stats = try StoreStatistics.read(from: writer.database)
        #expect(stats.devices == 2 && stats.metrics == 2 && stats.reports == 2 && stats.readings == 3)
        #expect(stats.rejects == ["not_json": 1, "not_object": 2])
        #expect(stats.firstTS == 1_764_115_213_000 && stats.lastTS == 1_764_115_214_000)
        let json = try JSONParser.parse(Array(stats.json.utf8))
        #expect(json.members?.map(\.key) == ["devices", "metrics", "reports", "readings", "duplicates", "rejects",
                                            "first_ts", "last_ts", "db_bytes", "bytes_per_reading"])
        #expect(json["first_ts"] == .string("2025-11-26T00:00:13.000Z"))
    }
}
