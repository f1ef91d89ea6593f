/// The validated configuration every stage reads (SPEC §7). Built by `ConfigurationLoader`.
public struct Configuration: Sendable {
    /// Where the data template came from, and the template itself, when one is configured.
    public var templatePath: String?
    public var template: DataTemplate?
    /// Sensors in key order.
    public var sensors: [SensorConfiguration]
    public var compensation: Compensation
    public var warmupMilliseconds: Int64
    public var windows: [RollingWindow]
    public var alarms: [AlarmRule]
    /// Which product, device and property names are accepted (SPEC §5 "Names").
    public var names: NameRules = .platform
    /// How far devices can make the store grow (SPEC §5 "Limits").
    public var limits: IngestLimits = .default
}

/// How one MQ property is read and converted (SPEC §7, mq-sensors.md §1).
public struct SensorConfiguration: Sendable {
    /// The property id in the reports (`sensors` key).
    public var key: String
    public var model: SensorModel
    public var input: SensorInput
    public var supplyVolts: Double
    public var loadOhms: Double
    public var r0Ohms: Double?
    public var gases: [SensorModel.GasCurve]
    /// MQ7 heater cycle phase offset, when the sensor runs the datasheet's 60 s / 90 s cycle.
    public var heaterCyclePhaseMilliseconds: Int64?
}

/// What a sensor's reported value means (`input.kind`).
public enum SensorInput: Sendable, Equatable {
    case adc(bits: Int, vref: Double)
    case volts
    case percent(vref: Double)
    case ohms
    case ratio
}

/// Temperature/humidity compensation settings (mq-sensors.md §3).
public struct Compensation: Sendable, Equatable {
    public var temperatureProperty: String
    public var humidityProperty: String
    public var isEnabled: Bool
}

/// A rolling window: its name as configured (`5m`) and its length.
public struct RollingWindow: Sendable, Equatable {
    public var name: String
    public var milliseconds: Int64
}

/// An alarm rule (SPEC §6).
public struct AlarmRule: Sendable, Equatable {
    public enum Severity: String, Sendable, CaseIterable { case info, warning, critical }

    public enum Kind: Sendable, Equatable {
        /// Breach when the series is above `above` (or below `below`), after `forMilliseconds`; clear at `clear`
        /// once it has stayed clear for `clearForMilliseconds` (the off-delay).
        case threshold(series: String, isAbove: Bool, threshold: Double, clear: Double, forMilliseconds: Int64,
                       clearForMilliseconds: Int64 = 0)
        /// A device silent for longer than `afterMilliseconds`.
        case stale(afterMilliseconds: Int64)
        /// A series repeating one value for at least `forMilliseconds`.
        case stuck(series: String, forMilliseconds: Int64)
    }

    public var name: String
    public var severity: Severity
    public var kind: Kind
}

extension Configuration {
    /// The datasheet range of every configured ppm series (`SENSOR.GAS`), as stored estimates read (the curve's
    /// range plus its baseline): estimates outside it are extrapolations (SPEC §6 "Beyond a curve's range").
    public var ppmRanges: [String: ClosedRange<Double>] {
        var result: [String: ClosedRange<Double>] = [:]
        for sensor in sensors {
            for curve in sensor.gases {
                result["\(sensor.key).\(curve.gas)"] = (curve.range.lowerBound + curve.baseline)...(
                    curve.range.upperBound + curve.baseline)
            }
        }
        return result
    }
}
