import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore

/// `backup` and `check` on real stores: a backup taken while a subscriber stores a live stream is complete, verified
/// and usable; `check` passes and fails as a monitoring agent needs.
@Suite(.serialized) struct BackupAndCheckTests {
    let directory = TemporaryDirectory()

    @Test func aBackupDuringALiveStreamIsConsistentAndRestores() throws {
        let broker = try MosquittoBroker()
        let db = directory.file("live.db")
        let subscriber = try SubscriberProcess(arguments: ["--broker", broker.address, "--db", db, "--client-id", "b"],
                                               directory: directory.path)
        #expect(subscriber.waitFor("connected to"))
        let simulate = Process()
        simulate.executableURL = URL(fileURLWithPath: try thinglogBinary())
        simulate.arguments = ["simulate", "--broker", broker.address, "--devices", "10", "--rate", "1000",
                              "--duration", "4"]
        simulate.standardError = FileHandle.nullDevice
        try simulate.run()
        Thread.sleep(forTimeInterval: 1.5)
        try FileManager.default.createDirectory(atPath: directory.file("backups"), withIntermediateDirectories: true)
        var copies: [String] = []
        for index in 0..<3 {
            let result = runCLI(["backup", "backups", "--keep", "2", "--db", db], in: directory.path,
                                clock: { 1_796_000_000_000 + Int64(index) * 1000 })
            #expect(result.status == 0, "\(result.standardError)")
            copies.append(result.standardOutput.trimmingCharacters(in: .newlines))
            Thread.sleep(forTimeInterval: 0.3)
        }
        simulate.waitUntilExit()
        #expect(subscriber.terminate() == 0)
        let kept = try FileManager.default.contentsOfDirectory(atPath: directory.file("backups")).sorted()
        #expect(kept == copies.suffix(2).map { ($0 as NSString).lastPathComponent }, "--keep 2 rotated the oldest")
        let copy = try #require(copies.last)
        #expect(!FileManager.default.fileExists(atPath: copy + "-wal"), "a single self-contained file")
        let backup = try Database(path: copy, mode: .readOnly)
        #expect(try backup.scalar("PRAGMA integrity_check") == .text("ok"))
        let reports = try backup.integer("SELECT COUNT(*) FROM reports")
        #expect(reports > 100, "taken mid-stream, with reports in it")
        for view in ["readings_v", "reports_v", "events_v", "rejects_v", "ppm_v", "alarms_v"] {
            #expect((try? backup.scalar("SELECT COUNT(*) FROM \(view)")) != nil, "\(view) opens")
        }
        #expect(try Database(path: db, mode: .readOnly).integer("SELECT COUNT(*) FROM reports") >= reports)
        // Restore: the copy serves as a store.
        let restored = directory.file("restored.db")
        try FileManager.default.copyItem(atPath: copy, toPath: restored)
        let stats = runCLI(["stats", "--json", "--db", restored], in: directory.path)
        #expect(stats.status == 0 && stats.standardOutput.contains("\"reports\":\(reports)"))
    }

    @Test func checkPassesOnAFreshStoreAndFailsOnSilenceOrMissingAnalysis() throws {
        let now = Timestamp.now()
        let lines = (0..<5).map { index in
            "{\"topic\":\"$thing/up/property/P/dev\(index % 2)\",\"received_at\":\(now - 60_000 + Int64(index)),"
                + "\"payload\":{\"method\":\"report\",\"params\":{\"MQ7\":\(index)},"
                + "\"timestamp\":\(now - 60_000 + Int64(index))}}"
        }
        let input = directory.write("in.jsonl", lines.joined(separator: "\n") + "\n")
        let db = directory.file("c.db")
        #expect(runCLI(["ingest", input, "--db", db], in: directory.path).status == 0)
        var result = runCLI(["check", "--db", db], in: directory.path)
        #expect(result.status == 1 && result.standardOutput.contains("FAIL analyze: never analyzed"))
        #expect(runCLI(["analyze", "--db", db], in: directory.path).status == 0)
        result = runCLI(["check", "--db", db], in: directory.path)
        #expect(result.status == 0, "\(result.standardOutput)")
        #expect(result.standardOutput.contains("OK   integrity: quick_check: ok"))
        result = runCLI(["check", "--db", db, "--stale", "30s", "--json"], in: directory.path)
        #expect(result.status == 1)
        let json = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        #expect(json?["ok"] as? Bool == false)
        let checks = json?["checks"] as? [[String: Any]] ?? []
        let devices = checks.first { $0["name"] as? String == "devices" }
        #expect(devices?["ok"] as? Bool == false && (devices?["detail"] as? String)?.contains("P/dev0") == true)
        #expect(runCLI(["check", "--db", directory.file("none.db")], in: directory.path).status == 1,
                "no store: a failed check, never a new store")
        #expect(!FileManager.default.fileExists(atPath: directory.file("none.db")))
        #expect(runCLI(["check", "--stale", "soon", "--db", db], in: directory.path).status == 2)
    }
}
