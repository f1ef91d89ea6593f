import Foundation
import Testing
@testable import ThingLogCore
@testable import ThingLogStore
@testable import ThingLogCLI

/// Ppm estimates stored as ratios (schema 10): the `ppm` view and the store's readers give back every estimate written,
/// its ppm recomputed from the ratio with the series' curve, bit for bit, whatever the mix of series per time (more
/// than a frame holds, some missing), shared and equal ratios, extreme ratios and every quality.
@Suite struct PPMFramesTests {
    let directory = TemporaryDirectory()

    /// Eleven series in five sensors (the gases of one sensor share its ratio).
    static let sensorOfSeries = [0, 0, 0, 1, 1, 2, 3, 3, 3, 4, 4]

    /// The ppm of mq-sensors.md §1 step 5, written out here: a · ratio^b + baseline, NaN as no value (SQL NULL).
    static func expectedPPM(_ ratio: Double?, a: Double, b: Double, baseline: Double) -> Double? {
        guard let ratio else { return nil }
        let curveValue = a * Foundation.pow(ratio, b)
        let ppm = curveValue + baseline
        return ppm.isNaN ? nil : ppm
    }

    /// A value as comparable text: doubles by their bits (−0 is not 0), NULL as "null".
    static func bits(_ value: SQLiteValue) -> String {
        switch value {
        case .real(let number): "r\(number.bitPattern)"
        case .integer(let number): "i\(number)"
        case .null: "null"
        default: "\(value)"
        }
    }

    @Test(arguments: [4, 5, 6])
    func estimatesComeBackFromTheirRatios(seed: UInt64) throws {
        let database = try StoreConnection.openForWriting(path: directory.file("ppm-\(seed).db"))
        try database.execute("INSERT INTO devices(id, product, name) VALUES (4, 'P', 'd')")
        var generator = SeededGenerator(seed: seed)
        var curves: [PPMCurve] = []
        for series in Self.sensorOfSeries.indices {
            let curve = PPMCurve(a: Double.random(in: 1...1000, using: &generator),
                                 b: Double.random(in: -5 ... -0.1, using: &generator),
                                 baseline: Bool.random(using: &generator) ? 400 : 0)
            curves.append(curve)
            try database.execute("""
                INSERT INTO ppm_series(id, device_id, sensor, gas, a, b, baseline) VALUES (?, 4, ?, ?, ?, ?, ?)
                """, [.integer(Int64(series + 1)), .text("s\(Self.sensorOfSeries[series])"), .text("g\(series)"),
                      .real(curve.a),
                      .real(curve.b), .real(curve.baseline)])
        }
        // Rs > 0 and R0 > 0, so a ratio is never negative (SQLite would not keep −0's sign).
        let extremes: [Double] = [0, .infinity, 5e-324, 2.2250738585072014e-308, 1e308, 1, 0.1]
        var buffers: [[PPMRow]] = Array(repeating: [], count: Self.sensorOfSeries.count)
        for step in 0..<300 {
            let time = 1_764_115_200_000 + Int64(step) * 1000
            var previous: Double?
            for sensor in 0..<5 {
                var quality: PPMQuality = .ok
                var ratio: Double?
                switch Int.random(in: 0..<6, using: &generator) {
                case 0:
                    quality = Bool.random(using: &generator) ? .saturated : .uncalibrated
                case 1: ratio = extremes.randomElement(using: &generator)
                case 2: ratio = previous ?? 1   // equal to another sensor's ratio: stored once too
                default: ratio = Double.random(in: 0...10, using: &generator)
                }
                if ratio != nil { previous = ratio }
                for series in Self.sensorOfSeries.indices where Self.sensorOfSeries[series] == sensor
                    && Int.random(in: 0..<5, using: &generator) != 0 {
                    let gasQuality = ratio == nil ? quality
                        : [PPMQuality.ok, .outOfRange, .warmup].randomElement(using: &generator) ?? .ok
                    let curve = curves[series]
                    buffers[series].append(PPMRow(
                        seriesID: Int64(series + 1), time: time,
                        ppm: Self.expectedPPM(ratio, a: curve.a, b: curve.b, baseline: curve.baseline),
                        ratio: ratio, quality: gasQuality))
                }
            }
        }
        let writer = try PPMWriter(database: database, deviceID: 4, layouts: FrameLayouts(database: database))
        try database.transaction { try writer.write(PPMWriter.Frames(buffers)) }

        let stored = try database.rows("SELECT series_id, ts, ppm, rs_r0, quality FROM ppm WHERE device_id = 4 "
                                       + "ORDER BY series_id, ts").map { $0.map(Self.bits) }
        let written = buffers.joined().sorted { ($0.seriesID, $0.time) < ($1.seriesID, $1.time) }.map { row in
            [SQLiteValue.integer(row.seriesID), .integer(row.time), row.ppm.map(SQLiteValue.real) ?? .null,
             row.ratio.map(SQLiteValue.real) ?? .null, .integer(row.quality.code)].map(Self.bits)
        }
        #expect(stored.count == written.count)
        #expect(stored == written)
        // Each ratio is stored once per row: fewer non-NULL ratio columns than estimates with a ratio.
        let storedRatios = try database.integer("SELECT " + (0..<FrameLayouts.width).map { "COUNT(ratio\($0))" }
            .joined(separator: " + ") + " FROM ppm_frames")
        #expect(storedRatios < Int64(buffers.joined().filter { $0.ratio != nil }.count))

        // The store's readers take each series' column straight from the frames: the same rows.
        let reader = StoreReader(database: database)
        for (index, buffer) in buffers.enumerated() {
            let series = StoreReader.Series(product: "P", device: "d", name: "s", sensor: "s", gas: "g",
                                            id: Int64(index + 1), isPPM: true, deviceID: 4)
            var rows: [PPMRow] = []
            try reader.ppmRows(of: series, from: .min, to: .max) { rows.append($0) }
            #expect(rows.map(\.time) == buffer.map(\.time))
            #expect(rows.map { $0.ppm?.bitPattern } == buffer.map { $0.ppm?.bitPattern })
            #expect(rows.map { $0.ratio?.bitPattern } == buffer.map { $0.ratio?.bitPattern })
            #expect(rows.map(\.quality) == buffer.map(\.quality))
            var usable: [(Int64, Double)] = []
            try reader.samples(of: series, from: .min, to: .max) { usable.append(($0, $1)) }
            let expected = buffer.filter { $0.quality.isUsable && $0.ppm != nil }
            #expect(usable.map(\.0) == expected.map(\.time))
            #expect(usable.map(\.1.bitPattern) == expected.compactMap { $0.ppm?.bitPattern })
        }
    }

    /// The `pow` registered for an SQLite without math functions gives what SQLite's own gives, bit for bit (tried
    /// here under another name, since this SQLite has its own).
    @Test func theFallbackPowMatchesSQLites() throws {
        let database = try Database(path: directory.file("pow.db"))
        StoreFunctions.registerPow(on: database.handle, name: "thinglog_pow")
        var generator = SeededGenerator(seed: 12)
        var pairs: [(SQLiteValue, SQLiteValue)] = [(.null, .real(2)), (.real(2), .null), (.text("x"), .real(1)),
                                                   (.integer(2), .integer(10)), (.real(-8), .real(1.0 / 3)),
                                                   (.real(0), .real(-1)), (.real(.infinity), .real(-0.5))]
        for _ in 0..<2000 {
            pairs.append((.real(Double.random(in: 0...20, using: &generator)),
                          .real(Double.random(in: -6...6, using: &generator))))
        }
        for (x, y) in pairs {
            let row = try database.rows("SELECT pow(?, ?), thinglog_pow(?, ?)", [x, y, x, y])[0]
            #expect(Self.bits(row[0]) == Self.bits(row[1]), "pow(\(x), \(y))")
        }
    }
}
