import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

/// Report rows and frames are inserted several at a time (`ReportRows`, `FrameRows`): within one batch, what reads
/// `reports` or `frames` still sees every earlier message of it, events name their own report, report ids follow
/// arrival, and frames hold every reading exactly.
@Suite struct PendingRowsTests {
    let directory = TemporaryDirectory()

    func entry(_ payload: String, topic: String = "$thing/up/property/P1/dev1", receivedAt: Int64,
               packetID: UInt16? = nil, isRedelivery: Bool = false) -> StoreEntry {
        let message = IncomingMessage(topic: topic, payload: Array(payload.utf8), receivedAt: receivedAt,
                                      packetID: packetID, isRedelivery: isRedelivery, origin: .live)
        return ReportParser().entry(for: message)
    }

    @Test func rowsNotYetInsertedAreSeenByTheirBatch() throws {
        let database = try StoreConnection.openForWriting(path: directory.file("store.db"))
        let writer = try StoreWriter(database: database)
        // A receive-timed report and its redelivery in one batch, three reports apart: only the archive can tell.
        let seed = #"{"method":"report","params":{"MQ2":100,"MQ7":50}}"#
        var batch = [entry(seed, receivedAt: 10_000, packetID: 7)]
        for index in 1...3 {
            batch.append(entry(#"{"method":"report","params":{"MQ2":\#(index)}}"#, receivedAt: 10_000 + Int64(index),
                               packetID: 7 + UInt16(index)))
        }
        batch.append(entry(seed, receivedAt: 10_500, packetID: 7, isRedelivery: true))
        // An event between reports: its row names its own report.
        for index in 0..<5 { batch.append(entry(#"{"method":"report","params":{"MQ4":\#(index)}}"#,
                                                 receivedAt: 11_000 + Int64(index))) }
        batch.append(entry(#"{"method":"event_post","eventId":"gas","type":"alert","params":{"p":9}}"#,
                           topic: "$thing/up/event/P1/dev1", receivedAt: 11_500))
        // Seven reports, then an event whose report is the eighth row waiting: inserted with the seven by a statement
        // of eight rows, the last of which is its own.
        for index in 0..<7 { batch.append(entry(#"{"method":"report","params":{"MQ4":\#(index + 10)}}"#,
                                                 receivedAt: 12_000 + Int64(index))) }
        batch.append(entry(#"{"method":"event_post","eventId":"smoke","type":"alert","params":{"p":1}}"#,
                           topic: "$thing/up/event/P1/dev1", receivedAt: 12_500))
        batch.append(entry(#"{"method":"report","params":{"MQ4":99}}"#, receivedAt: 13_000))
        let summary = try writer.append(batch)
        #expect(writer.batchesWrittenEntryByEntry == 0)
        #expect(summary.duplicateReports == 1)
        #expect(summary.reports == batch.count - 1)
        #expect(try database.rows("""
            SELECT r.method, r.received_at FROM events e JOIN reports_v r ON r.id = e.report_id
            """) == [[.text("event_post"), .integer(11_500)], [.text("event_post"), .integer(12_500)]])
        // Ids follow arrival, across statements of several rows and the single ones after them.
        let times = try database.rows("SELECT received_at FROM reports ORDER BY id").compactMap { $0[0].int64Value }
        #expect(times == times.sorted() && times.count == batch.count - 1)
    }

    @Test func framesNotYetInsertedAreSeenByTheirBatch() throws {
        let database = try StoreConnection.openForWriting(path: directory.file("store.db"))
        let writer = try StoreWriter(database: database)
        // Devices interleaved, each sending in time order, one report sent twice and one sent late, out of order.
        var batch: [StoreEntry] = []
        var expected: [[SQLiteValue]] = []
        for step in 0..<12 {
            for device in ["b", "a", "c"] {
                let ts = 1_764_115_200_000 + Int64(step) * 10_000
                let value = step % 3 == 0 ? "\(step).25" : "\(step)"
                batch.append(entry(#"{"method":"report","timestamp":\#(ts),"params":{"MQ2":\#(value),"h":-\#(step)}}"#,
                                   topic: "$thing/up/property/P1/\(device)", receivedAt: ts + 50,
                                   packetID: UInt16(batch.count + 1)))
                expected.append([.text(device), .text("MQ2"), .integer(ts), .real(Double(value) ?? 0)])
                expected.append([.text(device), .text("h"), .integer(ts), .real(-Double(step))])
            }
        }
        batch.append(batch[4])   // the same message again
        batch.append(entry(#"{"method":"report","timestamp":1764115200000,"params":{"MQ2":1,"MQ7":2}}"#,
                           topic: "$thing/up/property/P1/a", receivedAt: 1_764_115_400_000))
        expected.append([.text("a"), .text("MQ7"), .integer(1_764_115_200_000), .real(2)])
        let summary = try writer.append(batch)
        #expect(summary.readings == expected.count)
        #expect(writer.batchesWrittenEntryByEntry == 0, "no frame was inserted twice")
        #expect(summary.duplicateReadings == 3, "the repeated message's two readings and the late one's MQ2")
        let stored = try database.rows("SELECT device, metric, ts, value FROM readings_v ORDER BY device, metric, ts")
        #expect(stored == expected.sorted { left, right in
            (left[0].stringValue ?? "", left[1].stringValue ?? "", left[2].int64Value ?? 0)
                < (right[0].stringValue ?? "", right[1].stringValue ?? "", right[2].int64Value ?? 0)
        })
    }

    @Test func receiveTimedReportsBelowWhatTheWriterKnowsSeeThoseWaiting() throws {
        let path = directory.file("store.db")
        do {
            let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
            try writer.append([entry(#"{"method":"report","params":{"MQ2":1}}"#, receivedAt: 5_000)])
        }
        // A new writer knows a device's taken milliseconds only after its newest one; below, it asks the store,
        // which must see the reports of this batch still waiting (else two would get one ts).
        let database = try StoreConnection.openForWriting(path: path)
        let writer = try StoreWriter(database: database)
        let batch = (2...4).map { entry(#"{"method":"report","params":{"MQ2":\#($0)}}"#, receivedAt: 5_000) }
        let summary = try writer.append(batch)
        #expect(writer.batchesWrittenEntryByEntry == 0)
        #expect(summary.reports == 3)
        let times = try database.rows("SELECT ts FROM reports_v ORDER BY ts").compactMap { $0[0].int64Value }
        #expect(times == [5_000, 5_001, 5_002, 5_003])
    }

    @Test func aRefusedEntryLeavesNoneOfItsBatchMatesOut() throws {
        let database = try StoreConnection.openForWriting(path: directory.file("store.db"))
        let writer = try StoreWriter(database: database)
        // A trigger refuses one report: the batch is written again entry by entry, the refused one quarantined.
        try database.execute("""
            CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.reports WHEN NEW.received_at = 5
            BEGIN SELECT RAISE(ABORT, 'refused'); END
            """)
        let batch = (1...11).map { entry(#"{"method":"report","params":{"MQ2":\#($0)}}"#, receivedAt: Int64($0)) }
        let summary = try writer.append(batch)
        #expect(summary.reports == 10 && writer.batchesWrittenEntryByEntry == 1)
        #expect(try database.integer("SELECT COUNT(*) FROM reports") == 10)
        #expect(try database.rows("SELECT reason FROM rejects") == [[.text("unstorable")]])
        #expect(try database.integer("SELECT COUNT(*) FROM readings_v") == 10, "its readings went with it")
    }

    /// Each device's last shape row is kept on its state, as long as the shape is small: a fleet of devices with
    /// large shapes must not hold one each.
    @Test func onlySmallShapesAreKeptPerDevice() throws {
        let writer = try StoreWriter(database: StoreConnection.openForWriting(path: directory.file("shapes.db")))
        let large = #"{"method":"report","clientToken":""# + String(repeating: "z", count: 5_000)
            + #"","params":{"MQ2":1}}"#
        try writer.append([entry(#"{"method":"report","params":{"MQ2":1}}"#, receivedAt: 10_000),
                           entry(large, topic: "$thing/up/property/P1/dev2", receivedAt: 10_001)])
        func device(_ name: String) -> StoreWriter.DeviceState? {
            writer.devices[StoreWriter.DeviceKey(product: ExactName("P1"), name: ExactName(name))]
        }
        let small = try #require(device("dev1"))
        let big = try #require(device("dev2"))
        #expect(small.lastShape != nil)
        #expect(big.lastShape == nil)
        // Both reports are archived whole all the same.
        #expect(try writer.database.integer("SELECT COUNT(*) FROM reports") == 2)
    }
}
