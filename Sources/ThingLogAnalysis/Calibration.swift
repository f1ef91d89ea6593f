import ThingLogCore
import ThingLogStore

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
    public static func compute(store: StoreReader, configuration: Configuration, device: StoredDevice,
                               sensor: SensorConfiguration, from: Int64, to: Int64) throws -> Calibration {
        if case .ratio = sensor.input {
            throw Failure(message: "sensor \(sensor.key) reports Rs/R0 itself (input kind ratio): nothing to calibrate")
        }
        let chain = SensorChain(sensor: sensor)
        let compensation = configuration.compensation
        var resistances: [Double] = []
        var allCompensated = true
        try store.calibrationSamples(device: device.id, sensor: sensor.key,
                                     temperature: compensation.temperatureProperty,
                                     humidity: compensation.humidityProperty, from: from, to: to) {
            ts, raw, temperature, humidity in
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
    public func save(to store: StoreReader, now: Int64) throws {
        try store.append(CalibrationRecord(device: device, sensor: sensor, r0Ohms: r0Ohms, effectiveFrom: windowTo,
                                           windowFrom: windowFrom, samples: samples,
                                           rsStandardDeviationOhms: rsStandardDeviationOhms,
                                           isCompensated: isCompensated, createdAt: now))
    }
}
