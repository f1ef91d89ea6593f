import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore

@Suite struct CalibrateCommandTests {
    let directory = TemporaryDirectory()

    /// A store with MQ7 readings `values` of device d1 one minute apart from 2026-11-26T00:00Z, at 30 °C / 33 %RH.
    func store(_ values: [Int]) -> String {
        let start: Int64 = 1_795_651_200_000
        let lines = values.enumerated().map { index, value in
            let ts = start + Int64(index) * 60_000
            let payload = "{\\\"method\\\":\\\"report\\\",\\\"timestamp\\\":\(ts),\\\"params\\\":{\\\"MQ7\\\":\(value),"
                + "\\\"DHT11_T\\\":30,\\\"DHT11_H\\\":33}}"
            return "{\"topic\":\"$thing/up/property/P/d1\",\"received_at\":\(ts + 50),\"payload\":\"\(payload)\"}"
        }
        let input = directory.write("in.jsonl", lines.joined(separator: "\n"))
        let db = directory.file("c.db")
        #expect(runCLI(["ingest", input, "--db", db], in: directory.path).status == 0)
        return db
    }

    func rs(_ adc: Double) -> Double {
        let vout = adc * 5 / 1023
        return 10_000 * (5 - vout) / vout
    }

    @Test func r0IsTheMeanRsOverTheCleanAirRatio() throws {
        let db = store([100, 110, 90, 105, 95])
        let result = runCLI(["calibrate", "--device", "d1", "--sensor", "MQ7", "--from", "2026-11-26",
                             "--to", "2026-11-27", "--json", "--db", db], in: directory.path)
        #expect(result.status == 0)
        let json = try JSONParser.parse(Array(result.standardOutput.utf8))
        #expect(json.members?.map(\.key) == ["product", "device", "sensor", "r0_ohms", "samples", "rs_stddev_ohms"])
        #expect(json["product"] == .string("P") && json["device"] == .string("d1"))
        let values = [100.0, 110, 90, 105, 95].map(rs)
        let mean = values.reduce(0, +) / 5
        let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4).squareRoot()
        #expect(abs((json["r0_ohms"]?.doubleValue ?? 0) - mean / 27.5) < 1e-9 * mean)
        #expect(json["samples"] == .number(5))
        #expect(abs((json["rs_stddev_ohms"]?.doubleValue ?? 0) - deviation) < 1e-6)
        // The window is half-open: [00:01, 00:03) holds two samples.
        let narrow = runCLI(["calibrate", "--device", "d1", "--sensor", "MQ7", "--from", "2026-11-26T00:01:00Z",
                             "--to", "2026-11-26T00:03:00Z", "--json", "--db", db], in: directory.path)
        #expect(narrow.standardOutput.contains("\"samples\":2"))
    }

    @Test func compensationIsAppliedAsAnalyzeWould() throws {
        let db = store([100, 100])
        directory.write("comp.json", #"{"compensation": {"enabled": true}}"#)
        let result = runCLI(["calibrate", "--device", "d1", "--sensor", "MQ7", "--from", "2026-11-26", "--to",
                             "2026-11-27", "--json", "--config", "comp.json", "--db", db], in: directory.path)
        #expect(result.status == 0)
        // K(30 °C, 33 %RH) for MQ7 = 0.951 / curve(20, 65);
        // curve(20, 65) = 1.000 + (0.859 − 1.000)·(65 − 33)/(85 − 33).
        let k = 0.951 / (1.000 + (0.859 - 1.000) * 32 / 52)
        let r0 = try #require(try JSONParser.parse(Array(result.standardOutput.utf8))["r0_ohms"]?.doubleValue)
        #expect(abs(r0 - rs(100) / k / 27.5) < 1e-9 * r0)
    }

    @Test func saveAppendsToTheHistory() throws {
        let db = store([100, 110])
        let result = runCLI(["calibrate", "--device", "d1", "--sensor", "MQ7", "--from", "2026-11-26", "--to",
                             "2026-11-27", "--save", "--db", db], in: directory.path, clock: { 1_800_000_000_000 })
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("saved: analyze uses it from 2026-11-27T00:00:00.000Z on"))
        let rows = try Database(path: db)
            .rows("SELECT device, sensor, effective_from, samples, created_at FROM calibrations")
        #expect(rows == [[.text("d1"), .text("MQ7"), .integer(1_795_737_600_000), .integer(2),
                          .integer(1_800_000_000_000)]])
    }

    @Test func failures() {
        let db = store([100, 0, 110])
        let saturated = runCLI(["calibrate", "--device", "d1", "--sensor", "MQ7", "--from", "2026-11-26", "--to",
                                "2026-11-27", "--db", db], in: directory.path)
        #expect(saturated.status == 1)
        #expect(saturated.standardError.contains("2026-11-26T00:01:00.000Z: reading 0 is saturated"))
        let empty = runCLI(["calibrate", "--device", "d2", "--sensor", "MQ7", "--from", "2026-11-26", "--to",
                            "2026-11-27", "--db", db], in: directory.path)
        #expect(empty.status == 1 && empty.standardError.contains("no device \"d2\" in the store"))
        let window = runCLI(["calibrate", "--device", "P/d1", "--sensor", "MQ7", "--from", "2026-11-28", "--to",
                             "2026-11-29", "--db", db], in: directory.path)
        #expect(window.status == 1 && window.standardError.contains("no MQ7 readings of P/d1"))
        let unknown = runCLI(["calibrate", "--device", "d1", "--sensor", "MQ9", "--from", "2026-11-26", "--to",
                              "2026-11-27", "--db", db], in: directory.path)
        #expect(unknown.status == 2 && unknown.standardError.contains("--sensor MQ9: not a configured sensor"))
        let badTime = runCLI(["calibrate", "--device", "d1", "--sensor", "MQ7", "--from", "yesterday", "--to",
                              "2026-11-27", "--db", db], in: directory.path)
        #expect(badTime.status == 2 && badTime.standardError.contains("--from yesterday: expected ISO 8601"))
        let reversed = runCLI(["calibrate", "--device", "d1", "--sensor", "MQ7", "--from", "2026-11-27", "--to",
                               "2026-11-26", "--db", db], in: directory.path)
        #expect(reversed.status == 2)
    }

    @Test func aNameInTwoProductsMustBeQualified() throws {
        let db = store([100, 110, 90])
        let other = "{\"topic\":\"$thing/up/property/Q/d1\",\"received_at\":1795651200050,"
            + "\"payload\":{\"method\":\"report\",\"timestamp\":1795651200000,\"params\":{\"MQ7\":300}}}"
        #expect(runCLI(["ingest", directory.write("q.jsonl", other), "--db", db], in: directory.path).status == 0)
        let ambiguous = runCLI(["calibrate", "--device", "d1", "--sensor", "MQ7", "--from", "2026-11-26", "--to",
                                "2026-11-27", "--db", db], in: directory.path)
        #expect(ambiguous.status == 2 && ambiguous.standardError.contains("several products (P, Q)"))
        let qualified = runCLI(["calibrate", "--device", "Q/d1", "--sensor", "MQ7", "--from", "2026-11-26", "--to",
                                "2026-11-27", "--json", "--db", db], in: directory.path)
        #expect(qualified.status == 0)
        let json = try JSONParser.parse(Array(qualified.standardOutput.utf8))
        #expect(json["samples"] == .number(1) && json["product"] == .string("Q"))
    }
}
