import ThingLogCore
import ThingLogStore
import ThingLogAnalysis
import MQTT

/// `thinglog analyze`: ppm estimates and alarm events into the derived tables (SPEC §4, §6), incremental by default.
struct AnalyzeCommand: Command {
    static let name = "analyze"
    static let abstract = "Compute ppm estimates and alarm events from the stored history (ppm_v, alarms_v)."
    static let options = [
        OptionSpec("--from", "T", "recompute results at and after T (ISO 8601, YYYY-MM-DD in --tz, or epoch ms)",
                   kind: .time),
        OptionSpec("--to", "T", "analyze samples up to and including T only; a later run continues from there",
                   kind: .time),
        OptionSpec("--full", nil, "recompute everything from the first sample"),
        OptionSpec("--tz", "TZ", "IANA time zone for YYYY-MM-DD dates (default $TZ, else UTC)"),
        CommonOptions.config,
        CommonOptions.database,
        CommonOptions.progress,
    ]
    static let discussion = """
    Incremental: each device continues where the last run stopped, with its window and alarm state; data that
    arrives late, a calibration saved for an analyzed time and a changed configuration recompute what they affect.
    `--full` gives the same results from scratch.
    Results: the views ppm_v(device, sensor, gas, ts, ppm, rs_r0, quality) and alarms_v(id, device, rule, severity,
    metric, started_at, fired_at, ended_at, duration_s, peak, peak_at, threshold). R0 per sample is the latest saved
    calibration effective at or before it (thinglog calibrate --save), else the configuration's r0_ohms. Alarm rules on
    ppm series use estimates of quality ok and out_of_range only (not warm-up or the MQ7 heater's high phase).
    MQ sensors are not certified gas detectors: every ppm is an estimate.
    """

    let arguments: ParsedArguments
    let options: AnalysisOptions

    init(arguments: ParsedArguments, context: CommandContext) throws {
        self.arguments = arguments
        let timeZone = try context.timeZone(arguments)
        options = AnalysisOptions(full: arguments.has("--full"),
                                  from: try context.timeArgument(arguments, "--from", timeZone: timeZone),
                                  to: try context.timeArgument(arguments, "--to", timeZone: timeZone))
        if let from = options.from, let to = options.to, from > to { throw UsageError("--from must not be after --to") }
    }

    func run(in context: CommandContext) throws -> Int32 {
        let configuration = try context.loadConfiguration(arguments)
        let started = Timestamp.now()
        let summary = try Analyzer(path: context.databasePath(arguments), configuration: configuration).run(options)
        let seconds = Double(max(1, Timestamp.now() - started)) / 1000
        context.standardError.write("analyze: \(summary.devices) devices "
            + "(\(summary.recomputedDevices) from the start), "
            + "\(summary.frames) reports, \(summary.ppmEstimates) ppm estimates, \(summary.alarms) alarms written "
            + "(\(summary.openAlarms) open) in \(Formatting.fixed(seconds, digits: 2)) s\n")
        return 0
    }
}
