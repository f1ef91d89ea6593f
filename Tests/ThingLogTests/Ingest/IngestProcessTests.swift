import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore

/// Tests that run the built binary as separate processes: crashes and concurrent readers.
@Suite(.serialized) struct IngestProcessTests {
    let directory = TemporaryDirectory()

    /// A large input: `devices` × `reports`, half of the devices without timestamps (seed firmware style).
    func writeLargeInput(devices: Int = 40, reports: Int = 2_500) -> (path: String, readings: Int) {
        var timed = ReportFixture(devices: devices / 2, reportsPerDevice: reports)
        timed.product = "TIMED"
        var seed = ReportFixture(devices: devices / 2, reportsPerDevice: reports, withTimestamp: false)
        seed.product = "SEED"
        // Distinct device names per product so the two fixtures do not share devices.
        let lines = timed.jsonlLines() + seed.jsonlLines().map { $0.replacingOccurrences(of: "/dev", with: "/seed") }
        return (directory.write("large.jsonl", lines.joined(separator: "\n") + "\n"), lines.count * 6)
    }

    @Test func killedMidIngestThenRerunStoresEverythingOnce() throws {
        let input = writeLargeInput()
        let db = directory.file("crash.db")
        for delay in [0.3, 0.8] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try thinglogBinary())
            process.arguments = ["ingest", input.path, "--db", db]
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let check = try Database(path: db).scalar("PRAGMA integrity_check")
            #expect(check == .text("ok"))
        }
        let rerun = try runBinary(["ingest", input.path, "--db", db], in: directory.path)
        #expect(rerun.status == 0)
        let database = try Database(path: db)
        #expect(try database.scalar("PRAGMA integrity_check") == .text("ok"))
        #expect(try database.integer("SELECT COUNT(*) FROM readings") == Int64(input.readings))
        #expect(try database.integer("SELECT COUNT(*) FROM reports") == Int64(input.readings / 6))
        // Nothing doubled: every series has exactly one reading per report of its device.
        #expect(try database.integer("SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM readings GROUP BY series_id)")
                == 2_500)
    }

    @Test func readersNeverSeeALockedDatabaseDuringIngest() throws {
        let input = writeLargeInput()
        let db = directory.file("busy.db")
        // Create the store first so readers and the writer start from the same file.
        #expect(try runBinary(["ingest", "/dev/null", "--db", db], in: directory.path).status == 0)
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: try thinglogBinary())
        writer.arguments = ["ingest", input.path, "--db", db]
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        var runs = 0
        var sawGrowth = Set<String>()
        while writer.isRunning || runs < 3 {
            let stats = try runBinary(["stats", "--json", "--db", db], in: directory.path)
            #expect(stats.status == 0, "stats failed: \(stats.standardError)")
            #expect(!stats.standardError.contains("locked"))
            if let readings = try? JSONParser.parse(Array(stats.standardOutput.utf8))["readings"] {
                sawGrowth.insert(JSONWriter.serialize(readings))
            }
            runs += 1
        }
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        #expect(runs >= 3)
        let final = try runBinary(["stats", "--json", "--db", db], in: directory.path)
        #expect(final.standardOutput.contains("\"readings\":\(input.readings)"))
    }
}
