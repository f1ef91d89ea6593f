import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest
@testable import ThingLogSubscribe

/// The subscriber's committer thread, without a broker: batches come back committed, in order, with their packet
/// ids and connection; a failing store stops it with the error instead of acknowledging anything.
@Suite struct BatchCommitterTests {
    let directory = TemporaryDirectory()

    func batch(_ range: Range<Int>, connection: Int) -> BatchCommitter.Batch {
        let parser = ReportParser()
        var batch = BatchCommitter.Batch(entries: [], token: Acknowledgements(connection: connection))
        for index in range {
            let time = 1_764_115_200_000 + Int64(index) * 1000
            let payload = "{\"method\":\"report\",\"params\":{\"MQ7\":\(index)},\"timestamp\":\(time)}"
            let message = IncomingMessage(topic: "$thing/up/property/P/d\(index % 3)", payload: Array(payload.utf8),
                                          receivedAt: time + 500, packetID: UInt16(index + 1), origin: .live)
            guard case .accepted(let parsed) = parser.parse(message) else { Issue.record("not accepted"); continue }
            batch.entries.append(.accepted(message, parsed))
            batch.token.packetIDs.append(UInt16(index + 1))
        }
        return batch
    }

    /// A store, another connection to it that can take its write lock, and a committer that waits 50 ms for it.
    func committerBesideAnotherConnection(_ name: String) throws -> (String, Database, BatchCommitter) {
        let db = directory.file(name)
        let holder = try StoreConnection.openForWriting(path: db)
        let committer = try BatchCommitter(writer: StoreWriter(database: Database(path: db,
                                                                                  busyTimeoutMilliseconds: 50)))
        return (db, holder, committer)
    }

    /// A batch handed over after the writer stopped is refused, not dropped: waiting for it would never end.
    @Test func aBatchSubmittedAfterTheWriterStoppedIsRefused() throws {
        let committer = try BatchCommitter(writer: StoreWriter(database: StoreConnection.openForWriting(
            path: directory.file("stopped.db"))))
        try committer.submit(batch(0..<10, connection: 1))
        #expect(try committer.finish().count == 1)
        #expect(throws: BatchCommitter.Stopped.self) { try committer.submit(batch(10..<20, connection: 1)) }
        #expect(committer.isIdle)
        #expect(try committer.waitUntilWritten().isEmpty)
    }

    @Test func batchesComeBackCommittedInOrder() throws {
        let db = directory.file("c.db")
        let committer = try BatchCommitter(writer: StoreWriter(database: StoreConnection.openForWriting(path: db)))
        for (index, start) in stride(from: 0, to: 1000, by: 100).enumerated() {
            try committer.submit(batch(start..<start + 100, connection: index % 2 + 1))
        }
        var done: [BatchCommitter.Done] = []
        while done.count < 10 {
            done += try committer.takeFinished()
            usleep(1000)
        }
        done += try committer.finish()
        #expect(done.map(\.token.packetIDs.first) == stride(from: 1, to: 1000, by: 100).map { UInt16($0) })
        #expect(done.map(\.token.connection) == (0..<10).map { $0 % 2 + 1 })
        #expect(done.reduce(0) { $0 + $1.summary.readings } == 1000)
        // Committed means visible to another connection.
        #expect(try Database(path: db).integer("SELECT COUNT(*) FROM readings") == 1000)
    }

    /// Stopping in two steps: the last batches come back committed first (their PUBACKs go out), then `finish`
    /// returns once the writer thread has closed the store: one file, everything in it.
    @Test func theLastBatchesAreAnsweredWhileTheStoreCloses() throws {
        let db = directory.file("s.db")
        let committer = try BatchCommitter(writer: StoreWriter(database: StoreConnection.openForWriting(path: db)))
        for start in stride(from: 0, to: 600, by: 200) {
            try committer.submit(batch(start..<start + 200, connection: 1))
        }
        let done = try committer.finishWriting()
        #expect(done.reduce(0) { $0 + $1.token.packetIDs.count } == 600, "every batch, before the store closes")
        #expect(try committer.finish().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"), "closed, its log copied in and removed")
        #expect(try Database(path: db).integer("SELECT COUNT(*) FROM readings") == 600)
    }

    /// A batch the store gives up on while stopping does not swallow the one committed before it: that one still
    /// comes back (its PUBACKs go out), and the failure comes with the next call.
    @Test func batchesCommittedBeforeAFailureWhileStoppingAreStillAnswered() throws {
        let (db, holder, committer) = try committerBesideAnotherConnection("g.db")
        try committer.submit(batch(0..<10, connection: 1))
        while !committer.isIdle { usleep(1000) }
        try holder.begin(.write)
        try committer.submit(batch(10..<20, connection: 1))
        let done = try committer.finishWriting()
        #expect(done.count == 1 && done.first?.token.packetIDs.count == 10)
        #expect(throws: (any Error).self) { try committer.finish() }
        holder.rollback()
        #expect(try Database(path: db).integer("SELECT COUNT(*) FROM readings") == 10)
    }

    @Test func aBusyStoreIsWaitedOut() throws {
        let db = directory.file("b.db")
        let database = try StoreConnection.openForWriting(path: db)
        try database.execute("PRAGMA busy_timeout=20")
        let committer = try BatchCommitter(writer: StoreWriter(database: database))
        // Another connection holds the write lock well past the busy timeout.
        let blocker = try Database(path: db)
        try blocker.execute("BEGIN IMMEDIATE")
        try committer.submit(batch(0..<10, connection: 1))
        usleep(300_000)
        #expect(try committer.takeFinished().isEmpty, "nothing is committed, so nothing may be acknowledged")
        try blocker.execute("ROLLBACK")
        let done = try committer.finish()
        #expect(done.count == 1 && done[0].token.packetIDs.count == 10)
        #expect(try Database(path: db).integer("SELECT COUNT(*) FROM readings") == 10)
    }

    /// A store that cannot be written (here a read-only connection: SQLITE_READONLY) is an outage, waited out with
    /// the batch held and nothing acknowledged; only stopping gives up on it, with the error (issue 15).
    @Test func aStoreThatCannotBeWrittenIsWaitedOutUntilStopped() throws {
        let db = directory.file("f.db")
        _ = try StoreConnection.openForWriting(path: db)
        let committer = try BatchCommitter(writer: StoreWriter(database: Database(path: db, mode: .readOnly)))
        try committer.submit(batch(0..<10, connection: 1))
        var outage: BatchCommitter.Outage?
        for _ in 0..<200 where outage == nil {
            outage = committer.outage
            usleep(5000)
        }
        #expect(outage?.reason.contains("readonly") == true, "\(String(describing: outage))")
        #expect(try committer.takeFinished().isEmpty, "nothing is committed, so nothing may be acknowledged")
        #expect(throws: (any Error).self) { try committer.finish() }
        #expect(try Database(path: db).integer("SELECT COUNT(*) FROM readings") == 0)
    }

    /// Stopping never waits for a lock another process holds: the batch is given up (nothing was acknowledged).
    @Test func stoppingGivesUpOnABusyStore() throws {
        let (_, holder, committer) = try committerBesideAnotherConnection("busy.db")
        try holder.begin(.write)
        try committer.submit(batch(0..<10, connection: 1))
        usleep(200_000)
        let started = Date()
        #expect(throws: (any Error).self) { try committer.finish() }
        #expect(Date().timeIntervalSince(started) < 5)
        holder.rollback()
    }
}
