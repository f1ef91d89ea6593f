import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore

@Suite struct QueryCommandTests {
    static let queriesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("queries").path
    let directory = TemporaryDirectory()
    let fixture = ReportFixture(devices: 3, reportsPerDevice: 720, intervalMilliseconds: 10_000)

    /// A store with the fixture (2 hours of 3 devices from 2025-11-26T00:00Z) and a device silent since 00:30.
    func seeded() -> String {
        let db = directory.file("q.db")
        directory.write("thinglog.json", #"{"names": "any"}"#)
        var lines = fixture.jsonlLines()
        let quiet = ReportFixture(devices: 1, reportsPerDevice: 180, product: "QUIET")
        // The name is JSON-escaped inside the record: the device is called `quiet, "one"`.
        lines += quiet.jsonlLines().map { $0.replacingOccurrences(of: "/dev1", with: "/quiet, \\\"one\\\"") }
        let input = directory.write("in.jsonl", lines.joined(separator: "\n"))
        #expect(runCLI(["ingest", input, "--db", db], in: directory.path).status == 0)
        #expect(runCLI(["analyze", "--db", db], in: directory.path).status == 0)
        return db
    }

    func query(_ arguments: [String], db: String) -> CommandResult {
        runCLI(["query"] + arguments + ["--db", db, "--queries-dir", Self.queriesDirectory], in: directory.path)
    }

    func json(_ result: CommandResult) throws -> (columns: [String], rows: [JSONValue]) {
        let value = try JSONParser.parse(Array(result.standardOutput.utf8))
        return ((value["columns"]?.elements ?? []).compactMap(\.stringValue), value["rows"]?.elements ?? [])
    }

    static let shipped: [(String, [String], [String])] = [
        ("latest", [], ["product", "device", "metric", "ts", "value"]),
        ("hourly-means", ["device=dev1", "metric=MQ2", "from=2025-11-26", "to=2025-11-27"],
         ["hour", "mean", "min", "max", "count"]),
        ("daily-stats", ["from=2025-11-26", "to=2025-11-27"],
         ["day", "product", "device", "metric", "count", "min", "max", "mean"]),
        ("alarms-per-day", ["from=2025-11-26", "to=2025-11-27"], ["day", "rule", "severity", "count"]),
        ("silent-devices", ["since=2025-11-26T01:00:00Z"], ["product", "device", "last_ts"]),
        ("coverage", ["from=2025-11-26", "to=2025-11-27"], ["product", "device", "reports", "expected", "coverage"]),
    ]

    @Test(arguments: shipped)
    func everyShippedQueryRuns(_ name: String, _ parameters: [String], _ columns: [String]) throws {
        let db = seeded()
        let result = query([name, "--format", "json"] + parameters.flatMap { ["--param", $0] }, db: db)
        #expect(result.status == 0, "\(result.standardError)")
        let parsed = try json(result)
        #expect(parsed.columns == columns)
        #expect(!parsed.rows.isEmpty)
    }

    @Test func listShowsEveryShippedQuery() {
        let result = query(["--list"], db: directory.file("x.db"))
        #expect(result.status == 0)
        for (name, _, _) in Self.shipped { #expect(result.standardOutput.contains(name + " ")) }
    }

    @Test func latestAndHourlyMeansMatchTheFixture() throws {
        let db = seeded()
        let latest = try json(query(["latest", "--format", "json"], db: db)).rows
        let last = fixture.reports.filter { $0.device == "dev2" }.last!
        let row = try #require(latest.first { $0["device"] == .string("dev2") && $0["metric"] == .string("MQ7") })
        #expect(row["ts"] == .number(Double(last.receivedAt - 40)))
        #expect(row["value"] == .number(Double(last.values.first { $0.0 == "MQ7" }!.1)))
        let hourly = try json(query(["hourly-means", "--format", "json", "--param", "device=dev1",
                                     "--param", "metric=MQ2", "--param", "from=2025-11-26T00:00:00Z",
                                     "--param", "to=2025-11-26T01:00:00Z"], db: db)).rows
        let values = fixture.reports.filter { $0.device == "dev1" && $0.receivedAt - 40 < 1_764_118_800_000 }
            .map { Double($0.values[0].1) }
        #expect(hourly.count == 1)
        #expect(hourly[0]["count"] == .number(Double(values.count)))
        #expect(abs((hourly[0]["mean"]?.doubleValue ?? 0) - values.reduce(0, +) / Double(values.count)) < 1e-9)
        let silent = try json(query(["silent-devices", "--format", "json", "--param", "since=2025-11-26T01:00:00Z"],
                                    db: db)).rows
        #expect(silent.map { $0["device"] } == [.string("quiet, \"one\"")])
        #expect(silent.map { $0["product"] } == [.string("QUIET")])
    }

    @Test func nothingCanChangeTheStore() throws {
        let db = seeded()
        let before = try Database(path: db).integer("SELECT COUNT(*) FROM readings")
        for sql in ["DELETE FROM readings", "DROP TABLE readings", "PRAGMA user_version = 9",
                    "UPDATE devices SET name = 'x'", "INSERT INTO counters VALUES ('x', 1)", "CREATE TABLE t(x)",
                    "ATTACH DATABASE 'other.db' AS o"] {
            let result = query(["--sql", sql], db: db)
            #expect(result.status != 0, "\(sql)")
        }
        let database = try Database(path: db)
        #expect(try database.integer("SELECT COUNT(*) FROM readings") == before)
        #expect(try database.integer("PRAGMA user_version") == Int64(Schema.currentVersion))
        #expect(!FileManager.default.fileExists(atPath: directory.file("other.db")))
    }

    @Test func parametersAreBoundNotSpliced() throws {
        let db = seeded()
        let injected = query(["hourly-means", "--format", "json", "--param", "device=dev1' OR '1'='1", "--param",
                              "metric=MQ2", "--param", "from=0", "--param", "to=9999999999999"], db: db)
        #expect(injected.status == 0)
        #expect(try json(injected).rows.isEmpty)
        let missing = query(["hourly-means", "--param", "device=dev1", "--param", "from=0", "--param", "to=1"], db: db)
        #expect(missing.status == 2 && missing.standardError.contains("missing parameter :metric"))
        let unknown = query(["latest", "--param", "colour=red"], db: db)
        #expect(unknown.status == 2 && unknown.standardError.contains("--param colour"))
        let badTime = query(["silent-devices", "--param", "since=soon"], db: db)
        #expect(badTime.status == 2)
    }

    @Test func csvQuotesDeviceNamesAndTablesAlign() throws {
        let db = seeded()
        let csv = query(["silent-devices", "--format", "csv", "--param", "since=2025-11-26T01:00:00Z"], db: db)
        #expect(csv.standardOutput.hasPrefix("product,device,last_ts\r\nQUIET,\"quiet, \"\"one\"\"\","))
        let table = query(["--sql", "SELECT 'a' AS name, 12.5 AS value UNION ALL SELECT 'longer', 3"], db: db)
        #expect(table.standardOutput == "name    value\n------  -----\na        12.5\nlonger      3\n(2 rows)\n")
    }

    @Test func moreThanOneStatementIsAUsageError() throws {
        let db = seeded()
        let before = try Database(path: db).integer("SELECT COUNT(*) FROM readings")
        for sql in ["SELECT 1; DELETE FROM readings", "SELECT 1;SELECT 2", "SELECT 1; /* c */ SELECT 2"] {
            let result = query(["--sql", sql], db: db)
            #expect(result.status == 2 && result.standardError.contains("more than one SQL statement"), "\(sql)")
        }
        for sql in ["SELECT 1;", "SELECT 1; -- done", "SELECT 1 /* c */ ;\n  ", "SELECT ';' AS x; /* end */"] {
            #expect(query(["--sql", sql], db: db).status == 0, "\(sql)")
        }
        #expect(try Database(path: db).integer("SELECT COUNT(*) FROM readings") == before)
    }

    @Test func tablesEscapeControlCharactersAndStayLinear() throws {
        let db = seeded()
        let table = query(["--sql", "SELECT char(27) || ']0;pwned' || char(7) AS id, char(155) || 'x' AS c1"], db: db)
        #expect(table.status == 0)
        #expect(!table.standardOutput.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(table.standardOutput.contains("\\x1b]0;pwned\\x07") && table.standardOutput.contains("\\x9bx"))
        // A 2 MB value: a formatter quadratic in value length would take minutes here.
        let started = Date()
        let wide = query(["--sql", "SELECT hex(zeroblob(1000000)) || '  ' AS v"], db: db)
        #expect(wide.status == 0 && wide.standardOutput.count > 2_000_000)
        #expect(Date().timeIntervalSince(started) < 20)
    }

    @Test func readOnlyCommandsNeverCreateOrMigrateAStore() throws {
        let missing = directory.file("typo.db")
        let commands = [["query", "latest", "--queries-dir", Self.queriesDirectory], ["export", "readings"], ["stats"]]
        for arguments in commands {
            let result = runCLI(arguments + ["--db", missing], in: directory.path)
            #expect(result.status == 1 && result.standardError.contains("no store at"), "\(arguments)")
            #expect(!FileManager.default.fileExists(atPath: missing))
        }
        // A store at an older schema version is an error naming the command that migrates it, and stays as it was.
        let old = directory.file("old.db")
        let database = try Database(path: old)
        try database.execute(Schema.migrations[0])
        try database.execute("PRAGMA user_version=1")
        for arguments in commands {
            let result = runCLI(arguments + ["--db", old], in: directory.path)
            #expect(result.status == 1 && result.standardError.contains("thinglog analyze"), "\(arguments)")
        }
        #expect(try Database(path: old).integer("PRAGMA user_version") == 1)
    }
}
