import FoundationEssentials
import Dispatch
import Glibc
import ThingLogCore
import ThingLogStore
import ThingLogAnalysis
import MQTT

/// `thinglog calibrate`: R0 of one sensor of one device from a clean-air window (SPEC §4).
struct CalibrateCommand: Command {
    static let name = "calibrate"
    static let abstract = "Estimate a sensor's clean-air resistance R0 from a window of stored readings."
    static let options = [
        OptionSpec("--device", "D", "device: NAME, or PRODUCT/NAME when the name is in several products",
                   required: true),
        OptionSpec("--sensor", "S", "sensor key from the configuration (MQ2, MQ135, MQ4, MQ7, …)", required: true),
        OptionSpec("--from", "T", "window start: ISO 8601, YYYY-MM-DD (midnight in --tz) or epoch ms",
                   required: true, kind: .time),
        OptionSpec("--to", "T", "window end (exclusive)", required: true, kind: .time),
        OptionSpec("--save", nil, "append the result to the calibration history, effective from --to"),
        OptionSpec("--json", nil, "print {\"device\", \"sensor\", \"r0_ohms\", \"samples\", \"rs_stddev_ohms\"}"),
        OptionSpec("--tz", "TZ", "IANA time zone for calendar dates (default $TZ, else UTC)"),
        CommonOptions.config,
        CommonOptions.database,
    ]
    static let discussion = """
    Calibrate in clean air, after the sensor's burn-in and warm-up, with the same compensation setting you measure
    with. Rs = 0 or ∞ (a saturated reading) in the window is an error.
    """

    let arguments: ParsedArguments
    let device: String
    let sensorKey: String
    let from: Int64
    let to: Int64

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
        guard let device = arguments.value("--device"), !device.isEmpty else {
            throw UsageError("--device D is required")
        }
        guard let sensor = arguments.value("--sensor"), !sensor.isEmpty else {
            throw UsageError("--sensor S is required")
        }
        self.device = device
        sensorKey = sensor
        let timeZone = try context.timeZone(arguments)
        from = try context.timeArgument(arguments, "--from", timeZone: timeZone, required: true) ?? 0
        to = try context.timeArgument(arguments, "--to", timeZone: timeZone, required: true) ?? 0
        guard from < to else { throw UsageError("--from must be before --to") }
    }

    func run(in context: CommandContext) throws -> Int32 {
        let configuration = try context.loadConfiguration(arguments)
        guard let sensor = configuration.sensors.first(where: { $0.key == sensorKey }) else {
            throw UsageError("--sensor \(sensorKey): not a configured sensor (configured: "
                             + configuration.sensors.map(\.key).joined(separator: ", ") + ")")
        }
        let path = context.databasePath(arguments)
        let store = StoreReader(database: arguments.has("--save") ? try StoreConnection.openForWriting(path: path)
                                                                  : try StoreConnection.openForReading(path: path))
        let stored: StoredDevice
        do {
            guard let found = try DeviceDirectory.find(device, in: store.database).first else {
                throw RuntimeError("calibrate: no device \(JSONWriter.quoted(device)) in the store")
            }
            stored = found
        } catch let ambiguous as DeviceDirectory.AmbiguousName {
            throw UsageError("--device \(ambiguous)")
        }
        let calibration: Calibration
        do {
            calibration = try Calibration.compute(store: store, configuration: configuration, device: stored,
                                                  sensor: sensor, from: from, to: to)
        } catch let failure as Calibration.Failure {
            throw RuntimeError("calibrate: \(failure.message)")
        }
        if arguments.has("--save") { try calibration.save(to: store, now: context.clock()) }
        let deviation = calibration.rsStandardDeviationOhms
        if arguments.has("--json") {
            context.standardOutput.write("{\"product\":\(JSONWriter.quoted(stored.product)),"
                + "\"device\":\(JSONWriter.quoted(stored.name)),"
                + "\"sensor\":\(JSONWriter.quoted(sensorKey)),"
                + "\"r0_ohms\":\(JSONWriter.number(calibration.r0Ohms)),\"samples\":\(calibration.samples),"
                + "\"rs_stddev_ohms\":\(deviation.map(JSONWriter.number) ?? "null")}\n")
        } else {
            let saved = arguments.has("--save") ? "saved: analyze uses it from \(Timestamp.iso8601(to)) on"
                                                : "not saved (add --save)"
            context.standardOutput.write("""
                device     \(stored.name) (product \(stored.product))
                sensor     \(sensorKey) (\(sensor.model.name), clean-air Rs/R0 \(sensor.model.cleanAirRatio))
                window     \(Timestamp.iso8601(from)) – \(Timestamp.iso8601(to))
                samples    \(calibration.samples)\(calibration.isCompensated ? ", compensated" : "")
                R0         \(Formatting.fixed(calibration.r0Ohms, digits: 1)) Ω
                Rs stddev  \(deviation.map { Formatting.fixed($0, digits: 1) + " Ω" } ?? "n/a (one sample)")
                \(saved)

                """)
        }
        return 0
    }
}

extension CommandContext {
    /// `--tz`, else `$TZ`, else UTC (SPEC §3).
    func timeZone(_ arguments: ParsedArguments) throws -> ZoneInfo {
        let name = arguments.value("--tz") ?? environment["TZ"].flatMap { $0.isEmpty ? nil : $0 } ?? "UTC"
        guard let zone = ZoneInfo(identifier: name.hasPrefix(":") ? String(name.dropFirst()) : name) else {
            throw UsageError("--tz \(name): not an IANA time zone (e.g. Asia/Shanghai)")
        }
        return zone
    }

    /// A SPEC §3 time argument from `flag`.
    func timeArgument(_ arguments: ParsedArguments, _ flag: String, timeZone: ZoneInfo,
                      required: Bool = false) throws(UsageError) -> Int64? {
        guard let text = arguments.value(flag) else {
            if required { throw UsageError("\(flag) T is required (ISO 8601, YYYY-MM-DD or epoch ms)") }
            return nil
        }
        guard let value = Timestamp.parseArgument(text, timeZone: timeZone) else {
            throw UsageError("\(flag) \(text): expected ISO 8601 with a zone (2026-11-26T08:00:00Z), YYYY-MM-DD "
                             + "or epoch milliseconds")
        }
        return value
    }
}
