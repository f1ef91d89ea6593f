import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogAnalysis
@testable import ThingLogCLI

/// `analyze` runs over growing data, late data, new calibrations and changed configuration must give exactly what one
/// `analyze --full` gives on the final data: compared as exported bytes.
@Suite struct IncrementalAnalysisTests {
    let directory = TemporaryDirectory()
    let start: Int64 = 1_795_651_200_000
    let lines: [String]

    init() throws {
        let out = directory.file("day.jsonl")
        #expect(runCLI(["simulate", "--out", out, "--devices", "3", "--duration", "43200", "--seed", "11",
                        "--start", String(start)], in: directory.path).status == 0)
        lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func ingest(_ part: ArraySlice<String>, into db: String) {
        let file = directory.write("part-\(UUID().uuidString).jsonl", part.joined(separator: "\n"))
        let result = runCLI(["ingest", file, "--db", db], in: directory.path)
        #expect(result.status == 0 && result.standardError.contains("0 rejected"), "\(result.standardError)")
    }

    /// Saves clean-air calibrations over the first two hours for every sensor of every device.
    func calibrate(_ db: String) {
        for device in ["dev1", "dev2", "dev3"] {
            for sensor in ["MQ2", "MQ135", "MQ4", "MQ7"] {
                let result = runCLI(["calibrate", "--device", device, "--sensor", sensor, "--from", String(start),
                                     "--to", String(start + 7_200_000), "--save", "--db", db], in: directory.path)
                #expect(result.status == 0, "\(db) \(result.standardError)")
            }
        }
    }

    func analyze(_ db: String, _ extra: [String] = []) {
        let result = runCLI(["analyze", "--db", db] + extra, in: directory.path)
        #expect(result.status == 0, "\(result.standardError)")
    }

    /// Everything analyze derives, as the exports write it (and one device's rolling windows and exposures, which
    /// are computed from it at export time).
    func exported(_ db: String) -> String {
        ["ppm", "alarms"].map { runCLI(["export", $0, "--db", db], in: directory.path).standardOutput }.joined()
            + runCLI(["export", "rolling", "--device", "dev2", "--window", "5m", "--window", "twa8h", "--db", db],
                     in: directory.path).standardOutput
            + rollups(db)
    }

    /// The rollup tables, every value exactly (doubles as bit patterns).
    func rollups(_ db: String) -> String {
        guard let database = try? Database(path: db) else { return "no store" }
        return ["rollup_5m", "rollup_1h", "frame_rollup_1h"].map { table in
            let rows = (try? database.rows("SELECT * FROM \(table) ORDER BY 1, 2")) ?? []
            return table + "\r\n" + rows.map { row in
                row.map { value in
                    if case .real(let number) = value { String(number.bitPattern, radix: 16) } else { "\(value)" }
                }.joined(separator: ",")
            }.joined(separator: "\r\n") + "\r\n"
        }.joined()
    }

    func reference() -> String {
        let db = directory.file("reference.db")
        if !FileManager.default.fileExists(atPath: db) {
            ingest(lines[...], into: db)
            calibrate(db)
            analyze(db, ["--full"])
        }
        return exported(db)
    }

    @Test func growingDataInPiecesEqualsOneFullRun() throws {
        let expected = reference()
        #expect(expected.contains("co-300") || expected.contains("ch4-10lel"), "the data should raise gas alarms")
        var random = SeededGenerator(seed: 3)
        for trial in 0..<3 {
            let db = directory.file("growing-\(trial).db")
            // Calibrating once the first part (past the two-hour clean-air window) is in and analyzed: a calibration
            // effective inside analyzed time recomputes.
            let cuts = [lines.count / 5 + Int(random.unit() * Double(lines.count) * 0.3),
                        lines.count / 2 + Int(random.unit() * Double(lines.count) * 0.4)]
            ingest(lines[..<cuts[0]], into: db)
            analyze(db)
            calibrate(db)
            ingest(lines[cuts[0]..<cuts[1]], into: db)
            analyze(db)
            ingest(lines[cuts[1]...], into: db)
            analyze(db)
            let got = exported(db)
            let difference = zip(got.split(separator: "\r\n"), expected.split(separator: "\r\n")).first { $0 != $1 }
            #expect(got == expected, "cuts \(cuts): first difference \(String(describing: difference))")
        }
    }

    @Test func analyzingUpToCutPointsEqualsOneFullRun() {
        let expected = reference()
        let db = directory.file("to.db")
        ingest(lines[...], into: db)
        calibrate(db)
        var random = SeededGenerator(seed: 5)
        var cut = start
        for _ in 0..<4 {
            cut += Int64(random.unit() * 3 * 3_600_000)
            analyze(db, ["--to", String(cut)])
        }
        analyze(db)
        #expect(exported(db) == expected)
    }

    @Test func lateDataRecomputesFromWhereItBelongs() {
        let expected = reference()
        let db = directory.file("late.db")
        // Part of dev2's history (after the calibration window) arrives after everything else has been analyzed.
        let held = (lines.count * 4 / 10)..<(lines.count * 6 / 10)
        func isHeld(_ offset: Int, _ line: String) -> Bool { held.contains(offset) && line.contains("/dev2\"") }
        let late = lines.enumerated().filter { isHeld($0.offset, $0.element) }.map(\.element)
        #expect(!late.isEmpty)
        let early = lines.enumerated().filter { !isHeld($0.offset, $0.element) }.map(\.element)
        ingest(early[...], into: db)
        calibrate(db)
        analyze(db)
        ingest(late[...], into: db)
        let result = runCLI(["analyze", "--db", db], in: directory.path)
        #expect(result.standardError.contains("(1 from the start)"), "only dev2 is recomputed: \(result.standardError)")
        #expect(exported(db) == expected)
    }

    @Test func recomputingFromATimeEqualsOneFullRun() {
        let expected = reference()
        let db = directory.file("from.db")
        ingest(lines[...], into: db)
        calibrate(db)
        analyze(db)
        analyze(db, ["--from", String(start + 5 * 3_600_000)])
        #expect(exported(db) == expected)
    }

    @Test func aChangedConfigurationRecomputesByItself() throws {
        let db = directory.file("config.db")
        ingest(lines[...], into: db)
        calibrate(db)
        analyze(db)
        let before = exported(db)
        let config = directory.write("strict.json", """
            {"alarms": [{"name": "co-any", "metric": "MQ7.CO", "above": 1, "severity": "info"}]}
            """)
        analyze(db, ["--config", config])
        let after = exported(db)
        #expect(after != before)
        #expect(after.contains("co-any") && !after.contains("co-300"))
        // The same as a fresh store analyzed with that configuration from the start.
        let fresh = directory.file("config-fresh.db")
        ingest(lines[...], into: fresh)
        calibrate(fresh)
        analyze(fresh, ["--config", config, "--full"])
        #expect(exported(fresh) == after)
    }

    @Test func committingInPiecesAndCrashingBetweenThemChangesNothing() throws {
        let expected = reference()
        let db = directory.file("pieces.db")
        ingest(lines[...], into: db)
        calibrate(db)
        let configuration = try ConfigurationLoader.load(path: nil, currentDirectory: directory.path)
        let crashing = Analyzer(path: db, configuration: configuration)
        crashing.framesPerCommit = 997
        crashing.failAfterCommits = 5
        #expect(throws: RuntimeError.self) { try crashing.run() }
        #expect(try Database(path: db).integer("SELECT COUNT(*) FROM ppm") > 0,
                "the pieces before the crash are stored")
        let resumed = Analyzer(path: db, configuration: configuration)
        resumed.framesPerCommit = 997
        _ = try resumed.run()
        #expect(exported(db) == expected)
    }

    /// The writer restarts the write-ahead log whenever it passes the bound (here after every device): nothing of
    /// what is written while the next device is read gets lost or doubled.
    @Test func restartingTheLogBetweenDevicesChangesNothing() throws {
        let expected = reference()
        let db = directory.file("restarts.db")
        ingest(lines[...], into: db)
        calibrate(db)
        let analyzer = Analyzer(path: db, configuration: try ConfigurationLoader.load(path: nil,
                                                                                     currentDirectory: directory.path))
        analyzer.maximumLogFrames = 1
        analyzer.framesPerCommit = 997
        _ = try analyzer.run(AnalysisOptions(full: true))
        #expect(exported(db) == expected)
        #expect(try Database(path: db).scalar("PRAGMA integrity_check") == .text("ok"))
    }

    @Test func fiveMinuteRollupsExpireTheSameWayInPiecesAsInOneRun() throws {
        let configuration = try ConfigurationLoader.load(path: nil, currentDirectory: directory.path)
        func analyzer(_ db: String) -> Analyzer {
            let analyzer = Analyzer(path: db, configuration: configuration)
            analyzer.fiveMinuteRetention = 2 * 3_600_000
            return analyzer
        }
        let whole = directory.file("retention-whole.db")
        ingest(lines[...], into: whole)
        _ = try analyzer(whole).run(AnalysisOptions(full: true))
        let pieces = directory.file("retention-pieces.db")
        for range in [0..<lines.count / 3, lines.count / 3..<lines.count * 2 / 3, lines.count * 2 / 3..<lines.count] {
            ingest(lines[range], into: pieces)
            _ = try analyzer(pieces).run()
        }
        let expected = rollups(whole)
        #expect(rollups(pieces) == expected)
        let kept = try Database(path: whole).integer("SELECT COUNT(DISTINCT slot) FROM rollup_5m")
        #expect(kept == 25 || kept == 24, "two hours of 5-minute buckets (and the one the cut falls in)")
    }

    @Test func damagedSavedStateIsRecomputed() throws {
        let expected = reference()
        let db = directory.file("damaged.db")
        ingest(lines[..<(lines.count / 2)], into: db)
        calibrate(db)
        analyze(db)
        try Database(path: db).execute("UPDATE analysis_devices SET state = x'0102'")
        ingest(lines[(lines.count / 2)...], into: db)
        analyze(db)
        #expect(exported(db) == expected)
    }
}
