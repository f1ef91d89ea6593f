import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore

/// One ppm estimate for one gas of one sample.
public struct PPMEstimate: Sendable, Equatable {
    public var gas: String
    public var ppm: Double?
    /// Rs/R0 after compensation; nil when saturated or uncalibrated.
    public var ratio: Double?
    public var quality: PPMQuality
}

/// The conversion chain of mq-sensors.md §1–3 for one configured sensor: reported value → Vout → Rs →
/// (compensation) → Rs/R0 → ppm per gas curve.
public struct SensorChain: Sendable {
    public let sensor: SensorConfiguration

    public init(sensor: SensorConfiguration) {
        self.sensor = sensor
    }

    /// The output voltage for a reported value, or nil when the value is not a voltage reading (`ohms`, `ratio`).
    public func outputVolts(_ raw: Double) -> Double? {
        switch sensor.input {
        case .adc(let bits, let vref): raw * vref / (pow2(bits) - 1)
        case .volts: raw
        case .percent(let vref): raw / 100 * vref
        case .ohms, .ratio: nil
        }
    }

    /// Sensor resistance Rs in ohms, uncompensated; nil when saturated (or for `ratio` input).
    public func resistance(_ raw: Double) -> Double? {
        switch sensor.input {
        case .ohms: return raw > 0 && raw.isFinite ? raw : nil
        case .ratio: return nil
        default:
            guard let volts = outputVolts(raw), volts > 0, volts < sensor.supplyVolts else { return nil }
            return sensor.loadOhms * (sensor.supplyVolts - volts) / volts
        }
    }

    /// Rs after temperature/humidity compensation (mq-sensors.md §3), when enabled and both values are known.
    public func compensatedResistance(_ raw: Double, temperature: Double?, humidity: Double?,
                                      compensation: Compensation) -> Double? {
        guard let rs = resistance(raw) else { return nil }
        guard compensation.isEnabled, let temperature, let humidity else { return rs }
        return rs / CompensationTable.factor(model: sensor.model, temperature: temperature, humidity: humidity)
    }

    /// Every configured gas's estimate for one sample. `r0` is the effective calibration (nil: uncalibrated);
    /// `isWarmingUp` marks the sample as within the warm-up.
    public func estimate(raw: Double, temperature: Double?, humidity: Double?, compensation: Compensation,
                         r0: Double?, isWarmingUp: Bool) -> [PPMEstimate] {
        let ratio = ratio(raw: raw, temperature: temperature, humidity: humidity, compensation: compensation, r0: r0)
        return sensor.gases.map { curve in
            let (ppm, quality) = Self.estimate(ratio, curve: curve.ppmCurve, range: curve.range,
                                               isWarmingUp: isWarmingUp)
            return PPMEstimate(gas: curve.gas, ppm: ppm, ratio: ratio.value, quality: quality)
        }
    }

    /// One sample's Rs/R0 (mq-sensors.md §1 steps 1–4), or the quality of every gas when there is none (an Rs/R0
    /// that is not a number, ∞/∞ or 0/0, counts as saturated). Never NaN.
    public func ratio(raw: Double, temperature: Double?, humidity: Double?, compensation: Compensation,
                      r0: Double?) -> (value: Double?, missing: PPMQuality) {
        if case .ratio = sensor.input {
            return raw > 0 && raw.isFinite ? (raw, .ok) : (nil, .saturated)
        }
        guard let rs = compensatedResistance(raw, temperature: temperature, humidity: humidity,
                                             compensation: compensation) else { return (nil, .saturated) }
        guard let r0 else { return (nil, .uncalibrated) }
        let ratio = rs / r0
        return ratio.isNaN ? (nil, .saturated) : (ratio, .ok)
    }

    /// One gas's ppm and quality from a sample's `ratio` (step 5) on its `curve`, valid over `range` ppm;
    /// `ratio.missing` when it has none.
    @inline(__always)
    public static func estimate(_ ratio: (value: Double?, missing: PPMQuality), curve: PPMCurve,
                                range: ClosedRange<Double>, isWarmingUp: Bool) -> (ppm: Double?, quality: PPMQuality) {
        guard let ratio = ratio.value else { return (nil, ratio.missing) }
        let value = curve.value(at: ratio)
        let quality: PPMQuality = isWarmingUp ? .warmup : (range.contains(value) ? .ok : .outOfRange)
        return (curve.ppm(fromValue: value), quality)
    }

    /// R0 from a clean-air Rs (mq-sensors.md §4).
    public func r0(fromCleanAirResistance rs: Double) -> Double { rs / sensor.model.cleanAirRatio }

    private func pow2(_ bits: Int) -> Double { Double(UInt64(1) << UInt64(bits)) }
}

/// The digitized Rs/R0-versus-temperature-and-humidity curves (mq-sensors.md §3).
public enum CompensationTable {
    /// Grid temperatures of every row, in °C.
    public static let temperatures: [Double] = stride(from: -10.0, through: 50.0, by: 5.0).map { $0 }

    /// curve(T, RH): T clamped to [−10, 50] and interpolated linearly along each row; RH clamped to the rows'
    /// span and interpolated linearly between rows.
    public static func curve(model: SensorModel, temperature: Double, humidity: Double) -> Double {
        let rows = model.compensationRows.sorted { $0.relativeHumidity < $1.relativeHumidity }
        guard let lowest = rows.first, let highest = rows.last else { return 1 }
        let t = min(max(temperature, temperatures[0]), temperatures[temperatures.count - 1])
        let position = (t - temperatures[0]) / 5
        let index = min(Int(position), temperatures.count - 2)
        let fraction = position - Double(index)
        func along(_ row: SensorModel.CompensationRow) -> Double {
            row.values[index] + (row.values[index + 1] - row.values[index]) * fraction
        }
        let rh = min(max(humidity, lowest.relativeHumidity), highest.relativeHumidity)
        for (lower, upper) in zip(rows, rows.dropFirst()) where rh <= upper.relativeHumidity {
            let share = (rh - lower.relativeHumidity) / (upper.relativeHumidity - lower.relativeHumidity)
            return along(lower) + (along(upper) - along(lower)) * share
        }
        return along(highest)
    }

    /// K(T, RH) = curve(T, RH) / curve(20 °C, 65 %RH).
    public static func factor(model: SensorModel, temperature: Double, humidity: Double) -> Double {
        curve(model: model, temperature: temperature, humidity: humidity)
            / curve(model: model, temperature: 20, humidity: 65)
    }
}
