/// R0 from a clean-air window (SPEC §4 `calibrate`, mq-sensors.md §4): the mean Rs over the window's samples, with
/// the configured compensation applied as analyze applies it, divided by the model's clean-air ratio.
public struct Calibration: Sendable, Equatable {
    public var device: StoredDevice
    public var sensor: String
    public var r0Ohms: Double
    public var samples: Int
    /// Sample standard deviation of Rs (n − 1); nil with fewer than two samples.
    public var rsStandardDeviationOhms: Double?
    public var windowFrom: Int64
    public var windowTo: Int64
    public var isCompensated: Bool

    /// Why a window cannot calibrate.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { message }
    }

    /// Computes R0 from the store for `sensor` of `device` over [from, to).
    public static func compute(database: Database, configuration: Configuration, device: StoredDevice,
                               sensor: SensorConfiguration, from: Int64, to: Int64) throws -> Calibration {
        if case .ratio = sensor.input {
            throw Failure(message: "sensor \(sensor.key) reports Rs/R0 itself (input kind ratio): nothing to calibrate")
        }
        let chain = SensorChain(sensor: sensor)
        let compensation = configuration.compensation
        // Temperature and humidity of the same report share its ts.
        // Series ids first, so every lookup below is a primary-key seek.
        let statement = try database.prepare("""
            WITH d AS (SELECT :device AS id),
                 s AS (SELECT (SELECT id FROM series WHERE device_id = d.id AND metric = :sensor) AS value,
                              (SELECT id FROM series WHERE device_id = d.id AND metric = :temperature) AS temperature,
                              (SELECT id FROM series WHERE device_id = d.id AND metric = :humidity) AS humidity FROM d)
            SELECT r.ts, r.value,
                   (SELECT value FROM readings WHERE series_id = s.temperature AND ts = r.ts),
                   (SELECT value FROM readings WHERE series_id = s.humidity AND ts = r.ts)
            FROM s JOIN readings r ON r.series_id = s.value
            WHERE r.ts >= :from AND r.ts < :to
            ORDER BY r.ts
            """)
        try statement.bind([.integer(device.id), .text(sensor.key), .text(compensation.temperatureProperty),
                            .text(compensation.humidityProperty), .integer(from), .integer(to)])
        var resistances: [Double] = []
        var allCompensated = true
        while try statement.step() {
            let ts = statement.int64(0), raw = statement.double(1)
            let temperature = statement.isNull(2) ? nil : statement.double(2)
            let humidity = statement.isNull(3) ? nil : statement.double(3)
            guard let rs = chain.compensatedResistance(raw, temperature: temperature, humidity: humidity,
                                                       compensation: compensation), rs.isFinite, rs > 0 else {
                let reading = NumberFormatting.shortest(raw) ?? "\(raw)"
                throw Failure(message: "\(device.identity) \(sensor.key) at \(Timestamp.iso8601(ts)): "
                              + "reading \(reading) is "
                              + "saturated (Rs is 0 or infinite): not clean air, or a wiring fault")
            }
            if compensation.isEnabled && (temperature == nil || humidity == nil) { allCompensated = false }
            resistances.append(rs)
        }
        guard !resistances.isEmpty else {
            throw Failure(message: "no \(sensor.key) readings of \(device.identity) in [\(Timestamp.iso8601(from)), "
                          + "\(Timestamp.iso8601(to)))")
        }
        let mean = resistances.reduce(0, +) / Double(resistances.count)
        var deviation: Double?
        if resistances.count > 1 {
            let squares = resistances.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            deviation = (squares / Double(resistances.count - 1)).squareRoot()
        }
        return Calibration(device: device, sensor: sensor.key, r0Ohms: chain.r0(fromCleanAirResistance: mean),
                           samples: resistances.count, rsStandardDeviationOhms: deviation, windowFrom: from,
                           windowTo: to, isCompensated: compensation.isEnabled && allCompensated)
    }

    /// Appends this calibration to the history, effective from the window's end.
    public func save(to database: Database, now: Int64) throws {
        try database.execute("""
            INSERT INTO calibrations(device_id, device, sensor, r0_ohms, effective_from, window_from, samples,
                                     rs_stddev_ohms, compensated, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(device.id), .text(device.name), .text(sensor), .real(r0Ohms),
                  .integer(windowTo), .integer(windowFrom), .integer(Int64(samples)),
                  rsStandardDeviationOhms.map(SQLiteValue.real) ?? .null,
                  .integer(isCompensated ? 1 : 0), .integer(now)])
    }
}
