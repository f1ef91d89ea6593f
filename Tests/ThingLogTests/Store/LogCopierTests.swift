import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest

/// The writer's log is copied into the store file off its thread, stays short under a sustained stream of commits,
/// and is gone once the writer closes (`LogCopier`).
@Suite struct LogCopierTests {
    let directory = TemporaryDirectory()
    var path: String { directory.file("store.db") }

    func entry(_ index: Int) -> StoreEntry {
        let payload = #"{"method":"report","clientToken":"t\#(index)","params":{"MQ2":\#(index % 997),"#
            + #""MQ7":\#(index % 89)},"timestamp":\#(1_700_000_000_000 + Int64(index) * 1000)}"#
        let message = IncomingMessage(topic: "$thing/up/property/P1/dev\(index % 7)", payload: Array(payload.utf8),
                                      receivedAt: 1_700_000_000_000 + Int64(index) * 1000, origin: .live)
        guard case .accepted(let parsed) = ReportParser().parse(message) else { fatalError("a valid report") }
        return .accepted(message, parsed)
    }

    func fileSize(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    /// The reports in a copy of the store file alone (without its log): what was copied into it.
    func reportsInFileAlone() throws -> Int64 {
        let copy = directory.file("alone-\(UUID().uuidString).db")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        return try Database(path: copy, mode: .readOnly).integer("SELECT COUNT(*) FROM reports")
    }

    @Test func theLogIsCopiedInTheBackgroundAndStaysShort() throws {
        let copyFrames: Int32 = 16
        let database = try StoreConnection.openForWriting(path: path, durability: .powerLoss)
        let writer = try StoreWriter(database: database, logCopyFrames: copyFrames)
        var largestLog = 0
        for batch in 0..<400 {
            try writer.append((0..<5).map { entry(batch * 5 + $0) })
            largestLog = max(largestLog, fileSize(path + "-wal"))
        }
        writer.logCopier.waitForCopies()
        // Copies reached the store file while the writer went on: most reports are there without the log.
        #expect(try reportsInFileAlone() > 1000)
        // The log started over again and again: never much past its longest (plus one commit).
        let frameBytes = 4096 + 24
        #expect(largestLog <= Int(LogCopier.longLogFactor * copyFrames + 16) * frameBytes)
        #expect(try database.integer("SELECT COUNT(*) FROM reports") == 2000)
    }

    @Test func aReaderHoldingOldPagesDoesNotStopTheWriter() throws {
        let database = try StoreConnection.openForWriting(path: path, durability: .powerLoss)
        let writer = try StoreWriter(database: database, logCopyFrames: 8)
        try writer.append([entry(0)])
        let reader = try StoreConnection.openForReading(path: path)
        try reader.begin(.readSnapshot)
        #expect(try reader.integer("SELECT COUNT(*) FROM reports") == 1)
        for batch in 1..<100 { try writer.append((0..<5).map { entry(batch * 5 + $0) }) }
        // The reader still sees its snapshot; the writer was never held up by the copies it could not finish.
        #expect(try reader.integer("SELECT COUNT(*) FROM reports") == 1)
        try reader.commit()
        for batch in 100..<120 { try writer.append((0..<5).map { entry(batch * 5 + $0) }) }
        writer.logCopier.waitForCopies()
        #expect(try reader.integer("SELECT COUNT(*) FROM reports") == 596)
    }

    /// A writer about to close has its log copied after every commit, not once per threshold: its last batches
    /// reach the store file while it is still writing, and its close has little left to copy.
    @Test func aWriterAboutToCloseHasEveryCommitCopied() throws {
        let database = try StoreConnection.openForWriting(path: path, durability: .powerLoss)
        let writer = try StoreWriter(database: database, logCopyFrames: 100_000)
        try writer.append((0..<5).map { entry($0) })
        writer.logCopier.waitForCopies()
        #expect((try? reportsInFileAlone()) ?? 0 == 0, "below the threshold, nothing copied yet (not even the tables)")
        writer.prepareToClose()
        try writer.append((5..<10).map { entry($0) })
        writer.logCopier.waitForCopies()
        #expect(try reportsInFileAlone() == 10)
        #expect(try database.integer("SELECT COUNT(*) FROM reports") == 10)
    }

    @Test func aClosedWriterLeavesOneFile() throws {
        do {
            let database = try StoreConnection.openForWriting(path: path, durability: .powerLoss)
            let writer = try StoreWriter(database: database, logCopyFrames: 8)
            for batch in 0..<50 { try writer.append((0..<4).map { entry(batch * 4 + $0) }) }
        }
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(try reportsInFileAlone() == 200)
    }
}
