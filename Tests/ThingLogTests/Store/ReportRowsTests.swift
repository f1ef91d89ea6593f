import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

/// Report rows are inserted several at a time (`ReportRows`): within one batch, what reads `reports` still sees every
/// earlier report of it, events name their own report, and ids follow arrival.
@Suite struct ReportRowsTests {
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
        // An event between reports, not the last of a statement's rows: its row names its own report.
        for index in 0..<5 { batch.append(entry(#"{"method":"report","params":{"MQ4":\#(index)}}"#,
                                                 receivedAt: 11_000 + Int64(index))) }
        batch.append(entry(#"{"method":"event_post","eventId":"gas","type":"alert","params":{"p":9}}"#,
                           topic: "$thing/up/event/P1/dev1", receivedAt: 11_500))
        for index in 0..<6 { batch.append(entry(#"{"method":"report","params":{"MQ4":\#(index + 10)}}"#,
                                                 receivedAt: 12_000 + Int64(index))) }
        let summary = try writer.append(batch)
        #expect(summary.duplicateReports == 1)
        #expect(summary.reports == batch.count - 1)
        #expect(try database.rows("""
            SELECT r.method, r.received_at FROM events e JOIN reports_v r ON r.id = e.report_id
            """) == [[.text("event_post"), .integer(11_500)]])
        // Ids follow arrival, across statements of several rows and the single ones after them.
        let times = try database.rows("SELECT received_at FROM reports ORDER BY id").compactMap { $0[0].int64Value }
        #expect(times == times.sorted() && times.count == batch.count - 1)
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
        #expect(summary.reports == 10)
        #expect(try database.integer("SELECT COUNT(*) FROM reports") == 10)
        #expect(try database.rows("SELECT reason FROM rejects") == [[.text("unstorable")]])
        #expect(try database.integer("SELECT COUNT(*) FROM readings_v") == 10, "its readings went with it")
    }
}
