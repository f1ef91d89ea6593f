import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest
@testable import ThingLogCLI

/// Readings stored as frames (schema 9): what `readings` and `readings_v` give back is checked against a model kept
/// by hand — every (device, metric, ts) once, with the first value that arrived, bit for bit.
@Suite struct FramesTests {
    let directory = TemporaryDirectory()
    let parser = ReportParser()

    func entry(device: String, time: Int64, params: [(String, String)], receivedAt: Int64) -> StoreEntry? {
        let body = params.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
        let payload = "{\"method\":\"report\",\"timestamp\":\(time),\"params\":{\(body)}}"
        let message = IncomingMessage(topic: "$thing/up/property/P/\(device)", payload: Array(payload.utf8),
                                      receivedAt: receivedAt, origin: .recorded)
        guard case .accepted(let parsed) = parser.parse(message) else { return nil }
        return .accepted(message, parsed)
    }

    /// Values a device may send, as JSON text: integers, decimals, the extremes of a double.
    static func randomValue(using generator: inout SeededGenerator) -> String {
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: return String(Int.random(in: -1000...1000, using: &generator))
        case 1: return String(Double(Int.random(in: -99999...99999, using: &generator)) / 100)
        case 2: return ["1e308", "-1.7976931348623157e308", "5e-324", "2.2250738585072014e-308", "0.1", "-0"]
            .randomElement(using: &generator) ?? "0"
        case 3: return String(Double.random(in: -1e6...1e6, using: &generator))
        case 4: return "\(Int64.random(in: -(1 << 60)...(1 << 60), using: &generator))"
        default: return "true"
        }
    }

    @Test(arguments: [1, 2, 3])
    func readingsEqualTheModelAcrossDuplicatesLateAndWideReports(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let path = directory.file("s\(seed).db")
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let metrics = (0..<20).map { "m\($0)" }
        struct Key: Hashable { var device: String, metric: String, time: Int64 }
        var model: [Key: Double] = [:]
        var stored = 0
        var duplicates = 0
        for batch in 0..<6 {
            var entries: [StoreEntry] = []
            for index in 0..<200 {
                let device = "d\(Int.random(in: 1...3, using: &generator))"
                let time = 1_764_115_200_000 + Int64.random(in: 0..<120, using: &generator) * 1000
                let chosen = metrics.filter { _ in Int.random(in: 0..<3, using: &generator) == 0 }
                    .shuffled(using: &generator)
                let params = chosen.map { ($0, Self.randomValue(using: &generator)) }
                guard let entry = entry(device: device, time: time, params: params,
                                        receivedAt: 1_764_115_600_000 + Int64(batch * 1000 + index)) else { continue }
                entries.append(entry)
                for (metric, text) in params {
                    let value = text == "true" ? 1 : Double(text) ?? .nan
                    let key = Key(device: device, metric: metric, time: time)
                    if model[key] == nil {
                        model[key] = value
                        stored += 1
                    } else {
                        duplicates += 1
                    }
                }
            }
            let summary = try writer.append(entries)
            #expect(summary.readings + summary.duplicateReadings
                    == entries.reduce(0) { if case .accepted(let a) = $1 { $0 + a.parsed.readings.count } else { $0 } })
        }
        let database = writer.database
        var found: [Key: Double] = [:]
        for row in try database.rows("SELECT device, metric, ts, value FROM readings_v") {
            let key = Key(device: row[0].stringValue ?? "", metric: row[1].stringValue ?? "",
                          time: row[2].int64Value ?? 0)
            #expect(found[key] == nil, "\(key) twice")
            found[key] = row[3].doubleValue
        }
        #expect(found.count == model.count)
        for (key, value) in model {
            #expect(found[key]?.bitPattern == (value == 0 ? 0 : value.bitPattern), "\(key)")
        }
        #expect(try database.integer("SELECT COUNT(*) FROM readings") == Int64(stored))
        #expect(try database.integer(Schema.readingCount) == Int64(stored))
        // Each series read on its own, as export and report read it, in time order.
        let reader = StoreReader(database: database)
        for row in try database.rows("SELECT s.id, s.device_id, d.name, s.metric FROM series s "
                                     + "JOIN devices d ON d.id = s.device_id") {
            guard let id = row[0].int64Value, let deviceID = row[1].int64Value, let device = row[2].stringValue,
                  let metric = row[3].stringValue else { continue }
            let series = StoreReader.Series(product: "P", device: device, name: metric, sensor: "", gas: "", id: id,
                                            isPPM: false, deviceID: deviceID)
            var samples: [(Int64, Double)] = []
            try reader.samples(of: series, from: .min, to: .max) { samples.append(($0, $1)) }
            let expected = model.filter { $0.key.device == device && $0.key.metric == metric }
                .sorted { $0.key.time < $1.key.time }
            #expect(samples.map(\.0) == expected.map(\.key.time)
                    && samples.map { $0.1.bitPattern } == expected.map { ($0.value == 0 ? 0 : $0.value).bitPattern })
        }
        #expect(try database.integer("SELECT value FROM counters WHERE name = 'duplicate_readings'")
                == Int64(duplicates))
        // Frames hold at most eight values, the columns past the layout's width are empty.
        #expect(try database.integer("""
            SELECT COUNT(*) FROM frames f WHERE (SELECT COUNT(*) FROM layout_series WHERE layout_id = f.layout_id)
                != (v0 IS NOT NULL) + (v1 IS NOT NULL) + (v2 IS NOT NULL) + (v3 IS NOT NULL) + (v4 IS NOT NULL)
                   + (v5 IS NOT NULL) + (v6 IS NOT NULL) + (v7 IS NOT NULL)
            """) == 0)
        #expect(try database.integer("SELECT COUNT(*) FROM frames") < Int64(stored))
    }

    /// A second writer's commit between two transactions is seen: its readings count as stored, whatever the first
    /// writer's caches knew.
    @Test func anotherWritersFramesAreSeen() throws {
        let path = directory.file("two.db")
        let first = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let second = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let start: Int64 = 1_764_115_200_000
        let entries = [entry(device: "d", time: start, params: [("a", "1")], receivedAt: start + 9000),
                       entry(device: "d", time: start + 5000, params: [("a", "2")], receivedAt: start + 9001),
                       entry(device: "d", time: start + 5000, params: [("a", "3"), ("b", "4")],
                             receivedAt: start + 9002)]
            .compactMap { $0 }
        try first.append([entries[0]])
        try second.append([entries[1]])
        let summary = try first.append([entries[2]])
        #expect(summary.readings == 1 && summary.duplicateReadings == 1)
        #expect(try first.database.rows("SELECT metric, ts, value FROM readings_v ORDER BY ts, metric")
                == [[.text("a"), .integer(start), .real(1)], [.text("a"), .integer(start + 5000), .real(2)],
                    [.text("b"), .integer(start + 5000), .real(4)]])
    }

    /// A device whose JSON keys come in any order still gets one layout per set of series.
    @Test func keyOrderDoesNotMakeLayouts() throws {
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: directory.file("order.db")))
        let start: Int64 = 1_764_115_200_000
        let orders = [["a", "b", "c"], ["c", "a", "b"], ["b", "c", "a"]]
        try writer.append(orders.enumerated().compactMap { index, keys in
            entry(device: "d", time: start + Int64(index) * 1000, params: keys.map { ($0, "\($0.utf8.first ?? 0)") },
                  receivedAt: start + 5000)
        })
        #expect(try writer.database.integer("SELECT COUNT(*) FROM layouts") == 1)
        #expect(try writer.database.rows("SELECT metric, value FROM readings_v WHERE ts = ? ORDER BY metric",
                                         [.integer(start + 1000)])
                == [[.text("a"), .real(97)], [.text("b"), .real(98)], [.text("c"), .real(99)]])
    }

    /// Version 9 turns the readings table of version 8 into frames: every reading comes through bit for bit, a time
    /// with more readings than a frame holds takes several frames.
    @Test func schema8ReadingsBecomeFramesExactly() throws {
        let path = directory.file("v8.db")
        let old = try Database(path: path)
        for version in 0..<8 { try old.execute(Schema.migrations[version]) }
        try old.execute("PRAGMA user_version=8")
        try old.execute("INSERT INTO devices(id, product, name) VALUES (1, 'P', 'a'), (2, 'P', 'b')")
        var generator = SeededGenerator(seed: 9)
        var model: [[SQLiteValue]] = []
        for device in 1...2 {
            for metric in 0..<12 {
                try old.execute("INSERT INTO series(device_id, metric) VALUES (?, ?)",
                                [.integer(Int64(device)), .text("m\(metric)")])
            }
        }
        let insert = try old.prepare("INSERT INTO readings(device_id, ts, series_id, value) VALUES (?, ?, ?, ?)")
        for device in 1...2 {
            for step in 0..<50 {
                let time = 1_764_115_200 + step
                for seriesID in 1...12 where Int.random(in: 0..<3, using: &generator) != 0 {
                    let id = Int64(seriesID + (device - 1) * 12)
                    let value = Double(Self.randomValue(using: &generator)) ?? 1
                    try insert.execute([.integer(Int64(device)), .integer(Int64(time * 1000)), .integer(id),
                                        .real(value)])
                }
            }
        }
        model = try old.rows("SELECT device_id, ts, series_id, value FROM readings ORDER BY 1, 2, 3")
        let database = try StoreConnection.openForWriting(path: path)
        #expect(try database.integer("PRAGMA user_version") == Int64(Schema.currentVersion))
        let migrated = try database.rows("SELECT device_id, ts, series_id, value FROM readings ORDER BY 1, 2, 3")
        #expect(migrated.count == model.count)
        #expect(zip(migrated, model).allSatisfy { left, right in
            left[0...2] == right[0...2] && left[3].doubleValue?.bitPattern == right[3].doubleValue?.bitPattern
        })
        #expect(try database.integer("SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM layout_series GROUP BY layout_id)")
                == 8)
        #expect(try database.scalar("PRAGMA integrity_check") == .text("ok"))
        // New reports go on from there: a reading already migrated is a duplicate.
        let writer = try StoreWriter(database: database)
        let firstMetric = try database.rows("""
            SELECT s.metric, r.value FROM readings r JOIN series s ON s.id = r.series_id
            WHERE r.device_id = 1 AND r.ts = 1764115200000 ORDER BY s.metric LIMIT 1
            """)[0]
        let summary = try writer.append([entry(device: "a", time: 1_764_115_200_000,
                                               params: [(firstMetric[0].stringValue ?? "", "7")],
                                               receivedAt: 1_764_115_201_000)].compactMap { $0 })
        #expect(summary.duplicateReadings == 1 && summary.readings == 0)
    }
}
