import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogIngest
@testable import ThingLogCLI

/// A device's frames come from one scan of its range of `frames` (schema 9): checked against frames built by hand from
/// every stored reading, with other devices interleaved, a series subset, duplicate and late reports (several frames
/// at one time), reports wider than a frame, and time bounds.
@Suite struct DeviceFramesTests {
    let directory = TemporaryDirectory()

    @Test(arguments: [1, 2, 3])
    func framesEqualAGroupingOfEveryReading(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let path = directory.file("s\(seed).db")
        let writer = try StoreWriter(database: try StoreConnection.openForWriting(path: path))
        let metrics = ["a", "b", "c", "MQ7"] + (1...8).map { "m\($0)" }
        var entries: [StoreEntry] = []
        let parser = ReportParser()
        for index in 0..<600 {
            let device = "dev\(Int.random(in: 1...3, using: &generator))"
            // Times repeat and go back (late and duplicate reports); each report has a random subset of metrics.
            let time = 1_764_115_200_000 + Int64.random(in: 0..<300, using: &generator) * 1000
            let chosen = metrics.filter { _ in Bool.random(using: &generator) }
            let params = chosen.map { "\"\($0)\":\(Int.random(in: -5...500, using: &generator))" }
            let payload = "{\"method\":\"report\",\"timestamp\":\(time),\"params\":{\(params.joined(separator: ","))}}"
            let message = IncomingMessage(topic: "$thing/up/property/P/\(device)", payload: Array(payload.utf8),
                                          receivedAt: 1_764_115_600_000 + Int64(index), origin: .recorded)
            if case .accepted(let parsed) = parser.parse(message) { entries.append(.accepted(message, parsed)) }
        }
        try writer.append(entries)

        let database = writer.database
        let deviceID = try database.integer("SELECT id FROM devices WHERE name = 'dev2'")
        // A subset of its series, in an order of our own: the frames follow it, and skip times only others have.
        let series = try database.rows("SELECT id, metric FROM series WHERE device_id = ? AND metric != 'b' "
                                       + "ORDER BY metric DESC", [.integer(deviceID)])
            .map { (id: $0[0].int64Value ?? 0, metric: $0[1].stringValue ?? "") }
        let (after, through): (Int64, Int64) = (1_764_115_200_000 + 20_000, 1_764_115_200_000 + 250_000)
        var expected: [Int64: [Double]] = [:]
        for row in try database.rows("""
            SELECT s.id, r.ts, r.value FROM readings_v r JOIN devices d ON d.product = r.product AND d.name = r.device
            JOIN series s ON s.device_id = d.id AND s.metric = r.metric WHERE d.id = ?
            """, [.integer(deviceID)]) {
            guard let id = row[0].int64Value, let time = row[1].int64Value, let value = row[2].doubleValue,
                  time > after, time <= through, let slot = series.firstIndex(where: { $0.id == id }) else { continue }
            expected[time, default: Array(repeating: .nan, count: series.count)][slot] = value
        }
        let frames = try DeviceFrames(database: database, deviceID: deviceID, series: series, after: after,
                                      through: through)
        var seen: [(Int64, [Double])] = []
        while try frames.next() { seen.append((frames.time, frames.values)) }
        #expect(seen.map(\.0) == expected.keys.sorted())
        for (time, values) in seen {
            let want = expected[time] ?? []
            #expect(values.count == want.count
                    && zip(values, want).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "at \(time)")
        }
        #expect(!seen.isEmpty && frames.metrics == series.map(\.metric))
    }
}
