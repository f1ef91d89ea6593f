import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest
@testable import ThingLogAnalysis

@Suite struct StoreTests {
    let directory = TemporaryDirectory()
    var path: String { directory.file("store.db") }

    func entry(_ payload: String, device: String = "dev1", product: String = "P1", receivedAt: Int64,
               origin: IncomingMessage.Origin = .live, packetID: UInt16? = nil, isRedelivery: Bool = false,
               parser: ReportParser = ReportParser()) -> StoreEntry {
        let message = IncomingMessage(topic: "$thing/up/property/\(product)/\(device)", payload: Array(payload.utf8),
                                      receivedAt: receivedAt, packetID: packetID, isRedelivery: isRedelivery,
                                      origin: origin)
        switch parser.parse(message) {
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

    /// Version 5 rebuilds `devices` with the (product, name) key: no raw row is lost or rewritten, calibrations find
    /// their device, and the views carry `product`. Version 6 adds rollups, built whole by the next analyze. Version 7
    /// stores payloads as shape and numbers: every report reads back the same through `reports_v`, byte for byte,
    /// and one whose shape cannot hold it (a raw control byte) stays raw. Version 8 clusters readings by device:
    /// every reading comes through, now under its device's id.
    @Test func olderStoresMigrateWithoutTouchingRawRows() throws {
        let old = try Database(path: path)
        for version in 0..<4 { try old.execute(Schema.migrations[version]) }
        try old.execute("PRAGMA user_version=4")
        try old.execute("""
            INSERT INTO devices(id, name, product, last_receive_ts) \
            VALUES (1, 'dev1', 'P1', 5000), (2, 'dev2', 'P2', NULL);
            INSERT INTO series(id, device_id, metric) VALUES (1, 1, 'MQ7'), (2, 2, 'MQ7');
            INSERT INTO topics(id, topic) VALUES (1, '$thing/up/property/P1/dev1'), (2, '$thing/up/property/P2/dev2');
            INSERT INTO reports(device_id, topic_id, method_id, received_at, ts_offset, packet_id, flags, payload)
                VALUES (1, 1, 1, 5000, 0, NULL, 16, '{"method":"report","params":{"MQ7":1}}'),
                       (2, 2, 1, 6000, -10, 7, 0, '{"method":"report","timestamp":5990,"params":{"MQ7":2}}'),
                       (2, 2, 1, 7000, 0, NULL, 48, '{"method":"report-1","s":"' || char(1) || '007"}');
            INSERT INTO readings(series_id, ts, value) VALUES (1, 5000, 1), (2, 5990, 2);
            INSERT INTO calibrations(device, sensor, r0_ohms, effective_from, window_from, samples, rs_stddev_ohms,
                                     compensated, created_at) VALUES ('dev2', 'MQ7', 3000, 6000, 0, 5, 1.5, 0, 1);
            """)
        // Versions 5 and 6 leave raw rows alone; 6 drops saved analysis states, so the next analyze rolls up all.
        try old.execute(Schema.migrations[4])
        try old.execute("""
            PRAGMA user_version=5;
            INSERT INTO analysis_devices(device_id, through_ts, through_report, calibrations_through, state)
                VALUES (1, 5000, 2, 0, x'00');
            """)
        func raw(_ database: Database) throws -> [[SQLiteValue]] {
            try database.rows("SELECT * FROM reports_v ORDER BY id")
                + database.rows("SELECT series_id, ts, value FROM readings ORDER BY 1, 2")
        }
        let before = try raw(old)
        let database = try StoreConnection.openForWriting(path: path)
        #expect(try database.integer("PRAGMA user_version") == Int64(Schema.currentVersion))
        #expect(try raw(database) == before)
        #expect(try database.rows("SELECT typeof(content) FROM reports ORDER BY id").map { $0[0] }
                == [.text("blob"), .text("blob"), .text("text")])
        #expect(try database.rows("SELECT device_id, ts, series_id FROM readings")
                == [[.integer(1), .integer(5000), .integer(1)], [.integer(2), .integer(5990), .integer(2)]])
        #expect(try database.integer("SELECT COUNT(*) FROM analysis_devices") == 0)
        #expect(try database.rows("SELECT product, device, metric, ts, value FROM readings_v ORDER BY ts")
                == [[.text("P1"), .text("dev1"), .text("MQ7"), .integer(5000), .real(1)],
                    [.text("P2"), .text("dev2"), .text("MQ7"), .integer(5990), .real(2)]])
        #expect(try database.rows("SELECT device_id, device FROM calibrations") == [[.integer(2), .text("dev2")]])
        // The same name in another product is now another device, and append-only still holds.
        let writer = try StoreWriter(database: database)
        let summary = try writer.append([entry(#"{"method":"report","timestamp":5990,"params":{"MQ7":3}}"#,
                                               device: "dev2", product: "P1", receivedAt: 6000)])
        #expect(summary.readings == 1)
        #expect(try database.integer("SELECT COUNT(*) FROM devices") == 3)
        #expect(throws: SQLiteError.self) { try database.execute("DELETE FROM readings") }
        #expect(try database.scalar("PRAGMA integrity_check") == .text("ok"))
        let configuration = try ConfigurationLoader.load(path: nil, currentDirectory: directory.path)
        _ = try Analyzer(path: path, configuration: configuration).run()
        #expect(try database.rows("SELECT series_key, slot, count FROM rollup_1h WHERE series_key > 0 ORDER BY 1")
                == [[.integer(1), .integer(0), .integer(1)], [.integer(2), .integer(0), .integer(1)],
                    [.integer(3), .integer(0), .integer(1)]])
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
            "UPDATE frames SET v0 = 2", "DELETE FROM frames", "UPDATE layout_series SET series_id = 9",
            "DELETE FROM layout_series", "DELETE FROM layouts", "UPDATE reports SET content = 'x'",
            "UPDATE report_shapes SET shape = NULL", "DELETE FROM report_shapes",
            "DELETE FROM reports", "DELETE FROM rejects", "UPDATE rejects SET reason = 'x'", "DELETE FROM events",
            "UPDATE events SET ts = 0",
        ]
        for sql in statements {
            do {
                try other.execute(sql)
                Issue.record("\(sql) succeeded")
            } catch let error as SQLiteError {
                #expect(error.extendedCode == SQLiteError.ExtendedCode.constraintTrigger,
                        "SQLITE_CONSTRAINT_TRIGGER for \(sql)")
            }
        }
        // `readings` is a view of the frames: it takes no writes at all.
        for sql in ["UPDATE readings SET value = 2", "DELETE FROM readings", "INSERT INTO readings VALUES (1, 1, 1, 1)"] {
            #expect(throws: SQLiteError.self, "\(sql)") { try other.execute(sql) }
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

    @Test func receiveTimedReportsTakeTheNextFreeMillisecond() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let seed = #"{"method":"report","clientToken":"123","params":{"MQ2":100}}"#
        let summary = try writer.append([
            entry(seed, receivedAt: 5_000), entry(seed, receivedAt: 5_000), entry(seed, receivedAt: 4_999),
            entry(seed, device: "dev2", receivedAt: 5_000), entry(seed, receivedAt: 9_000),
            entry(seed, receivedAt: 5_000),
        ])
        #expect(summary.reports == 6 && summary.readings == 6 && summary.duplicateReadings == 0)
        let times = try writer.database.rows("SELECT device, ts FROM readings_v ORDER BY device, ts")
        // SPEC §5: the receive time, else the next free millisecond; an earlier receive time is not dragged forward.
        #expect(times == [[.text("dev1"), .integer(4_999)], [.text("dev1"), .integer(5_000)],
                          [.text("dev1"), .integer(5_001)], [.text("dev1"), .integer(5_002)],
                          [.text("dev1"), .integer(9_000)], [.text("dev2"), .integer(5_000)]])
        // Taken milliseconds are known after a restart of the writer.
        let reopened = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        try reopened.append([entry(seed, receivedAt: 8_000), entry(seed, receivedAt: 9_000)])
        #expect(try reopened.database.rows("SELECT ts FROM readings_v WHERE device = 'dev1' AND ts >= 8000")
                == [[.integer(8_000)], [.integer(9_000)], [.integer(9_001)]])
    }

    @Test func aThousandReportsInOneMillisecondFillTheSecondThenAreTooFast() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let seed = #"{"method":"report","params":{"MQ2":1}}"#
        let summary = try writer.append((0..<1_001).map { _ in entry(seed, receivedAt: 50_000) })
        #expect(summary.reports == 1_000 && summary.rejects == [.tooFast: 1])
        #expect(try writer.database.integer("SELECT MAX(ts) - MIN(ts) FROM readings") == 999)
    }

    @Test func aDeviceIsItsProductAndNameComparedAsBytes() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let report = #"{"method":"report","timestamp":1764115213000,"params":{"a":1}}"#
        let any = ReportParser(names: .any)
        try writer.append([
            entry(report, device: "dev1", product: "P1", receivedAt: 1_764_115_213_050),
            entry(report, device: "dev1", product: "P2", receivedAt: 1_764_115_213_050),
            entry(report, device: "caf\u{E9}", product: "P1", receivedAt: 1_764_115_213_050, parser: any),
            entry(report, device: "cafe\u{301}", product: "P1", receivedAt: 1_764_115_213_050, parser: any),
        ])
        let rows = try writer.database.rows("SELECT product, hex(device), value FROM readings_v ORDER BY 1, 2")
        #expect(rows.count == 4, "four devices, four readings: none merged, none a duplicate")
        #expect(try writer.database.integer("SELECT COUNT(*) FROM devices") == 4)
        // Each topic is stored as it came.
        let topics = try writer.database.rows("SELECT hex(topic) FROM reports_v WHERE device LIKE 'caf%' ORDER BY id")
        #expect(topics == [[.text(hex("$thing/up/property/P1/caf\u{E9}"))],
                           [.text(hex("$thing/up/property/P1/cafe\u{301}"))]])
    }

    private func hex(_ text: String) -> String { text.utf8.map { String(format: "%02X", $0) }.joined() }

    @Test func limitsLeaveReadingsOutButKeepTheReport() throws {
        let limits = IngestLimits(propertiesPerReport: 8, seriesPerDevice: 3, devices: 2)
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path), limits: limits)
        let parser = ReportParser(limits: limits)
        func report(_ keys: [String], _ ts: Int64) -> String {
            #"{"method":"report","timestamp":\#(ts),"params":{"# + keys.map { "\"\($0)\":1" }.joined(separator: ",")
                + "}}"
        }
        let summary = try writer.append([
            entry(report(["a", "b"], 1_764_115_213_000), receivedAt: 1_764_115_213_050, parser: parser),
            entry(report(["c", "d", "e"], 1_764_115_214_000), receivedAt: 1_764_115_214_050, parser: parser),
            entry(report(["a"], 1_764_115_213_000), device: "dev2", receivedAt: 1_764_115_213_050, parser: parser),
            entry(report(["a"], 1_764_115_213_000), device: "dev3", receivedAt: 1_764_115_213_050, parser: parser),
            entry(report(["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"], 1_764_115_215_000),
                  receivedAt: 1_764_115_215_050, parser: parser),
            entry(report(["a", "9bad"], 1_764_115_216_000), receivedAt: 1_764_115_216_050, parser: parser),
        ])
        #expect(summary.dropped == [.seriesLimit: 2, .deviceLimit: 1, .badProperty: 1])
        #expect(summary.rejects == [.tooManyProperties: 1])
        #expect(summary.reports == 5, "reports whose readings were left out stay in the raw archive")
        #expect(try writer.database.integer("SELECT COUNT(*) FROM series") == 4)
        let stats = try StoreStatistics.read(from: writer.database)
        #expect(stats.dropped == ["series_limit": 2, "device_limit": 1, "bad_property": 1])
        // The same record again, its readings still left out: a duplicate, not a second raw report.
        let left = entry(report(["a"], 1_764_115_213_000), device: "dev3", receivedAt: 1_764_115_213_050,
                         origin: .recorded, parser: parser)
        _ = try writer.append([left])
        let twice = try writer.append([left])
        #expect(twice.reports == 0 && twice.duplicateReports == 1)
        // The same layout again from the device past the device limit: still counted as device_limit.
        let again3 = try writer.append([entry(report(["a"], 1_764_115_219_000), device: "dev3",
                                              receivedAt: 1_764_115_219_050, parser: parser)])
        #expect(again3.dropped == [.deviceLimit: 1])
        // A raised limit and a re-ingest of the same records recover what was left out.
        let raised = try StoreWriter(database: writer.database, limits: .default)
        let again = try raised.append([
            entry(report(["c", "d", "e"], 1_764_115_214_000), receivedAt: 1_764_115_214_050, origin: .recorded),
        ])
        #expect(again.readings == 2)
    }

    @Test func aMessageTheStoreRefusesIsQuarantinedAndTheBatchGoesOn() throws {
        let database = try StoreConnection.openForWriting(path: path)
        // A constraint of the store's own that one message breaks (as a corrupt or hostile message might).
        try database.execute("""
            CREATE TRIGGER poison BEFORE INSERT ON reports WHEN thinglog_payload(
                (SELECT shape FROM report_shapes WHERE id = NEW.shape_id), NEW.content, NEW.received_at
            ) LIKE '%poison%'
            BEGIN SELECT RAISE(ABORT, 'refused'); END
            """)
        let writer = try StoreWriter(database: database)
        let summary = try writer.append([
            entry(#"{"method":"report","params":{"a":1}}"#, receivedAt: 1_000),
            entry(#"{"method":"report","params":{"a":2,"poison":1}}"#, device: "dev2", receivedAt: 2_000),
            entry(#"{"method":"report","params":{"a":3}}"#, receivedAt: 3_000),
        ])
        #expect(summary.reports == 2 && summary.readings == 2 && summary.rejects == [.unstorable: 1])
        #expect(try database.integer("SELECT COUNT(*) FROM readings") == 2, "nothing of the refused one is left")
        #expect(try database.rows("SELECT reason, topic FROM rejects")
                == [[.text("unstorable"), .text("$thing/up/property/P1/dev2")]])
        let next = try writer.append([entry(#"{"method":"report","params":{"a":4,"b":5}}"#, device: "dev2",
                                            receivedAt: 4_000)])
        #expect(next.readings == 2, "the writer's caches recovered")
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
                                     receivedAt: Int64(index) * 1000, parser: ReportParser(names: .any))])
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
                                            "dropped", "first_ts", "last_ts", "db_bytes", "bytes_per_reading"])
        #expect(json["first_ts"] == .string("2025-11-26T00:00:13.000Z"))
    }
}
