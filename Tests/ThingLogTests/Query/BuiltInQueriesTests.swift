import Foundation
import Testing
@testable import ThingLogQuery

/// The shipped queries are compiled in (SPEC §4 `query`): the copies equal `queries/`, an installed binary answers
/// them from any directory, and a directory's file comes first.
@Suite struct BuiltInQueriesTests {
    let directory = TemporaryDirectory()

    static var repositoryQueries: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("queries")
    }

    @Test func theBuiltInCopiesEqualTheRepositorysQueries() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.repositoryQueries.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(BuiltInQueries.all.map(\.name) == files.map { String($0.dropLast(4)) },
                "run scripts/embed-queries after adding or removing a query")
        for file in files {
            let text = try String(contentsOf: Self.repositoryQueries.appendingPathComponent(file), encoding: .utf8)
            #expect(BuiltInQueries.all.first { $0.name + ".sql" == file }?.sql == text,
                    "\(file) differs from its built-in copy: run scripts/embed-queries")
        }
    }

    @Test func answeredFromADirectoryWithoutQueriesAndShadowedByALocalFile() throws {
        let db = directory.file("q.db")
        let line = "{\"topic\":\"$thing/up/property/P1/dev1\",\"received_at\":1764115200040,"
            + "\"payload\":\"{\\\"method\\\":\\\"report\\\",\\\"params\\\":{\\\"MQ7\\\":61},"
            + "\\\"timestamp\\\":1764115200000}\"}\n"
        let input = directory.write("in.jsonl", line)
        #expect(runCLI(["ingest", input, "--db", db], in: directory.path).status == 0)
        let latest = runCLI(["query", "latest", "--format", "csv", "--db", db], in: directory.path)
        #expect(latest.status == 0 && latest.standardOutput.contains("P1,dev1,MQ7,1764115200000,61"),
                "\(latest.standardError)")
        var list = runCLI(["query", "--list"], in: directory.path)
        #expect(list.standardOutput.split(separator: "\n").count == BuiltInQueries.all.count)
        #expect(list.standardOutput.contains("latest") && list.standardOutput.contains("(built in)"))

        try FileManager.default.createDirectory(atPath: directory.file("queries"), withIntermediateDirectories: true)
        directory.write("queries/latest.sql", "-- Mine.\nSELECT 42 AS answer\n")
        let mine = runCLI(["query", "latest", "--format", "csv", "--db", db], in: directory.path)
        #expect(mine.standardOutput == "answer\r\n42\r\n", "a local file comes before the built-in copy")
        list = runCLI(["query", "--list"], in: directory.path)
        #expect(list.standardOutput.contains("Mine.") && list.standardOutput.contains("queries/latest.sql"))
        let missing = runCLI(["query", "no-such", "--db", db], in: directory.path)
        #expect(missing.status == 2 && missing.standardError.contains("not built in"))
    }
}
