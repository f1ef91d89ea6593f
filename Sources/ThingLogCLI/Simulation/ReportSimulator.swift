import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore
import ThingLogExport
import MQTT

/// Realistic, seeded device reports (SPEC §4 `simulate`): per-device MQ baselines with noise, diurnal temperature and
/// humidity, occasional gas events lasting minutes, offline gaps, irregular intervals. Reports come out in time
/// order across devices. A clean-air period at the start has no events, so the first hours calibrate.
public struct ReportSimulator: Sendable {
    /// One simulated report.
    public struct Report: Sendable, Equatable {
        public var device: String
        public var topic: String
        public var timestamp: Int64
        public var sequence: Int
        public var params: [(String, Int)]

        public static func == (lhs: Report, rhs: Report) -> Bool {
            lhs.device == rhs.device && lhs.timestamp == rhs.timestamp && lhs.sequence == rhs.sequence
                && lhs.params.elementsEqual(rhs.params, by: { $0 == $1 })
        }

        /// The Tencent data-template payload (protocol.md §2).
        public var payload: String {
            let values = params.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
            return "{\"method\":\"report\",\"clientToken\":\"\(device)-\(sequence)\",\"params\":{\(values)},"
                + "\"timestamp\":\(timestamp)}"
        }
    }

    public struct Settings: Sendable {
        public var product = "CS0SLTKSYA"
        public var devices = 5
        public var intervalMilliseconds: Int64 = 10_000
        public var start: Int64 = 1_764_115_200_000
        public var seed: UInt64 = 1
        /// No gas events before start + this.
        public var cleanAirMilliseconds: Int64 = 2 * 3_600_000
        /// Chance per report that a gas event starts, and that the device goes offline.
        public var eventProbability = 0.004
        public var gapProbability = 0.001
        public init() {}
    }

    private struct DeviceState: Sendable {
        var name: String
        var nextTime: Int64
        var sequence = 0
        var baselines: [(String, Double)]
        var temperatureOffset: Double
        var eventSensor: String?
        /// The reading the event drives the sensor to, from a plausible gas concentration.
        var eventReading = 0.0
        var eventRemaining = 0
    }

    public let settings: Settings
    private var random: SeededGenerator
    private var devices: [DeviceState] = []

    public init(settings: Settings) {
        self.settings = settings
        random = SeededGenerator(seed: settings.seed)
        for index in 1...max(1, settings.devices) {
            let baselines = [("MQ2", random.uniform(80...160)), ("MQ135", random.uniform(60...140)),
                             ("MQ4", random.uniform(70...150)), ("MQ7", random.uniform(50...120))]
            let offset = Int64(random.unit() * Double(settings.intervalMilliseconds))
            devices.append(DeviceState(name: "dev\(index)", nextTime: settings.start + offset, baselines: baselines,
                                       temperatureOffset: random.uniform(-2...2)))
        }
    }

    /// Gas events: which sensor sees which gas, over which concentrations (log-uniform), so that the estimates
    /// cross the default alarm thresholds now and then without leaving the curves' ranges.
    static let gasEvents: [(sensor: String, gas: String, ppm: ClosedRange<Double>)] = [
        ("MQ7", "CO", 30...400), ("MQ4", "CH4", 1_000...15_000), ("MQ2", "LPG", 300...4_000),
        ("MQ135", "CO2", 700...6_000),
    ]

    /// The 10-bit reading (5 V, RL 10 kΩ, the default configuration) at which `sensor` shows `ppm` of `gas`, for a
    /// device whose clean-air reading is `cleanAirReading`: the mq-sensors.md chain run backwards.
    static func reading(forPPM ppm: Double, sensor: String, gas: String, cleanAirReading: Double) -> Double {
        guard let model = SensorModel.all[sensor], let curve = model.curve(for: gas) else { return cleanAirReading }
        func resistance(_ reading: Double) -> Double {
            let vout = reading * 5 / 1023
            return 10_000 * (5 - vout) / vout
        }
        let r0 = resistance(cleanAirReading) / model.cleanAirRatio
        let ratio = pow(max(ppm - curve.baseline, 1) / curve.a, 1 / curve.b)
        let vout = 5 * 10_000 / (10_000 + ratio * r0)
        return min(1022, vout * 1023 / 5)
    }

    /// The next report in time order.
    public mutating func next() -> Report {
        var chosen = 0
        for index in devices.indices where devices[index].nextTime < devices[chosen].nextTime { chosen = index }
        var device = devices[chosen]
        let time = device.nextTime
        device.sequence += 1

        if device.eventRemaining <= 0, time - settings.start >= settings.cleanAirMilliseconds,
           random.unit() < settings.eventProbability {
            let event = Self.gasEvents[Int(random.unit() * Double(Self.gasEvents.count)) % Self.gasEvents.count]
            let baseline = device.baselines.first { $0.0 == event.sensor }?.1 ?? 100
            let ppm = exp(random.uniform(log(event.ppm.lowerBound)...log(event.ppm.upperBound)))
            device.eventSensor = event.sensor
            device.eventReading = Self.reading(forPPM: ppm, sensor: event.sensor, gas: event.gas,
                                               cleanAirReading: baseline)
            device.eventRemaining = 6 + Int(random.unit() * 60)
        }
        var params: [(String, Int)] = []
        for (sensor, baseline) in device.baselines {
            let level = device.eventRemaining > 0 && device.eventSensor == sensor ? device.eventReading : baseline
            let value = level * (1 + 0.03 * random.gaussian())
            params.append((sensor, max(0, min(1023, Int(value.rounded())))))
        }
        if device.eventRemaining > 0 { device.eventRemaining -= 1 }
        let hour = Double(time % 86_400_000) / 3_600_000
        let phase = sin((hour - 9) / 24 * 2 * Double.pi)
        params.append(("DHT11_T", Int((18 + device.temperatureOffset + 6 * phase + 0.4 * random.gaussian()).rounded())))
        params.append(("DHT11_H", max(0, min(100, Int((55 - 15 * phase + 1.5 * random.gaussian()).rounded())))))

        var step = Double(settings.intervalMilliseconds) * (0.8 + 0.4 * random.unit())
        if random.unit() < settings.gapProbability { step += random.uniform(600_000...3_600_000) }
        device.nextTime = time + Int64(step)
        devices[chosen] = device
        return Report(device: device.name, topic: "$thing/up/property/\(settings.product)/\(device.name)",
                      timestamp: time, sequence: device.sequence, params: params)
    }
}
